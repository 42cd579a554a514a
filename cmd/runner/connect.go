package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ollama/ollama/api"

	"runner/engine"
	"runner/envconfig"
	"runner/modelstore"
	"runner/server"
)

// connection is an API client for a verb: to the server at RUNNER_HOST
// when one answers, else to a server started inside this process for the
// verb's lifetime, so `runner run` and `runner embed` work with or without
// `runner serve`.
type connection struct {
	*api.Client
	// URL is the server's base URL, for runner's own routes.
	URL *url.URL
	// Embedded reports whether the server runs in this process.
	Embedded bool
	close    func()
}

// Close stops the embedded server, if any.
func (c *connection) Close() {
	if c.close != nil {
		c.close()
	}
}

// connect finds or starts a server.
func (a *app) connect(ctx context.Context, ef *engineFlags) (*connection, error) {
	base := &url.URL{Scheme: "http", Host: envconfig.Host()}
	hc := &http.Client{Timeout: 0}
	client := api.NewClient(base, hc)
	probe, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err := client.Heartbeat(probe)
	cancel()
	if err == nil {
		return &connection{Client: client, URL: base}, nil
	}
	return a.embeddedServer(ctx, ef)
}

// embeddedServer starts runner's server on a loopback port of this process.
func (a *app) embeddedServer(ctx context.Context, ef *engineFlags) (*connection, error) {
	device, err := ef.deviceChoice()
	if err != nil {
		return nil, usageError{err}
	}
	rt, err := a.openRuntime(ef)
	if err != nil {
		return nil, err
	}
	store, err := a.openStore(device)
	if err != nil {
		rt.Close()
		return nil, err
	}
	// The embedded server's logs would interleave with the verb's output.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if envconfig.Debug() {
		quiet = a.logger()
	}
	models := server.NewModels(server.ModelsConfig{
		Store:          store,
		Runtime:        rt,
		Session:        engine.SessionOptions{Device: device, IntraOpThreads: envconfig.NumThreads(), Logger: quiet},
		MaxLoaded:      envconfig.MaxLoadedModels(),
		KeepAlive:      envconfig.Forever,
		MaxQueue:       envconfig.MaxQueue(),
		MaxBatchTokens: envconfig.MaxBatchTokens(),
		AutoPull:       !envconfig.HFOffline(),
		Logger:         quiet,
	})
	srv, err := server.New(server.Config{Version: version, Logger: quiet, Models: models})
	if err != nil {
		rt.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("start an embedded server: %w", err)
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	u := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	return &connection{
		Client:   api.NewClient(u, http.DefaultClient),
		URL:      u,
		Embedded: true,
		close: func() {
			stop()
			if err := <-served; err != nil {
				a.logger().Warn("embedded server", "error", err)
			}
			if err := rt.Close(); err != nil {
				a.logger().Warn("close onnx runtime", "error", err)
			}
		},
	}, nil
}

// ensurePulled pulls a model with progress bars when the server does not
// have it yet, so a first `runner run` shows its download.
func (a *app) ensurePulled(ctx context.Context, c *connection, model string) error {
	_, err := c.Show(ctx, &api.ShowRequest{Model: model})
	var se api.StatusError
	if err == nil || !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		return err
	}
	bars := newProgressView(a.stderr, isTerminal(a.stderr))
	err = c.Pull(ctx, &api.PullRequest{Model: model}, func(p api.ProgressResponse) error {
		bars.update(modelstore.Progress(p))
		return nil
	})
	bars.finish()
	return err
}
