package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"

	"runner/engine"
	"runner/envconfig"
	"runner/internal/supervise"
	"runner/server"
)

// serveCmd runs the HTTP server: by default a supervisor process that owns
// the socket and a worker process that serves on it, restarted if it dies.
type serveCmd struct {
	app           *app
	engine        engineFlags
	noPull        bool
	singleProcess bool
}

func (c *serveCmd) Name() string { return "serve" }
func (c *serveCmd) Synopsis() string {
	return "Start the Ollama-compatible server (on RUNNER_HOST, default 127.0.0.1:11434)"
}

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "")
	c.engine.register(fs)
	fs.BoolVar(&c.noPull, "no-pull", false, "answer 404 for models not yet pulled instead of pulling them")
	fs.BoolVar(&c.singleProcess, "single-process", false, "serve from this process alone: a crash in native code then takes the server down, instead of a new worker taking over")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprintf(c.app.stderr, "\n%s", envHelp())
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	device, err := c.engine.deviceChoice()
	if err != nil {
		return usageError{err}
	}
	if !supervise.IsWorker() && !c.singleProcess && supervise.Supported {
		return c.supervise(ctx, args)
	}
	log := c.app.logger()
	envconfig.LogValues(log)
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
	var ln net.Listener
	if supervise.IsWorker() {
		ln, err = supervise.Listener()
	} else {
		ln, err = listen()
	}
	if err != nil {
		return err
	}
	if err := supervise.Ready(); err != nil {
		return err
	}
	return srv.Serve(ctx, ln)
}

// listen opens the server's socket on RUNNER_HOST.
func listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", envconfig.Host())
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another server running? set RUNNER_HOST to use another address)", envconfig.Host(), err)
	}
	return ln, nil
}

// supervise holds the socket and keeps a worker process (this program,
// serve with the same arguments) serving on it: a model that crashes ONNX
// Runtime, or the out-of-memory killer, costs the requests in flight, not
// the server.
func (c *serveCmd) supervise(ctx context.Context, args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start the server's worker: %w", err)
	}
	ln, err := listen()
	if err != nil {
		return err
	}
	defer ln.Close()
	return supervise.Run(ctx, supervise.Config{
		Listener: ln.(*net.TCPListener),
		Command: func() *exec.Cmd {
			cmd := exec.Command(exe, append([]string{"serve"}, args...)...)
			cmd.Stdout, cmd.Stderr = c.app.stdout, c.app.stderr
			return cmd
		},
		Logger: c.app.logger(),
	})
}
