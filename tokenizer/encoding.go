package tokenizer

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Offset is a range [Start, End) of the input text. Encodings give byte
// offsets into the string that was encoded; RuneOffsets converts them to
// character (code point) offsets, as Python and transformers report them.
type Offset struct{ Start, End int }

// Encoding is the result of encoding a text or a pair of texts. All slices
// have one entry per token.
type Encoding struct {
	// IDs are the token ids.
	IDs []int
	// Tokens are the tokens' strings, as in the vocabulary (byte-level
	// tokens stay in their byte-level alphabet, like Ġhello).
	Tokens []string
	// TypeIDs are the segment ids: 0 for the first text, 1 for the second
	// of a pair, as the post-processor sets them.
	TypeIDs []int
	// AttentionMask is 1 for real tokens and 0 for padding.
	AttentionMask []int
	// SpecialTokensMask is 1 for tokens added by the post-processor and for
	// padding, 0 for tokens of the text (added tokens found in the text
	// count as text).
	SpecialTokensMask []int
	// Offsets are byte ranges into the text each token came from ({0, 0}
	// for special tokens and padding). For a pair, the second text's
	// tokens have offsets into the second text.
	Offsets []Offset
	// WordIDs gives, for each token, the index of the pre-tokenized word it
	// belongs to, or -1 for special tokens and padding.
	WordIDs []int
	// SequenceIDs gives 0 or 1 for tokens of the first or second text, or
	// -1 for special tokens and padding.
	SequenceIDs []int
	// Overflowing holds the windows cut off by truncation, each a complete
	// encoding (with special tokens and padding applied).
	Overflowing []*Encoding

	room *encodingRoom // free space around the tokens, while unchanged
}

// Len returns the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

func (e *Encoding) clone() *Encoding {
	c := &Encoding{
		IDs:               append([]int(nil), e.IDs...),
		Tokens:            append([]string(nil), e.Tokens...),
		TypeIDs:           append([]int(nil), e.TypeIDs...),
		AttentionMask:     append([]int(nil), e.AttentionMask...),
		SpecialTokensMask: append([]int(nil), e.SpecialTokensMask...),
		Offsets:           append([]Offset(nil), e.Offsets...),
		WordIDs:           append([]int(nil), e.WordIDs...),
		SequenceIDs:       append([]int(nil), e.SequenceIDs...),
	}
	for _, o := range e.Overflowing {
		c.Overflowing = append(c.Overflowing, o.clone())
	}
	return c
}

// slice returns the tokens [a, b) without overflowing parts.
func (e *Encoding) slice(a, b int) *Encoding {
	return &Encoding{
		IDs:               append([]int(nil), e.IDs[a:b]...),
		Tokens:            append([]string(nil), e.Tokens[a:b]...),
		TypeIDs:           append([]int(nil), e.TypeIDs[a:b]...),
		AttentionMask:     append([]int(nil), e.AttentionMask[a:b]...),
		SpecialTokensMask: append([]int(nil), e.SpecialTokensMask[a:b]...),
		Offsets:           append([]Offset(nil), e.Offsets[a:b]...),
		WordIDs:           append([]int(nil), e.WordIDs[a:b]...),
		SequenceIDs:       append([]int(nil), e.SequenceIDs[a:b]...),
	}
}

// appendTokens adds the tokens of o at the end of e (not its overflowing).
func (e *Encoding) appendTokens(o *Encoding) {
	e.room = nil
	e.IDs = append(e.IDs, o.IDs...)
	e.Tokens = append(e.Tokens, o.Tokens...)
	e.TypeIDs = append(e.TypeIDs, o.TypeIDs...)
	e.AttentionMask = append(e.AttentionMask, o.AttentionMask...)
	e.SpecialTokensMask = append(e.SpecialTokensMask, o.SpecialTokensMask...)
	e.Offsets = append(e.Offsets, o.Offsets...)
	e.WordIDs = append(e.WordIDs, o.WordIDs...)
	e.SequenceIDs = append(e.SequenceIDs, o.SequenceIDs...)
}

// mergeWith appends o to e; overflowing parts combine as in the reference
// implementation: each of e's with o and with each of o's, then e with each
// of o's.
func (e *Encoding) mergeWith(o *Encoding) {
	var over []*Encoding
	for _, eo := range e.Overflowing {
		n := eo.clone()
		n.mergeWith(o.clone())
		over = append(over, n)
		for _, oo := range o.Overflowing {
			n := eo.clone()
			n.mergeWith(oo.clone())
			over = append(over, n)
		}
	}
	for _, oo := range o.Overflowing {
		n := e.clone()
		n.mergeWith(oo.clone())
		over = append(over, n)
	}
	e.appendTokens(o)
	e.Overflowing = over
}

