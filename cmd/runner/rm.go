package main

import (
	"context"
	"fmt"
)

// rmCmd removes models from the cache.
type rmCmd struct{ app *app }

func (c *rmCmd) Name() string     { return "rm" }
func (c *rmCmd) Synopsis() string { return "Remove models from the shared cache" }

func (c *rmCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "ORG/NAME[:VARIANT][@REVISION]...")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError{fmt.Errorf("rm needs a model reference")}
	}
	store, err := c.app.newStore()
	if err != nil {
		return err
	}
	for _, ref := range fs.Args() {
		if err := store.Remove(ctx, ref); err != nil {
			return err
		}
		fmt.Fprintf(c.app.stdout, "deleted '%s'\n", ref)
	}
	return nil
}
