package main

import (
	"context"
	"fmt"
)

// versionCmd prints runner's version and the ONNX Runtime version it loads.
type versionCmd struct {
	app    *app
	engine engineFlags
}

func (c *versionCmd) Name() string     { return "version" }
func (c *versionCmd) Synopsis() string { return "Print runner's version and the ONNX Runtime it loads" }

func (c *versionCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "")
	c.engine.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(c.app.stdout, "runner version %s\n", version)
	rt, err := c.app.openRuntime(&c.engine)
	if err != nil {
		return err
	}
	defer rt.Close()
	fmt.Fprintf(c.app.stdout, "onnx runtime version %s (%s)\n", rt.Version(), rt.LibraryPath())
	return nil
}
