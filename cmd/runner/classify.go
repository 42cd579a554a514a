package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"runner/pipeline"
)

// classifyCmd labels texts, zero-shot into given labels, or their tokens
// (named entities), through /api/classify of the running server or of one
// started in this process.
type classifyCmd struct {
	app    *app
	engine engineFlags
}

func (c *classifyCmd) Name() string { return "classify" }
func (c *classifyCmd) Synopsis() string {
	return "Classify texts, zero-shot into --labels, or label their tokens (NER)"
}

// classifyAnswer is what /api/classify answers: labels, or entities for
// token classification.
type classifyAnswer struct {
	Model   string `json:"model"`
	Task    string `json:"task"`
	Results [][]struct {
		Label       string  `json:"label,omitempty"`
		Entity      string  `json:"entity,omitempty"`
		EntityGroup string  `json:"entity_group,omitempty"`
		Score       float64 `json:"score"`
		Index       *int    `json:"index,omitempty"`
		Word        string  `json:"word,omitempty"`
		Start       *int    `json:"start,omitempty"`
		End         *int    `json:"end,omitempty"`
	} `json:"results"`
	TotalDuration   int64 `json:"total_duration"`
	LoadDuration    int64 `json:"load_duration"`
	PromptEvalCount int   `json:"prompt_eval_count"`
}

func (c *classifyCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "MODEL [flags] TEXT... (texts one per line on stdin when none are given)")
	c.engine.register(fs)
	labels := fs.StringSlice("labels", nil, "candidate labels for zero-shot classification with an NLI model (a,b,c)")
	multi := fs.Bool("multi-label", false, "zero-shot: score each label on its own rather than as one choice")
	template := fs.String("template", "", "zero-shot hypothesis, {} standing for the label (default \""+pipeline.DefaultHypothesisTemplate+"\")")
	topK := fs.IntP("top-k", "k", 0, "show only the K best labels of each text (0: all)")
	agg := fs.String("aggregation", "", "token classification: none, simple, first, average or max (default none)")
	stride := fs.Int("stride", 0, "token classification: label texts longer than the model takes in windows overlapping by this many tokens (0: cut them)")
	asJSON := fs.Bool("json", false, "print what /api/classify answers")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return usageError{errors.New("classify needs a model")}
	}
	if *topK < 0 {
		return usageError{errors.New("--top-k must not be negative")}
	}
	if _, err := pipeline.ParseAggregation(*agg); err != nil {
		return usageError{err}
	}
	if *stride < 0 {
		return usageError{errors.New("--stride must not be negative")}
	}
	name, texts := fs.Arg(0), fs.Args()[1:]
	if len(texts) == 0 {
		var err error
		if texts, err = readLines(c.app); err != nil {
			return err
		}
	}
	if len(texts) == 0 {
		return usageError{errors.New("classify needs texts: as arguments or one per line on stdin")}
	}
	req := map[string]any{"model": name, "input": texts}
	if len(*labels) > 0 {
		req["candidate_labels"] = *labels
		req["multi_label"] = *multi
	}
	if *template != "" {
		req["hypothesis_template"] = *template
	}
	if *topK > 0 {
		req["top_k"] = *topK
	}
	if *agg != "" {
		req["aggregation_strategy"] = *agg
	}
	if *stride > 0 {
		req["stride"] = *stride
	}
	conn, err := c.app.connect(ctx, &c.engine)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := c.app.ensurePulled(ctx, conn, name); err != nil {
		return err
	}
	var resp classifyAnswer
	if err := conn.post(ctx, "/api/classify", req, &resp); err != nil {
		return err
	}
	if len(resp.Results) != len(texts) {
		return fmt.Errorf("/api/classify answered %d results for %d texts", len(resp.Results), len(texts))
	}
	if *asJSON {
		enc := json.NewEncoder(c.app.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(resp)
	}
	tw := tabwriter.NewWriter(c.app.stdout, 0, 0, 2, ' ', 0)
	for i, text := range texts {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, oneLine(text, 100))
		if len(resp.Results[i]) == 0 {
			fmt.Fprintln(tw, "  (nothing found)")
		}
		for _, r := range resp.Results[i] {
			if r.Label != "" {
				fmt.Fprintf(tw, "  %s\t%.4f\n", r.Label, r.Score)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%.4f\t%q\t%d:%d\n", r.Entity+r.EntityGroup, r.Score, r.Word, deref(r.Start), deref(r.End))
		}
	}
	return tw.Flush()
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
