package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/ollama/ollama/api"

	"runner/envconfig"
)

// psCmd lists the models the running server has loaded.
type psCmd struct {
	app    *app
	asJSON bool
}

func (c *psCmd) Name() string     { return "ps" }
func (c *psCmd) Synopsis() string { return "List the models the running server has loaded" }

func (c *psCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "")
	fs.BoolVar(&c.asJSON, "json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	client := api.NewClient(&url.URL{Scheme: "http", Host: envconfig.Host()}, http.DefaultClient)
	resp, err := client.ListRunning(ctx)
	if err != nil {
		return fmt.Errorf("no server answers at %s (start one with `runner serve`): %w", envconfig.Host(), err)
	}
	if c.asJSON {
		return json.NewEncoder(c.app.stdout).Encode(resp)
	}
	tw := tabwriter.NewWriter(c.app.stdout, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tCONTEXT\tUNTIL")
	for _, m := range resp.Models {
		until := "Forever"
		if d := time.Until(m.ExpiresAt); d < 50*365*24*time.Hour {
			until = d.Round(time.Second).String() + " from now"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", m.Name, humanBytes(m.Size), m.ContextLength, until)
	}
	return tw.Flush()
}
