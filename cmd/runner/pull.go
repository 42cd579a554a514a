package main

import (
	"context"
	"encoding/json"
	"fmt"

	"runner/modelstore"
)

// pullCmd downloads models into the shared Hugging Face cache.
type pullCmd struct{ app *app }

func (c *pullCmd) Name() string { return "pull" }
func (c *pullCmd) Synopsis() string {
	return "Download a model from the Hugging Face Hub into the shared cache"
}

func (c *pullCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "[flags] ORG/NAME[:VARIANT][@REVISION]...")
	include := fs.StringArray("include", nil, "also fetch files matching this fnmatch pattern (repeatable)")
	exclude := fs.StringArray("exclude", nil, "skip files matching this fnmatch pattern (repeatable)")
	asJSON := fs.Bool("json", false, "print progress as NDJSON, as /api/pull streams it")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError{fmt.Errorf("pull needs a model reference")}
	}
	store, err := c.app.newStore()
	if err != nil {
		return err
	}
	for _, ref := range fs.Args() {
		if err := c.pull(ctx, store, ref, *include, *exclude, *asJSON); err != nil {
			return err
		}
	}
	return nil
}

func (c *pullCmd) pull(ctx context.Context, store *modelstore.Store, ref string, include, exclude []string, asJSON bool) error {
	opts := modelstore.PullOptions{Include: include, Exclude: exclude}
	var bars *progressView
	switch {
	case asJSON:
		enc := json.NewEncoder(c.app.stdout)
		opts.Progress = func(p modelstore.Progress) { _ = enc.Encode(p) }
	default:
		bars = newProgressView(c.app.stdout, isTerminal(c.app.stdout))
		opts.Progress = bars.update
	}
	m, err := store.Pull(ctx, ref, opts)
	if bars != nil {
		bars.finish()
	}
	if err != nil {
		if asJSON {
			_ = json.NewEncoder(c.app.stdout).Encode(map[string]string{"error": err.Error()})
		}
		return err
	}
	if asJSON {
		return nil
	}
	note := ""
	switch {
	case m.VariantChosen:
		note = fmt.Sprintf(" (variant %s chosen for this device)", m.Variant)
	case m.FromCache:
		note = " (from the cache: the Hub was not reached)"
	}
	fmt.Fprintf(c.app.stdout, "pulled %s%s\n  %s\n", m.Name, note, m.Dir)
	return nil
}
