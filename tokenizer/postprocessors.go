package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// A postProcessor adds special tokens around encoded texts and sets their
// type ids. It receives the text encodings (one, or two for a pair) with
// their texts, and returns the encodings to merge, in order.
type postProcessor interface {
	// addedTokens is how many tokens process adds, for truncation.
	addedTokens(pair bool) int
	process(encs []*Encoding, texts []string, addSpecial bool) []*Encoding
}

// specialEncoding is a run of special tokens.
func specialEncoding(ids []int, tokens []string, typeID int) *Encoding {
	n := len(ids)
	e := &Encoding{
		IDs: append([]int(nil), ids...), Tokens: append([]string(nil), tokens...),
		TypeIDs: make([]int, n), AttentionMask: make([]int, n), SpecialTokensMask: make([]int, n),
		Offsets: make([]Offset, n), WordIDs: make([]int, n), SequenceIDs: make([]int, n),
	}
	for i := 0; i < n; i++ {
		e.TypeIDs[i] = typeID
		e.AttentionMask[i] = 1
		e.SpecialTokensMask[i] = 1
		e.WordIDs[i] = -1
		e.SequenceIDs[i] = -1
	}
	return e
}

// templatePiece is one element of a template: a text (A or B) or a
// special token, with the type id it gets.
type templatePiece struct {
	seq     int    // 0 for A, 1 for B, -1 for a special token
	special string // the special token's key
	typeID  int
}

// templateSpecial is a special token of a template: its ids and tokens.
type templateSpecial struct {
	ids    []int
	tokens []string
	// enc is its encoding for each type id used, built once and shared
	// (read-only) by every call.
	enc map[int]*Encoding
}

// templateProcessing places texts and special tokens as its templates say
// (such as "[CLS] $A [SEP]" and "[CLS] $A [SEP] $B:1 [SEP]:1").
type templateProcessing struct {
	single, pair []templatePiece
	specials     map[string]templateSpecial
	// shareSpecials hands out the prebuilt special token encodings; only
	// safe when no processor runs after this one.
	shareSpecials bool
}

func (t *templateProcessing) addedTokens(pair bool) int {
	tpl := t.single
	if pair {
		tpl = t.pair
	}
	n := 0
	for _, p := range tpl {
		if p.seq < 0 {
			n += len(t.specials[p.special].ids)
		}
	}
	return n
}

func (t *templateProcessing) process(encs []*Encoding, texts []string, addSpecial bool) []*Encoding {
	tpl := t.single
	if len(encs) == 2 {
		tpl = t.pair
	}
	var out []*Encoding
	used := [2]bool{}
	for _, p := range tpl {
		if p.seq >= 0 {
			if p.seq >= len(encs) {
				continue
			}
			// The texts' encodings are ours to change; a text used twice
			// gets a copy the second time.
			e := encs[p.seq]
			if used[p.seq] {
				e = e.clone()
			}
			used[p.seq] = true
			setTypeAndSeq(e, p.typeID, p.seq)
			out = append(out, e)
			continue
		}
		if addSpecial {
			sp := t.specials[p.special]
			if t.shareSpecials {
				out = append(out, sp.enc[p.typeID])
			} else {
				out = append(out, specialEncoding(sp.ids, sp.tokens, p.typeID))
			}
		}
	}
	return out
}

// setTypeAndSeq sets the type and sequence ids of e and its overflowing.
func setTypeAndSeq(e *Encoding, typeID, seq int) {
	e.setTypeIDs(typeID)
	e.setSequenceID(seq)
	for _, o := range e.Overflowing {
		setTypeAndSeq(o, typeID, seq)
	}
}

// bertProcessing is "[CLS] A [SEP]" and "[CLS] A [SEP] B [SEP]".
type bertProcessing struct {
	sep, cls       int
	sepTok, clsTok string
}

func (b *bertProcessing) addedTokens(pair bool) int {
	if pair {
		return 3
	}
	return 2
}

func (b *bertProcessing) process(encs []*Encoding, texts []string, addSpecial bool) []*Encoding {
	for i, e := range encs {
		setSeqDeep(e, i)
	}
	if !addSpecial {
		return encs
	}
	out := make([]*Encoding, 0, 5)
	out = append(out, wrapDeep(encs[0], []int{b.cls}, []string{b.clsTok}, 0, []int{b.sep}, []string{b.sepTok}, 0))
	if len(encs) == 2 {
		out = append(out, wrapDeep(encs[1], nil, nil, 1, []int{b.sep}, []string{b.sepTok}, 1))
	}
	return out
}

// robertaProcessing is "<s> A </s>" and "<s> A </s> </s> B </s>", with
// optional offset trimming as in ByteLevel.
type robertaProcessing struct {
	sep, cls       int
	sepTok, clsTok string
	trimOffsets    bool
	addPrefixSpace bool
}

func (r *robertaProcessing) addedTokens(pair bool) int {
	if pair {
		return 4
	}
	return 2
}

