package pipeline

import (
	"context"
	"slices"
	"strings"

	"runner/engine"
)

// RerankOptions adjust one rerank request.
type RerankOptions struct {
	// TopN keeps the TopN most relevant documents; 0 keeps all.
	TopN int
	// Truncate cuts (query, document) pairs longer than the model takes,
	// from the document first; when false such a pair is an error.
	Truncate bool
	// RawScores returns the cross-encoder's logits instead of the scores
	// of its activation (a sigmoid unless the model says otherwise).
	RawScores bool
}

// Ranked is one document's place in a ranking.
type Ranked struct {
	// Index is the document's position in the request.
	Index int
	// Score is its relevance: higher is more relevant.
	Score float64
}

// Ranking is the documents of a rerank request, most relevant first.
type Ranking struct {
	Results []Ranked
	// Tokens is the number of input tokens of all pairs.
	Tokens int
}

// rawActivation reports whether the model's cross-encoder activation is the
// identity, as sentence-transformers records it in config.json; otherwise
// scores go through a sigmoid, its default for single-logit models.
func (m *Model) rawActivation() bool {
	return strings.HasSuffix(m.cfg.SentenceTransformers.ActivationFn, ".Identity")
}

// Rerank scores each document's relevance to the query with a cross-encoder
// (a sequence classifier with one logit), running (query, document) as a
// text pair, and returns them most relevant first. Requests are batched
// with other requests to the model.
func (m *Model) Rerank(ctx context.Context, query string, docs []string, opts RerankOptions) (*Ranking, error) {
	if err := m.Need(TaskRerank); err != nil {
		return nil, err
	}
	if opts.TopN < 0 {
		return nil, badRequest("top_n must not be negative")
	}
	queries := make([]string, len(docs))
	for i := range queries {
		queries[i] = query
	}
	seqs, tokens, err := m.encode(ctx, queries, docs, opts.Truncate)
	if err != nil {
		return nil, err
	}
	raw := opts.RawScores || m.rawActivation()
	out := &Ranking{Results: make([]Ranked, len(docs)), Tokens: tokens}
	err = m.batcher.Submit(ctx, seqs, func(i int, row engine.Row) error {
		logits, err := sequenceLogits(row)
		if err != nil {
			return err
		}
		s := float64(logits[0])
		if !raw {
			s = sigmoid(s)
		}
		out.Results[i] = Ranked{Index: i, Score: s}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out.Results, func(a, b Ranked) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if opts.TopN > 0 && opts.TopN < len(out.Results) {
		out.Results = out.Results[:opts.TopN]
	}
	return out, nil
}
