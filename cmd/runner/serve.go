package main

import (
	"context"
	"fmt"
	"net"

	"runner/engine"
	"runner/envconfig"
	"runner/server"
)

// serveCmd runs the HTTP server.
type serveCmd struct {
	app    *app
	engine engineFlags
	noPull bool
}

func (c *serveCmd) Name() string { return "serve" }
func (c *serveCmd) Synopsis() string {
	return "Start the Ollama-compatible server (on RUNNER_HOST, default 127.0.0.1:11434)"
}

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "")
	c.engine.register(fs)
	fs.BoolVar(&c.noPull, "no-pull", false, "answer 404 for models not yet pulled instead of pulling them")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprintf(c.app.stderr, "\n%s", envHelp())
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	log := c.app.logger()
	envconfig.LogValues(log)

	device, err := c.engine.deviceChoice()
	if err != nil {
		return usageError{err}
	}
	rt, err := c.app.openRuntime(&c.engine)
	if err != nil {
		return err
	}
	defer rt.Close()
	log.Info("onnx runtime loaded", "version", rt.Version(), "library", rt.LibraryPath())
	store, err := c.app.openStore(device)
	if err != nil {
		return err
	}
	models := server.NewModels(server.ModelsConfig{
		Store:          store,
		Runtime:        rt,
		Session:        engine.SessionOptions{Device: device, IntraOpThreads: envconfig.NumThreads(), Logger: log},
		MaxLoaded:      envconfig.MaxLoadedModels(),
		KeepAlive:      envconfig.KeepAlive(),
		MaxQueue:       envconfig.MaxQueue(),
		MaxBatchTokens: envconfig.MaxBatchTokens(),
		AutoPull:       !c.noPull && !envconfig.HFOffline(),
		FreeMemory:     engine.AvailableMemory,
		Logger:         log,
	})
	srv, err := server.New(server.Config{
		Version: version,
		Logger:  log,
		Origins: envconfig.Origins(),
		Models:  models,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", envconfig.Host())
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another server running? set RUNNER_HOST to use another address)", envconfig.Host(), err)
	}
	return srv.Serve(ctx, ln)
}
