package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"runner/envconfig"
	"runner/modelstore/mirror"
)

// mirrorCmd serves repositories over the Hub protocol.
type mirrorCmd struct{ app *app }

func (c *mirrorCmd) Name() string { return "mirror" }
func (c *mirrorCmd) Synopsis() string {
	return "Serve a directory of repos, or the shared cache, as a Hugging Face Hub mirror"
}

func (c *mirrorCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "[--listen HOST:PORT] [--dir DIR]")
	listen := fs.String("listen", "127.0.0.1:8090", "address to serve on")
	dir := fs.String("dir", "", "directory of repos as DIR/ORG/NAME, or a hub cache (default: the shared cache)")
	if err := parse(fs, args); err != nil {
		return err
	}
	opts := mirror.Options{Dir: *dir, Logger: c.app.logger()}
	if opts.Dir == "" {
		opts.Dir, opts.HubCache = envconfig.HFHubCache(), true
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	srv := &http.Server{Handler: mirror.New(opts), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(c.app.stdout, "serving %s at http://%s\nclients: HF_ENDPOINT=http://%s\n", opts.Dir, ln.Addr(), ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Let downloads in flight finish; connections a client opened but never
	// used count as busy for 5 seconds, so allow more than that, then close
	// whatever is left.
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if errors.Is(err, context.DeadlineExceeded) {
		return srv.Close()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
