package constrain

import "fmt"

// Vocabulary is a model's tokens as bytes, in a trie, for finding every
// token a grammar admits next without trying each one from scratch. It is
// immutable and shared by all of a model's constrained outputs.
type Vocabulary struct {
	tokens [][]byte
	eos    map[int]bool
	nodes  []trieNode

	// Inside a string, most tokens are plain text; these let Mask judge
	// them at once. plain lists the tokens with no quote, backslash or
	// control byte whose bytes are UTF-8 once their first lead[id]
	// continuation bytes (ending a character begun before) are set aside
	// (they may end inside a character); chars counts the characters they
	// begin. unplain lists every other token with bytes.
	plain   []int32
	lead    []uint8
	chars   []int32
	unplain []int32
}

// trieNode is a byte-trie node: the tokens whose bytes end here and the
// edges to longer ones.
type trieNode struct {
	ends  []int32
	edges []trieEdge
}

type trieEdge struct {
	b     byte
	child int32
}

// NewVocabulary indexes tokens (each id's bytes; nil for tokens that never
// appear in constrained output, such as special ones) and the
// end-of-sequence ids, which may come once the output is complete.
func NewVocabulary(tokens [][]byte, eos []int) *Vocabulary {
	v := &Vocabulary{tokens: tokens, eos: map[int]bool{}, nodes: []trieNode{{}}}
	for _, id := range eos {
		v.eos[id] = true
	}
	for id, b := range tokens {
		if len(b) == 0 || v.eos[id] {
			continue
		}
		at := int32(0)
		for _, c := range b {
			at = v.child(at, c)
		}
		v.nodes[at].ends = append(v.nodes[at].ends, int32(id))
	}
	v.lead, v.chars = make([]uint8, len(tokens)), make([]int32, len(tokens))
	for id, b := range tokens {
		if len(b) == 0 || v.eos[id] {
			continue
		}
		if lead, chars, ok := plainText(b); ok {
			v.plain = append(v.plain, int32(id))
			v.lead[id], v.chars[id] = lead, chars
		} else {
			v.unplain = append(v.unplain, int32(id))
		}
	}
	return v
}

// plainText reports whether b can sit inside a JSON string without
// escapes, how many continuation bytes it starts with (0 to 3), and how
// many characters it begins.
func plainText(b []byte) (lead uint8, chars int32, ok bool) {
	for lead < 3 && int(lead) < len(b) && b[lead]&0xC0 == 0x80 {
		lead++
	}
	var f frame
	for _, c := range b[lead:] {
		if f.utf8Need > 0 {
			if c < f.utf8Lo || c > f.utf8Hi {
				return 0, 0, false
			}
			f.utf8Need--
			f.utf8Lo, f.utf8Hi = 0x80, 0xBF
			continue
		}
		switch {
		case c == '"' || c == '\\' || c < 0x20:
			return 0, 0, false
		case c >= 0x80 && !startUTF8(&f, c):
			return 0, 0, false
		}
		chars++
	}
	return lead, chars, true
}

func (v *Vocabulary) child(at int32, c byte) int32 {
	for _, e := range v.nodes[at].edges {
		if e.b == c {
			return e.child
		}
	}
	v.nodes = append(v.nodes, trieNode{})
	child := int32(len(v.nodes) - 1)
	v.nodes[at].edges = append(v.nodes[at].edges, trieEdge{b: c, child: child})
	return child
}

// Tokens constrains one output, token by token, to a grammar. It is not
// safe for concurrent use.
type Tokens struct {
	v *Vocabulary
	m *Matcher
}

// Constrain starts an output that must follow g.
func (v *Vocabulary) Constrain(g *Grammar) *Tokens {
	return &Tokens{v: v, m: g.NewMatcher()}
}

// Allows reports whether token id may come next: an end-of-sequence token
// once the output is a whole value, any other token when its bytes
// continue the output.
func (t *Tokens) Allows(id int) bool {
	if t.v.eos[id] {
		return t.m.CanEnd()
	}
	if id < 0 || id >= len(t.v.tokens) || len(t.v.tokens[id]) == 0 {
		return false
	}
	return t.m.Accepts(t.v.tokens[id])
}

// Mask sets mask[id] for every token that may come next, clearing the
// rest, and reports whether there is any.
func (t *Tokens) Mask(mask []bool) bool {
	clear(mask)
	any := false
	if t.m.CanEnd() {
		for id := range t.v.eos {
			if id >= 0 && id < len(mask) {
				mask[id], any = true, true
			}
		}
	}
	if len(t.m.alts) == 1 {
		if handled, allowed := t.maskString(mask); handled {
			return any || allowed
		}
	}
	var walk func(at int32, alts []*stack)
	walk = func(at int32, alts []*stack) {
		for _, e := range t.v.nodes[at].edges {
			next := advanceByte(alts, e.b)
			if len(next) == 0 {
				continue
			}
			for _, id := range t.v.nodes[e.child].ends {
				if int(id) < len(mask) {
					mask[id], any = true, true
				}
			}
			walk(e.child, next)
		}
	}
	walk(0, t.m.alts)
	return any
}

// Accept moves the output past token id, which must be allowed.
func (t *Tokens) Accept(id int) error {
	if t.v.eos[id] {
		if !t.m.CanEnd() {
			return fmt.Errorf("constrain: end of sequence before the output is complete")
		}
		return nil
	}
	if id < 0 || id >= len(t.v.tokens) || len(t.v.tokens[id]) == 0 {
		return fmt.Errorf("constrain: token %d has no text", id)
	}
	return t.m.Advance(t.v.tokens[id])
}

// Finished reports whether the output is complete and nothing may follow
// it but the end of the sequence.
func (t *Tokens) Finished() bool { return t.m.Finished() }

// maskString is Mask's fast path inside a string's plain text: a plain
// token is allowed when it finishes the character in progress and fits
// the string's length limit; the others are tried one by one. It reports
// whether it applied (not when the output is elsewhere than in plain
// string text) and whether it allowed any token.
func (t *Tokens) maskString(mask []bool) (handled, allowed bool) {
	f := t.m.alts[0].f
	if f.kind != frameString || f.state != stringPlain || f.n.pattern != nil {
		return false, false
	}
	left := int32(-1)
	if f.n.maxLength >= 0 {
		left = int32(f.n.maxLength - f.count)
	}
	for _, id := range t.v.plain {
		if int(id) >= len(mask) {
			continue
		}
		// The token must finish the character in progress, or be made
		// only of some of the bytes it still needs.
		if lead := t.v.lead[id]; lead != f.utf8Need && (lead > f.utf8Need || int(lead) != len(t.v.tokens[id])) {
			continue
		}
		if left >= 0 && t.v.chars[id] > left {
			continue
		}
		if f.utf8Need > 0 {
			if c := t.v.tokens[id][0]; c < f.utf8Lo || c > f.utf8Hi {
				continue
			}
		}
		mask[id], allowed = true, true
	}
	for _, id := range t.v.unplain {
		if int(id) < len(mask) && t.m.Accepts(t.v.tokens[id]) {
			mask[id], allowed = true, true
		}
	}
	return true, allowed
}
