package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
)

// rerankCmd ranks documents by their relevance to a query with a
// cross-encoder, through /api/rerank of the running server or of one
// started in this process.
type rerankCmd struct {
	app    *app
	engine engineFlags
}

func (c *rerankCmd) Name() string { return "rerank" }
func (c *rerankCmd) Synopsis() string {
	return "Rank documents by relevance to a query with a cross-encoder"
}

// rerankAnswer is what /api/rerank answers.
type rerankAnswer struct {
	Model   string `json:"model"`
	Results []struct {
		Index          int     `json:"index"`
		RelevanceScore float64 `json:"relevance_score"`
		Document       string  `json:"document"`
	} `json:"results"`
	TotalDuration   int64 `json:"total_duration"`
	LoadDuration    int64 `json:"load_duration"`
	PromptEvalCount int   `json:"prompt_eval_count"`
}

func (c *rerankCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "MODEL --query QUERY [DOC...] (documents one per line on stdin when none are given)")
	c.engine.register(fs)
	query := fs.StringP("query", "q", "", "the query documents are ranked against (required)")
	topN := fs.IntP("top-n", "n", 0, "show only the N most relevant documents (0: all)")
	raw := fs.Bool("raw-scores", false, "print the model's logits instead of relevance scores in [0, 1]")
	noTruncate := fs.Bool("no-truncate", false, "refuse documents too long for the model instead of cutting them")
	asJSON := fs.Bool("json", false, "print what /api/rerank answers")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return usageError{errors.New("rerank needs a model")}
	}
	if *query == "" {
		return usageError{errors.New("rerank needs --query")}
	}
	if *topN < 0 {
		return usageError{errors.New("--top-n must not be negative")}
	}
	name, docs := fs.Arg(0), fs.Args()[1:]
	if len(docs) == 0 {
		var err error
		if docs, err = readLines(c.app); err != nil {
			return err
		}
	}
	if len(docs) == 0 {
		return usageError{errors.New("rerank needs documents: as arguments or one per line on stdin")}
	}
	conn, err := c.app.connect(ctx, &c.engine)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := c.app.ensurePulled(ctx, conn, name); err != nil {
		return err
	}
	truncate := !*noTruncate
	var resp rerankAnswer
	req := map[string]any{"model": name, "query": *query, "documents": docs, "top_n": *topN, "raw_scores": *raw, "truncate": truncate}
	if err := conn.post(ctx, "/api/rerank", req, &resp); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.app.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(resp)
	}
	tw := tabwriter.NewWriter(c.app.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tSCORE\tINDEX\tDOCUMENT")
	for k, r := range resp.Results {
		fmt.Fprintf(tw, "%d\t%.4f\t%d\t%s\n", k+1, r.RelevanceScore, r.Index, oneLine(r.Document, 100))
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