func (r *robertaProcessing) process(encs []*Encoding, texts []string, addSpecial bool) []*Encoding {
	if r.trimOffsets {
		for i, e := range encs {
			trimOffsetsDeep(e, texts[i], r.addPrefixSpace)
		}
	}
	for i, e := range encs {
		setSeqDeep(e, i)
	}
	if !addSpecial {
		return encs
	}
	out := make([]*Encoding, 0, 2)
	out = append(out, wrapDeep(encs[0], []int{r.cls}, []string{r.clsTok}, 0, []int{r.sep}, []string{r.sepTok}, 0))
	if len(encs) == 2 {
		b := encs[1].clone()
		setTypeDeep(b, 0)
		out = append(out, wrapDeep(b, []int{r.sep}, []string{r.sepTok}, 0, []int{r.sep}, []string{r.sepTok}, 0))
	}
	return out
}

func setSeqDeep(e *Encoding, seq int) {
	e.setSequenceID(seq)
	for _, o := range e.Overflowing {
		setSeqDeep(o, seq)
	}
}

func setTypeDeep(e *Encoding, typeID int) {
	e.setTypeIDs(typeID)
	for _, o := range e.Overflowing {
		setTypeDeep(o, typeID)
	}
}

// wrapDeep surrounds e, and each of its overflowing windows, with special
// tokens; the text keeps its own type ids.
func wrapDeep(e *Encoding, pre []int, preTok []string, preType int, post []int, postTok []string, postType int) *Encoding {
	out := specialEncoding(pre, preTok, preType)
	out.appendTokens(e)
	out.appendTokens(specialEncoding(post, postTok, postType))
	for _, o := range e.Overflowing {
		out.Overflowing = append(out.Overflowing, wrapDeep(o, pre, preTok, preType, post, postTok, postType))
	}
	return out
}

// byteLevelProcessing trims the offsets of byte-level tokens so they leave
// out the spaces the tokens start or end with.
type byteLevelProcessing struct {
	trimOffsets    bool
	addPrefixSpace bool
}

func (b *byteLevelProcessing) addedTokens(bool) int { return 0 }

func (b *byteLevelProcessing) process(encs []*Encoding, texts []string, addSpecial bool) []*Encoding {
	if !b.trimOffsets {
		return encs
	}
	// Texts' encodings carry their sequence id (special tokens -1).
	for _, e := range encs {
		if seq := firstSeq(e); seq >= 0 {
			trimOffsetsDeep(e, texts[seq], b.addPrefixSpace)
		}
	}
	return encs
}

// firstSeq returns the sequence id of e's first text token, or -1.
func firstSeq(e *Encoding) int {
	for _, s := range e.SequenceIDs {
		if s >= 0 {
			return s
		}
	}
	return -1
}

func trimOffsetsDeep(e *Encoding, text string, addPrefixSpace bool) {
	trimOffsets(e, text, addPrefixSpace)
	for _, o := range e.Overflowing {
		trimOffsets(o, text, addPrefixSpace)
	}
}

// trimOffsets moves each token's offsets past its leading and trailing
// spaces (Ġ or whitespace), keeping a first token's single added prefix
// space. Offsets move by whole characters of the text, so that in
// characters they move as in the reference implementation (which trims
// character offsets by the number of spaces).
func trimOffsets(e *Encoding, text string, addPrefixSpace bool) {
	isSpace := func(r rune) bool { return r == 'Ġ' || unicode.IsSpace(r) }
	for i, tok := range e.Tokens {
		lead, trail := 0, 0
		for _, r := range tok {
			if !isSpace(r) {
				break
			}
			lead++
		}
		rs := []rune(tok)
		for k := len(rs) - 1; k >= 0 && isSpace(rs[k]); k-- {
			trail++
		}
		if lead == 0 && trail == 0 {
			continue
		}
		o := &e.Offsets[i]
		if lead > 0 {
			first := i == 0 || o.Start == 0
			if first && addPrefixSpace && lead == 1 {
				lead = 0
			}
			o.Start = min(advanceRunes(text, o.Start, lead), o.End)
		}
		if trail > 0 && o.End > 0 {
			o.End = max(retreatRunes(text, o.End, trail), o.Start)
		}
	}
}

// processorSeq runs processors in order over the list of encodings.
type processorSeq []postProcessor

func (s processorSeq) addedTokens(pair bool) int {
	n := 0
	for _, p := range s {
		n += p.addedTokens(pair)
	}
	return n
}

func (s processorSeq) process(encs []*Encoding, texts []string, addSpecial bool) []*Encoding {
	for _, p := range s {
		encs = p.process(encs, texts, addSpecial)
	}
	return encs
}

// advanceRunes moves byte position i forward by n characters of s.
func advanceRunes(s string, i, n int) int {
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i + n // past the end, keep counting (clamped by the caller)
}

// retreatRunes moves byte position i back by n characters of s.
func retreatRunes(s string, i, n int) int {
	i = min(i, len(s))
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return i
}
