package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"runner/pipeline"
)

// rerankCmd ranks documents by their relevance to a query with a
// cross-encoder loaded in this process.
type rerankCmd struct {
	app    *app
	engine engineFlags
}

func (c *rerankCmd) Name() string { return "rerank" }
func (c *rerankCmd) Synopsis() string {
	return "Rank documents by relevance to a query with a cross-encoder"
}

// rerankOutput is what --json prints: /api/rerank's results.
type rerankOutput struct {
	Model   string         `json:"model"`
	Results []rerankedJSON `json:"results"`
}

type rerankedJSON struct {
	Index          int     `json:"index"`
	RelevanceScore float64 `json:"relevance_score"`
	Document       string  `json:"document"`
}

func (c *rerankCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "MODEL --query QUERY [DOC...] (documents one per line on stdin when none are given)")
	c.engine.register(fs)
	query := fs.StringP("query", "q", "", "the query documents are ranked against (required)")
	topN := fs.IntP("top-n", "n", 0, "show only the N most relevant documents (0: all)")
	raw := fs.Bool("raw-scores", false, "print the model's logits instead of relevance scores in [0, 1]")
	noTruncate := fs.Bool("no-truncate", false, "refuse documents too long for the model instead of cutting them")
	asJSON := fs.Bool("json", false, "print JSON, as /api/rerank answers")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return usageError{fmt.Errorf("rerank needs a model reference")}
	}
	if *query == "" {
		return usageError{fmt.Errorf("rerank needs --query")}
	}
	docs := fs.Args()[1:]
	if len(docs) == 0 {
		var err error
		if docs, err = readLines(c.app); err != nil {
			return err
		}
	}
	if len(docs) == 0 {
		return usageError{fmt.Errorf("rerank needs documents: as arguments or one per line on stdin")}
	}
	m, closeModel, err := c.app.loadLocal(ctx, fs.Arg(0), &c.engine)
	if err != nil {
		return err
	}
	defer closeModel()
	ranking, err := m.Rerank(ctx, *query, docs, pipeline.RerankOptions{TopN: *topN, Truncate: !*noTruncate, RawScores: *raw})
	if err != nil {
		return err
	}
	if *asJSON {
		out := rerankOutput{Model: m.Name(), Results: make([]rerankedJSON, len(ranking.Results))}
		for k, r := range ranking.Results {
			out.Results[k] = rerankedJSON{Index: r.Index, RelevanceScore: r.Score, Document: docs[r.Index]}
		}
		enc := json.NewEncoder(c.app.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(c.app.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tSCORE\tINDEX\tDOCUMENT")
	for k, r := range ranking.Results {
		fmt.Fprintf(tw, "%d\t%.4f\t%d\t%s\n", k+1, r.Score, r.Index, oneLine(docs[r.Index], 100))
	}
	return tw.Flush()
}

// readLines reads the non-empty lines of stdin; a terminal gives none.
func readLines(a *app) ([]string, error) {
	if f, ok := a.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return nil, nil
		}
	}
	var lines []string
	sc := bufio.NewScanner(a.stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return lines, nil
}

// oneLine folds whitespace and cuts text to at most n characters for a
// table cell.
func oneLine(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return text
}
