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
	// Stride, when above zero, labels a text longer than the model takes
	// in overlapping windows instead of cutting it (transformers' stride):
	// each window holds as many tokens as the model takes, repeating
	// Stride tokens of the window before, and each token takes its labels
	// from the window where it sits farthest from a cut.
	Stride int
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
	if opts.Stride < 0 {
		return nil, badRequest("stride %d is negative", opts.Stride)
	}
	encs, err := m.tokenize(ctx, texts, nil, opts.Truncate && opts.Stride == 0, tokenizer.LongestFirst)
	if err != nil {
		return nil, err
	}
	var windows []tokenWindow
	var windowEncs []*tokenizer.Encoding
	for i, enc := range encs {
		ws, err := splitWindows(i, enc, m.maxLen, opts.Stride)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			windows = append(windows, w)
			windowEncs = append(windowEncs, w.encoding(enc))
		}
	}
	seqs, tokens, err := m.sequences(windowEncs)
	if err != nil {
		return nil, err
	}
	// scores[i][j] are the class probabilities of token j of text i (nil
	// for special tokens).
	scores := make([][][]float64, len(texts))
	for i, enc := range encs {
		scores[i] = make([][]float64, enc.Len())
	}
	var labels []string
	err = m.batcher.Submit(ctx, seqs, func(k int, row engine.Row) error {
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
		w := windows[k]
		enc := encs[w.text]
		for j := range row.Len {
			p := w.position(j, enc.Len())
			if enc.SpecialTokensMask[p] != 0 || !w.owns(p) {
				continue
			}
			scores[w.text][p] = make([]float64, n)
			softmax(data[j*n:(j+1)*n], scores[w.text][p])
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

// tokenWindow is the part of a text's encoding one model run labels: the
// encoding's leading special tokens, body tokens [start, end), and its
// trailing special tokens. The body is the encoding between its leading
// and trailing special tokens.
type tokenWindow struct {
	text        int // the text's index in the request
	lead, trail int // special tokens at the encoding's ends
	start, end  int // body positions in the window
	// from and to are the body positions whose labels this window gives:
	// those closer to its middle than to the middle of a neighbour.
	from, to int
}

// splitWindows cuts the encoding of text i into windows of at most maxLen
// tokens whose bodies overlap by stride tokens. An encoding that fits, or
// any encoding when stride is 0, is one window.
func splitWindows(i int, enc *tokenizer.Encoding, maxLen, stride int) ([]tokenWindow, error) {
	n := enc.Len()
	lead := 0
	for lead < n && enc.SpecialTokensMask[lead] != 0 {
		lead++
	}
	trail := 0
	for trail < n-lead && enc.SpecialTokensMask[n-1-trail] != 0 {
		trail++
	}
	body := n - lead - trail
	if stride == 0 || n <= maxLen {
		return []tokenWindow{{text: i, lead: lead, trail: trail, start: 0, end: body, from: 0, to: body}}, nil
	}
	size := maxLen - lead - trail
	if stride >= size {
		return nil, badRequest("stride %d must be less than the %d text tokens a window of the model holds", stride, max(size, 0))
	}
	var ws []tokenWindow
	for start := 0; ; start += size - stride {
		end := min(start+size, body)
		ws = append(ws, tokenWindow{text: i, lead: lead, trail: trail, start: start, end: end})
		if end == body {
			break
		}
	}
	// Neighbours split their overlap in the middle, so each token is
	// labelled with as much context on both sides as the windows give.
	for k := range ws {
		ws[k].from, ws[k].to = ws[k].start, ws[k].end
		if k > 0 {
			ws[k].from = (ws[k].start + ws[k-1].end + 1) / 2
		}
		if k+1 < len(ws) {
			ws[k].to = (ws[k+1].start + ws[k].end + 1) / 2
		}
	}
	return ws, nil
}

// encoding returns the window's tokens of enc: its special tokens around
// the body's slice (enc itself when the window is all of it).
func (w tokenWindow) encoding(enc *tokenizer.Encoding) *tokenizer.Encoding {
	n := enc.Len()
	if w.start == 0 && w.end == n-w.lead-w.trail {
		return enc
	}
	pick := func(s []int) []int {
		out := make([]int, 0, w.lead+w.end-w.start+w.trail)
		out = append(out, s[:w.lead]...)
		out = append(out, s[w.lead+w.start:w.lead+w.end]...)
		return append(out, s[n-w.trail:]...)
	}
	return &tokenizer.Encoding{IDs: pick(enc.IDs), TypeIDs: pick(enc.TypeIDs), SpecialTokensMask: pick(enc.SpecialTokensMask)}
}

// position maps token j of the window to its position in the text's
// encoding of n tokens.
func (w tokenWindow) position(j, n int) int {
	body := w.end - w.start
	switch {
	case j < w.lead:
		return j
	case j < w.lead+body:
		return w.lead + w.start + (j - w.lead)
	}
	return n - w.trail + (j - w.lead - body)
}

// owns reports whether the window gives the labels of the token at
// position p of the text's encoding.
func (w tokenWindow) owns(p int) bool {
	q := p - w.lead
	return q >= w.from && q < w.to
}