// mergeEncodings folds a list of encodings into one.
func mergeEncodings(encs []*Encoding) *Encoding {
	if len(encs) == 0 {
		return &Encoding{}
	}
	if len(encs) == 1 {
		if encs[0].room == nil {
			// Possibly shared special tokens: the caller may change it.
			return encs[0].clone()
		}
		encs[0].room = nil
		return encs[0]
	}
	n := 0
	for _, e := range encs {
		if len(e.Overflowing) > 0 {
			return mergeEncodingsDeep(encs)
		}
		n += e.Len()
	}
	if out := mergeInRoom(encs); out != nil {
		return out
	}
	// Without overflowing parts: one allocation of the final size.
	ints := make([]int, 0, 6*n)
	part := func(k int) []int { return ints[k*n : k*n : (k+1)*n] }
	out := &Encoding{
		IDs: part(0), TypeIDs: part(1), AttentionMask: part(2), SpecialTokensMask: part(3),
		WordIDs: part(4), SequenceIDs: part(5), Tokens: make([]string, 0, n), Offsets: make([]Offset, 0, n),
	}
	for _, e := range encs {
		out.appendTokens(e)
	}
	return out
}

// mergeEncodingsDeep merges with overflowing parts combined pairwise.
func mergeEncodingsDeep(encs []*Encoding) *Encoding {
	for _, e := range encs {
		if e.room != nil { // (shared special tokens have none: no write)
			e.room = nil
		}
	}
	// The first may be a post-processor's shared special tokens: copy it.
	out := encs[0].clone()
	for _, o := range encs[1:] {
		out.mergeWith(o)
	}
	return out
}

func (e *Encoding) setSequenceID(id int) {
	for i := range e.SequenceIDs {
		e.SequenceIDs[i] = id
	}
}

func (e *Encoding) setTypeIDs(id int) {
	for i := range e.TypeIDs {
		e.TypeIDs[i] = id
	}
}

// TruncationStrategy says which text of a pair loses tokens.
type TruncationStrategy int

// Truncation strategies.
const (
	// LongestFirst removes tokens from the longer text first.
	LongestFirst TruncationStrategy = iota
	// OnlyFirst removes tokens from the first text only.
	OnlyFirst
	// OnlySecond removes tokens from the second text only.
	OnlySecond
)

// Direction says which end of the sequence truncation or padding touches.
type Direction int

// Directions.
const (
	Right Direction = iota
	Left
)

// Truncation bounds the length of encodings.
type Truncation struct {
	// MaxLength is the longest an encoding may be, special tokens included.
	MaxLength int
	// Strategy chooses which text of a pair is cut.
	Strategy TruncationStrategy
	// Stride is how many tokens each overflowing window repeats from the
	// previous one.
	Stride int
	// Direction is the end tokens are removed from.
	Direction Direction
}

// Padding pads encodings to a common length.
type Padding struct {
	// Length pads to this many tokens; 0 pads a batch to its longest.
	Length int
	// MultipleOf rounds the padded length up to a multiple (0: no rounding).
	MultipleOf int
	// ID, TypeID and Token fill the padding.
	ID, TypeID int
	Token      string
	// Direction is the side padding goes on.
	Direction Direction
}

// Truncation and padding errors.
var (
	// ErrSequenceTooShort is returned when OnlyFirst or OnlySecond
	// truncation cannot remove enough tokens from its text.
	ErrSequenceTooShort = errors.New("tokenizer: the text chosen for truncation is too short to remove enough tokens")
	// ErrSecondSequenceMissing is returned for OnlySecond truncation of a
	// single text.
	ErrSecondSequenceMissing = errors.New("tokenizer: OnlySecond truncation needs a pair of texts")
	// ErrStrideTooLong is returned when the stride is not below the length
	// left for the text.
	ErrStrideTooLong = errors.New("tokenizer: truncation stride must be less than the maximum length")
)

// truncate cuts e to maxLen tokens, moving the rest into overflowing
// windows that overlap by stride tokens.
func (e *Encoding) truncate(maxLen, stride int, dir Direction) error {
	n := len(e.IDs)
	if maxLen >= n {
		return nil
	}
	if maxLen == 0 {
		o := *e
		*e = Encoding{Overflowing: []*Encoding{&o}}
		return nil
	}
	if stride >= maxLen {
		return fmt.Errorf("%w (stride %d, length %d)", ErrStrideTooLong, stride, maxLen)
	}
	step := maxLen - stride
	var parts [][2]int
	if dir == Right {
		for start := 0; start < n; start += step {
			stop := min(start+maxLen, n)
			parts = append(parts, [2]int{start, stop})
			if stop == n {
				break
			}
		}
	} else {
		for stop := n; stop > 0; stop -= step {
			start := max(stop-maxLen, 0)
			parts = append(parts, [2]int{start, stop})
			if start == 0 {
				break
			}
		}
	}
	first := e.slice(parts[0][0], parts[0][1])
	for _, p := range parts[1:] {
		first.Overflowing = append(first.Overflowing, e.slice(p[0], p[1]))
	}
	*e = *first
	return nil
}

