package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"runner/pipeline"
)

// classifyCmd labels texts, zero-shot into given labels, or their tokens
// (named entities), with a model loaded in this process.
type classifyCmd struct {
	app    *app
	engine engineFlags
}

func (c *classifyCmd) Name() string { return "classify" }
func (c *classifyCmd) Synopsis() string {
	return "Classify texts, zero-shot into --labels, or label their tokens (NER)"
}

// classifyOutput is what --json prints: /api/classify's answer.
type classifyOutput struct {
	Model   string        `json:"model"`
	Task    pipeline.Task `json:"task"`
	Results [][]any       `json:"results"`
}

type labelJSON struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

type entityJSON struct {
	Entity      string  `json:"entity,omitempty"`
	EntityGroup string  `json:"entity_group,omitempty"`
	Score       float64 `json:"score"`
	Index       *int    `json:"index,omitempty"`
	Word        string  `json:"word"`
	Start       int     `json:"start"`
	End         int     `json:"end"`
}

func (c *classifyCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "MODEL [flags] TEXT... (texts one per line on stdin when none are given)")
	c.engine.register(fs)
	labels := fs.StringSlice("labels", nil, "candidate labels for zero-shot classification with an NLI model (a,b,c)")
	multi := fs.Bool("multi-label", false, "zero-shot: score each label on its own rather than as one choice")
	template := fs.String("template", "", "zero-shot hypothesis, {} standing for the label (default \""+pipeline.DefaultHypothesisTemplate+"\")")
	topK := fs.IntP("top-k", "k", 0, "show only the K best labels of each text (0: all)")
	agg := fs.String("aggregation", "none", "token classification: none, simple, first, average or max")
	asJSON := fs.Bool("json", false, "print JSON, as /api/classify answers")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return usageError{fmt.Errorf("classify needs a model reference")}
	}
	aggregation, err := pipeline.ParseAggregation(*agg)
	if err != nil {
		return usageError{err}
	}
	texts := fs.Args()[1:]
	if len(texts) == 0 {
		if texts, err = readLines(c.app); err != nil {
			return err
		}
	}
	if len(texts) == 0 {
		return usageError{fmt.Errorf("classify needs texts: as arguments or one per line on stdin")}
	}
	m, closeModel, err := c.app.loadLocal(ctx, fs.Arg(0), &c.engine)
	if err != nil {
		return err
	}
	defer closeModel()
	out := classifyOutput{Model: m.Name(), Results: make([][]any, len(texts))}
	switch {
	case len(*labels) > 0:
		res, err := m.ZeroShot(ctx, texts, *labels, pipeline.ZeroShotOptions{HypothesisTemplate: *template, MultiLabel: *multi, TopK: *topK, Truncate: true})
		if err != nil {
			return err
		}
		out.Task = pipeline.TaskZeroShot
		labelResults(out.Results, res)
	case m.Supports(pipeline.TaskTokens):
		res, err := m.ClassifyTokens(ctx, texts, pipeline.TokenOptions{Aggregation: aggregation, Truncate: true})
		if err != nil {
			return err
		}
		out.Task = pipeline.TaskTokens
		for i, ents := range res.Results {
			out.Results[i] = make([]any, len(ents))
			for k, e := range ents {
				j := entityJSON{Score: e.Score, Word: e.Word, Start: e.Start, End: e.End}
				if res.Aggregated {
					j.EntityGroup = e.Label
				} else {
					idx := e.Index
					j.Entity, j.Index = e.Label, &idx
				}
				out.Results[i][k] = j
			}
		}
	default:
		res, err := m.Classify(ctx, texts, pipeline.ClassifyOptions{TopK: *topK, Truncate: true})
		if err != nil {
			return err
		}
		out.Task = pipeline.TaskClassify
		labelResults(out.Results, res)
	}
	if *asJSON {
		enc := json.NewEncoder(c.app.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return printClassification(c.app, texts, out)
}

func labelResults(dst [][]any, c *pipeline.Classification) {
	for i, ls := range c.Results {
		dst[i] = make([]any, len(ls))
		for k, l := range ls {
			dst[i][k] = labelJSON{Label: l.Label, Score: l.Score}
		}
	}
}

// printClassification prints each text, then its labels or entities.
func printClassification(a *app, texts []string, out classifyOutput) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	for i, text := range texts {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s\n", oneLine(text, 100))
		if len(out.Results[i]) == 0 {
			fmt.Fprintln(tw, "  (no entities)")
		}
		for _, r := range out.Results[i] {
			switch v := r.(type) {
			case labelJSON:
				fmt.Fprintf(tw, "  %s\t%.4f\n", v.Label, v.Score)
			case entityJSON:
				fmt.Fprintf(tw, "  %s\t%.4f\t%q\t%d:%d\n", v.Entity+v.EntityGroup, v.Score, v.Word, v.Start, v.End)
			}
		}
	}
	return tw.Flush()
}
