package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"

	"github.com/ollama/ollama/api"
)

// embedCmd prints embedding vectors, one JSON line per input.
type embedCmd struct {
	app        *app
	engine     engineFlags
	dimensions int
	noTruncate bool
}

func (c *embedCmd) Name() string { return "embed" }
func (c *embedCmd) Synopsis() string {
	return "Embed texts (arguments, or lines of stdin) as JSON lines"
}

func (c *embedCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "MODEL [TEXT...]")
	c.engine.register(fs)
	fs.IntVar(&c.dimensions, "dimensions", 0, "keep this many dimensions and renormalise (Matryoshka models)")
	fs.BoolVar(&c.noTruncate, "no-truncate", false, "fail on inputs longer than the model takes instead of cutting them")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError{errors.New("embed needs a model")}
	}
	name, texts := fs.Arg(0), fs.Args()[1:]
	if len(texts) == 0 {
		sc := bufio.NewScanner(c.app.stdin)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			texts = append(texts, sc.Text())
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	if len(texts) == 0 {
		return usageError{errors.New("nothing to embed: give texts as arguments or lines on stdin")}
	}
	conn, err := c.app.connect(ctx, &c.engine)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := c.app.ensurePulled(ctx, conn, name); err != nil {
		return err
	}
	truncate := !c.noTruncate
	enc := json.NewEncoder(c.app.stdout)
	// Send in slices so a long stdin streams out and stays under body limits.
	const chunk = 256
	for start := 0; start < len(texts); start += chunk {
		part := texts[start:min(start+chunk, len(texts))]
		resp, err := conn.Embed(ctx, &api.EmbedRequest{Model: name, Input: part, Dimensions: c.dimensions, Truncate: &truncate})
		if err != nil {
			return err
		}
		for i, v := range resp.Embeddings {
			if err := enc.Encode(map[string]any{"index": start + i, "text": part[i], "embedding": v}); err != nil {
				return err
			}
		}
	}
	return nil
}