// truncatePair applies t to a text and its optional pair.
func truncatePair(a, b *Encoding, t Truncation) error {
	if t.MaxLength == 0 {
		if err := a.truncate(0, t.Stride, t.Direction); err != nil {
			return err
		}
		if b != nil {
			return b.truncate(0, t.Stride, t.Direction)
		}
		return nil
	}
	total := a.Len()
	if b != nil {
		total += b.Len()
	}
	if total <= t.MaxLength {
		return nil
	}
	remove := total - t.MaxLength
	switch t.Strategy {
	case LongestFirst:
		if b == nil {
			return a.truncate(total-remove, t.Stride, t.Direction)
		}
		n1, n2 := a.Len(), b.Len()
		swap := n1 > n2
		if swap {
			n1, n2 = n2, n1
		}
		if n1 > t.MaxLength {
			n2 = n1
		} else {
			n2 = max(n1, t.MaxLength-n1)
		}
		if n1+n2 > t.MaxLength {
			n1 = t.MaxLength / 2
			n2 = n1 + t.MaxLength%2
		}
		if swap {
			n1, n2 = n2, n1
		}
		if err := a.truncate(n1, t.Stride, t.Direction); err != nil {
			return err
		}
		return b.truncate(n2, t.Stride, t.Direction)
	default:
		target := a
		if t.Strategy == OnlySecond {
			if b == nil {
				return ErrSecondSequenceMissing
			}
			target = b
		}
		if target.Len() <= remove {
			return ErrSequenceTooShort
		}
		return target.truncate(target.Len()-remove, t.Stride, t.Direction)
	}
}

// pad pads e (and its overflowing windows) to length tokens.
func (e *Encoding) pad(length int, p *Padding) {
	for _, o := range e.Overflowing {
		o.pad(length, p)
	}
	n := length - len(e.IDs)
	if n <= 0 {
		return
	}
	e.room = nil
	padInts := func(s []int, v int) []int {
		fill := make([]int, n)
		for i := range fill {
			fill[i] = v
		}
		if p.Direction == Left {
			return append(fill, s...)
		}
		return append(s, fill...)
	}
	e.IDs = padInts(e.IDs, p.ID)
	e.TypeIDs = padInts(e.TypeIDs, p.TypeID)
	e.AttentionMask = padInts(e.AttentionMask, 0)
	e.SpecialTokensMask = padInts(e.SpecialTokensMask, 1)
	e.WordIDs = padInts(e.WordIDs, -1)
	e.SequenceIDs = padInts(e.SequenceIDs, -1)
	toks := make([]string, n)
	offs := make([]Offset, n)
	for i := range toks {
		toks[i] = p.Token
	}
	if p.Direction == Left {
		e.Tokens = append(toks, e.Tokens...)
		e.Offsets = append(offs, e.Offsets...)
	} else {
		e.Tokens = append(e.Tokens, toks...)
		e.Offsets = append(e.Offsets, offs...)
	}
}

// padAll pads encodings as p says: to p.Length, or to the longest.
func padAll(encs []*Encoding, p *Padding) {
	if len(encs) == 0 {
		return
	}
	length := p.Length
	if length == 0 {
		for _, e := range encs {
			length = max(length, e.Len())
		}
	}
	if m := p.MultipleOf; m > 0 && length%m != 0 {
		length += m - length%m
	}
	for _, e := range encs {
		e.pad(length, p)
	}
}

// RuneOffsets converts byte offsets into text to character (code point)
// offsets, the form transformers reports for NER. Offsets inside a
// character count that character.
func RuneOffsets(text string, offsets []Offset) []Offset {
	out := make([]Offset, len(offsets))
	// Character index of each byte position, built lazily once.
	var idx []int
	for i, o := range offsets {
		if o.Start == 0 && o.End == 0 {
			continue
		}
		if idx == nil {
			idx = make([]int, len(text)+1)
			c := 0
			for b := 0; b < len(text); {
				_, size := utf8.DecodeRuneInString(text[b:])
				for k := 0; k < size; k++ {
					idx[b+k] = c
				}
				b += size
				c++
			}
			idx[len(text)] = c
		}
		s, e := clamp(o.Start, len(text)), clamp(o.End, len(text))
		out[i] = Offset{idx[s], idx[e]}
		if e > 0 && e < len(text) && !utf8.RuneStart(text[e]) {
			out[i].End = idx[e-1] + 1
		}
	}
	return out
}

// RuneOffsets returns the encoding's offsets in characters of text, which
// must be the text that was encoded (for a pair, pass each text with the
// tokens whose SequenceIDs select it).
func (e *Encoding) RuneOffsets(text string) []Offset { return RuneOffsets(text, e.Offsets) }

func clamp(v, hi int) int { return max(0, min(v, hi)) }
