package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/ollama/ollama/api"

	"runner/modelstore"
)

// listCmd lists the models in the cache.
type listCmd struct{ app *app }

func (c *listCmd) Name() string     { return "list" }
func (c *listCmd) Synopsis() string { return "List the models in the shared cache" }

func (c *listCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "[--json]")
	asJSON := fs.Bool("json", false, "print what /api/tags answers")
	if err := parse(fs, args); err != nil {
		return err
	}
	store, err := c.app.newStore()
	if err != nil {
		return err
	}
	models, err := store.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		resp := api.ListResponse{Models: []api.ListModelResponse{}}
		for _, m := range models {
			resp.Models = append(resp.Models, listEntry(m))
		}
		enc := json.NewEncoder(c.app.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	}
	tw := tabwriter.NewWriter(c.app.stdout, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSIZE\tQUANT\tMODIFIED")
	for _, m := range models {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, m.Digest[:12], humanBytes(m.Size),
			m.Details.QuantizationLevel, sinceString(time.Since(m.ModifiedAt)))
	}
	return tw.Flush()
}

// listEntry is a model as Ollama's /api/tags lists it.
func listEntry(m *modelstore.Model) api.ListModelResponse {
	return api.ListModelResponse{
		Name: m.Name, Model: m.Name, ModifiedAt: m.ModifiedAt, Size: m.Size, Digest: m.Digest,
		Details: api.ModelDetails{
			Format: m.Details.Format, Family: m.Details.Family, Families: m.Details.Families,
			ParameterSize: m.Details.ParameterSize, QuantizationLevel: m.Details.QuantizationLevel,
		},
	}
}

// sinceString says how long ago, as Ollama's list does ("3 hours ago").
func sinceString(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s ago", unit)
		}
		return fmt.Sprintf("%d %ss ago", n, unit)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute")
	case d < 24*time.Hour:
		return plural(int(d.Hours()), "hour")
	case d < 30*24*time.Hour:
		return plural(int(d.Hours()/24), "day")
	case d < 365*24*time.Hour:
		return plural(int(d.Hours()/24/30), "month")
	}
	return plural(int(d.Hours()/24/365), "year")
}
