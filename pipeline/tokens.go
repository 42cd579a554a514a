package pipeline

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"runner/engine"
	"runner/tokenizer"
)

// Aggregation is how token classification fuses tokens into entities, as
// transformers' aggregation_strategy names it.
type Aggregation string

// Aggregation strategies.
const (
	// AggregateNone returns every token with its best label.
	AggregateNone Aggregation = "none"
	// AggregateSimple groups adjacent tokens whose labels share a tag
	// (B-PER I-PER → PER), a B- label starting a new group.
	AggregateSimple Aggregation = "simple"
	// AggregateFirst labels each word as its first token, then groups.
	AggregateFirst Aggregation = "first"
	// AggregateAverage labels each word by its tokens' averaged scores,
	// then groups.
	AggregateAverage Aggregation = "average"
	// AggregateMax labels each word as its most confident token, then
	// groups.
	AggregateMax Aggregation = "max"
)

// ParseAggregation checks an aggregation strategy ("" means none).
func ParseAggregation(s string) (Aggregation, error) {
	switch a := Aggregation(s); a {
	case "":
		return AggregateNone, nil
	case AggregateNone, AggregateSimple, AggregateFirst, AggregateAverage, AggregateMax:
		return a, nil
	}
	return "", badRequest("unknown aggregation strategy %q: want none, simple, first, average or max", s)
}

// TokenOptions adjust one token-classification request.
type TokenOptions struct {
	// Aggregation fuses tokens into entities; "" means AggregateNone.
	Aggregation Aggregation
	// IgnoreLabels are left out of the results (after grouping); nil means
	// ["O"], an empty slice keeps every label.
	IgnoreLabels []string
	// Truncate cuts inputs longer than the model takes; when false such
	// input is an error.
	Truncate bool
}

// Entity is a token, word or group of words with its label.
type Entity struct {
	// Label is the token's or word's label (B-PER), or, when aggregated
	// into groups, the group's tag (PER).
	Label string
	// Score is the label's probability (averaged over a group).
	Score float64
	// Word is the token as the vocabulary spells it (##ing) or, when
	// aggregated, the text the decoder makes of the group's tokens.
	Word string
	// Start and End are character (code point) offsets into the input.
	Start, End int
	// Index is the token's position in the encoding (special tokens
	// counted), or -1 for aggregated entities.
	Index int
}

// TokenClassification holds each input's entities in text order.
type TokenClassification struct {
	Results [][]Entity
	// Aggregated reports that entities are groups (transformers calls
	// their label entity_group rather than entity).
	Aggregated bool
	// Tokens is the number of input tokens, special tokens included.
	Tokens int
}

// ClassifyTokens labels the tokens of each text with a token classifier
// (*ForTokenClassification), such as a named-entity recogniser, and fuses
// them into entities as transformers' token-classification pipeline does.
// Requests are batched with other requests to the model.
func (m *Model) ClassifyTokens(ctx context.Context, texts []string, opts TokenOptions) (*TokenClassification, error) {
	if err := m.Need(TaskTokens); err != nil {
		return nil, err
	}
	agg, err := ParseAggregation(string(opts.Aggregation))
	if err != nil {
		return nil, err
	}
	ignore := opts.IgnoreLabels
	if ignore == nil {
		ignore = []string{"O"}
	}
	encs, err := m.tokenize(ctx, texts, nil, opts.Truncate, tokenizer.LongestFirst)
	if err != nil {
		return nil, err
	}
	seqs, tokens, err := m.sequences(encs)
	if err != nil {
		return nil, err
	}
	// scores[i][j] are the class probabilities of token j of text i (nil
	// for special tokens).
	scores := make([][][]float64, len(texts))
	var labels []string
	err = m.batcher.Submit(ctx, seqs, func(i int, row engine.Row) error {
		data, shape, err := row.Output("logits")
		if err != nil {
			return err
		}
		if len(shape) != 2 || shape[1] < 1 {
			return fmt.Errorf("logits row of shape %v, want [tokens, labels]", shape)
		}
		n := int(shape[1])
		if labels == nil {
			if labels, err = m.classLabels(n); err != nil {
				return err
			}
		}
		enc := encs[i]
		scores[i] = make([][]float64, row.Len)
		for j := range row.Len {
			if enc.SpecialTokensMask[j] != 0 {
				continue
			}
			scores[i][j] = make([]float64, n)
			softmax(data[j*n:(j+1)*n], scores[i][j])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &TokenClassification{Results: make([][]Entity, len(texts)), Aggregated: agg != AggregateNone, Tokens: tokens}
	for i, text := range texts {
		pre := preEntities(m.tok, text, encs[i], scores[i])
		ents := aggregateEntities(pre, labels, agg, m.tok.DecodeTokens)
		kept := ents[:0]
		for _, e := range ents {
			if !slices.Contains(ignore, e.Label) {
				kept = append(kept, e)
			}
		}
		out.Results[i] = kept
	}
	return out, nil
}

// preEntity is one non-special token ready for aggregation.
type preEntity struct {
	word       string
	scores     []float64
	start, end int // characters
	index      int
	subword    bool
}

// preEntities gathers a text's non-special tokens with their scores,
// character offsets and whether each continues the word before it, as
// transformers decides: by the continuing-subword prefix where the
// tokenizer has one (the token is longer than its text), else by whether a
// space precedes it. Unknown tokens take their text as their word and
// always start a word.
func preEntities(tok *tokenizer.Tokenizer, text string, enc *tokenizer.Encoding, scores [][]float64) []preEntity {
	prefix := tok.ContinuingSubwordPrefix()
	unk, hasUnk := tok.UnknownID()
	chars := tokenizer.RuneOffsets(text, enc.Offsets)
	var pre []preEntity
	for j, s := range scores {
		if s == nil {
			continue
		}
		o := enc.Offsets[j]
		ref := text[o.Start:o.End]
		p := preEntity{word: enc.Tokens[j], scores: s, start: chars[j].Start, end: chars[j].End, index: j}
		if prefix != "" {
			p.subword = utf8.RuneCountInString(p.word) != utf8.RuneCountInString(ref)
		} else if o.Start > 0 {
			before, _ := utf8.DecodeLastRuneInString(text[:o.Start])
			first, _ := utf8.DecodeRuneInString(text[o.Start:])
			p.subword = before != ' ' && first != ' '
		}
		if hasUnk && enc.IDs[j] == unk {
			p.word, p.subword = ref, false
		}
		pre = append(pre, p)
	}
	return pre
}
