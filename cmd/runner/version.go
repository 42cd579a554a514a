package main

import (
	"context"
	"fmt"
)

// versionCmd prints runner's version and the ONNX Runtime version it loads.
type versionCmd struct{ app *app }

func (c *versionCmd) Name() string     { return "version" }
func (c *versionCmd) Synopsis() string { return "Print runner's version and the ONNX Runtime it loads" }

func (c *versionCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(c.app.stdout, "runner version %s\n", version)
	return nil
}
