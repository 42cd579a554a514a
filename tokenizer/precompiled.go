package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// precompiled is SentencePiece's precompiled normalization (used by T5,
// XLM-R, mBART and others): a map from strings to replacements, stored as
// a darts-clone double-array trie and a pool of NUL-terminated strings.
//
// As in the reference, each grapheme cluster shorter than 6 bytes is
// looked up whole first; otherwise (or when it is not found) each of its
// characters is looked up. A lookup takes the shortest key that is a prefix
// of the looked-up text.
type precompiled struct {
	units []uint32
	pool  []byte
	// ascii[c] is the replacement of the ASCII character c, if it has one.
	ascii    [utf8.RuneSelf]string
	asciiHas [utf8.RuneSelf]bool
}

// errBadCharsmap is returned for a precompiled_charsmap that does not parse.
var errBadCharsmap = errors.New("precompiled_charsmap is malformed")

func newPrecompiled(b64 string) (normalizer, error) {
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("precompiled_charsmap: %w", err)
	}
	if len(data) < 4 {
		return nil, errBadCharsmap
	}
	size := int(binary.LittleEndian.Uint32(data))
	if size%4 != 0 || 4+size > len(data) {
		return nil, fmt.Errorf("%w: trie of %d bytes in %d", errBadCharsmap, size, len(data))
	}
	p := &precompiled{units: make([]uint32, size/4), pool: data[4+size:]}
	for i := range p.units {
		p.units[i] = binary.LittleEndian.Uint32(data[4+4*i:])
	}
	for c := 1; c < utf8.RuneSelf; c++ {
		p.ascii[c], p.asciiHas[c] = p.lookup(string(rune(c)))
	}
	return p, nil
}

// Double-array unit fields (darts-clone).
func unitHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func unitValue(u uint32) uint32  { return u & (1<<31 - 1) }
func unitLabel(u uint32) uint32  { return u & (1<<31 | 0xFF) }
func unitOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// lookup returns the replacement of the shortest key that is a prefix of s.
func (p *precompiled) lookup(s string) (string, bool) {
	if len(p.units) == 0 {
		return "", false
	}
	pos := unitOffset(p.units[0])
	for i := 0; i < len(s); i++ {
		c := uint32(s[i])
		if c == 0 {
			break
		}
		pos ^= c
		if int(pos) >= len(p.units) {
			return "", false
		}
		u := p.units[pos]
		if unitLabel(u) != c {
			return "", false
		}
		pos ^= unitOffset(u)
		if int(pos) >= len(p.units) {
			return "", false
		}
		if unitHasLeaf(u) {
			start := int(unitValue(p.units[pos]))
			if start > len(p.pool) {
				return "", false
			}
			end := start
			for end < len(p.pool) && p.pool[end] != 0 {
				end++
			}
			return string(p.pool[start:end]), true
		}
	}
	return "", false
}

// xop is one character of a rewritten text and how it relates to the old
// one, in the reference implementation's terms: 0 replaces the next old
// character, -n replaces it and drops n more, 1 is inserted.
type xop struct {
	r      rune
	change int
}

// asciiAlone reports whether s[i] is an ASCII character that forms a
// grapheme cluster by itself (the next character is ASCII too, and they
// are not CR LF).
func asciiAlone(s string, i int) bool {
	return s[i] < utf8.RuneSelf && (i+1 == len(s) || (s[i+1] < utf8.RuneSelf && !(s[i] == '\r' && s[i+1] == '\n')))
}

func (p *precompiled) normalize(n normalized) normalized {
	// Skip the part that no lookup changes.
	start := 0
	for start < len(n.s) {
		if asciiAlone(n.s, start) {
			if p.asciiHas[n.s[start]] {
				break
			}
			start++
			continue
		}
		g, _, _, _ := uniseg.FirstGraphemeClusterInString(n.s[start:], -1)
		if p.changes(g) {
			break
		}
		start += len(g)
	}
	if start == len(n.s) {
		return n
	}
	// Start one character earlier: a replacement by nothing folds the
	// removal into the operation before it.
	if start > 0 {
		_, size := utf8.DecodeLastRuneInString(n.s[:start])
		start -= size
	}
	var ops []xop
	modified := false
	replace := func(old, repl string) {
		modified = true
		oldCount := utf8.RuneCountInString(old)
		first := len(ops)
		for _, r := range repl {
			ops = append(ops, xop{r, 0})
		}
		diff := utf8.RuneCountInString(repl) - oldCount
		switch {
		case diff > 0:
			for i := len(ops) - 1; i >= len(ops)-diff && i >= 0; i-- {
				ops[i].change = 1
			}
		case diff < 0 && len(ops) > 0:
			ops[len(ops)-1].change += diff
		}
		_ = first
	}
	rest := n.s[start:]
	state := -1
	for len(rest) > 0 {
		if asciiAlone(rest, 0) {
			c := rest[0]
			if p.asciiHas[c] {
				replace(rest[:1], p.ascii[c])
			} else {
				ops = append(ops, xop{rune(c), 0})
			}
			rest = rest[1:]
			state = -1
			continue
		}
		var g string
		g, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if len(g) < 6 {
			if repl, ok := p.lookup(g); ok {
				replace(g, repl)
				continue
			}
		}
		for i, r := range g {
			part := g[i : i+utf8.RuneLen(r)]
			if repl, ok := p.lookup(part); ok {
				replace(part, repl)
			} else {
				ops = append(ops, xop{r, 0})
			}
		}
	}
	if !modified {
		return n
	}
	return applyOps(n, start, ops)
}

// changes reports whether a lookup would change grapheme g.
func (p *precompiled) changes(g string) bool {
	if len(g) < 6 {
		if _, ok := p.lookup(g); ok {
			return true
		}
	}
	for i, r := range g {
		if _, ok := p.lookup(g[i : i+utf8.RuneLen(r)]); ok {
			return true
		}
	}
	return false
}

// applyOps rebuilds n from a list of operations. The text before byte
// start is kept as it is.
func applyOps(n normalized, start int, ops []xop) normalized {
	e := newEditor(&n)
	e.keepTo(start)
	e.runOps(ops)
	e.pos = len(n.s)
	return e.done()
}

// runOps emits the operations from the current position, aligning each
// character as the reference's transform does: a replacing character takes
// the span of the old character at the current position, an inserted one
// the span of the old byte before it.
func (e *editor) runOps(ops []xop) {
	e.breakShape()
	n := e.old
	for _, op := range ops {
		var sp span
		switch {
		case op.change > 0:
			if e.pos > 0 {
				sp = n.origAt(min(e.pos, len(n.s)) - 1)
			}
		case e.pos < len(n.s):
			sp = n.origAt(e.pos)
		case len(n.s) > 0:
			sp = n.origAt(len(n.s) - 1)
		}
		e.emit(op.r, sp)
		if op.change <= 0 {
			e.skipQuiet(1 - op.change)
		}
	}
}
