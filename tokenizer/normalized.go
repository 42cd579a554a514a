package tokenizer

import (
	"unicode/utf8"
)

// span is a byte range [start, end) of the original input.
type span struct{ start, end int32 }

// normalized is text on its way through the pipeline: the normalized bytes,
// and for each of them the span of the original character it came from.
//
// While nothing has changed the text, align is nil and the text is the
// original input from byte base on; each byte then maps to its own
// character's span. This keeps the common case (no normalizer, or one that
// finds nothing to change) free of per-byte bookkeeping.
type normalized struct {
	s     string
	align []span // nil: identity over the original, starting at base
	base  int
	// sc, when set, provides buffers that live until the encode call ends.
	sc *scratch
}

// origAt returns the original span of the character holding byte i of n.s.
func (n *normalized) origAt(i int) span {
	if n.align != nil {
		return n.align[i]
	}
	st := i
	for st > 0 && !utf8.RuneStart(n.s[st]) {
		st--
	}
	_, size := utf8.DecodeRuneInString(n.s[st:])
	return span{int32(n.base + st), int32(n.base + st + size)}
}

// origAtFast is origAt for callers walking every byte in order from a
// character boundary: with the identity alignment it avoids rescanning.
func (n *normalized) origAtFast(i int) span {
	if n.align != nil {
		return n.align[i]
	}
	return n.origAt(i)
}

// original maps the normalized byte range [a, b) to the original input. An
// empty range maps to itself, shifted, as the reference implementation does.
func (n *normalized) original(a, b int) (int, int) {
	if a >= b {
		if n.align == nil {
			return n.base + a, n.base + b
		}
		if a < len(n.align) {
			return int(n.align[a].start), int(n.align[a].start)
		}
		if len(n.align) > 0 {
			e := int(n.align[len(n.align)-1].end)
			return e, e
		}
		return n.base, n.base
	}
	if n.align != nil {
		return int(n.align[a].start), int(n.align[b-1].end)
	}
	return int(n.origAt(a).start), int(n.origAt(b - 1).end)
}

// slice returns the part [a, b) of n; a and b fall on character boundaries.
func (n *normalized) slice(a, b int) normalized {
	if n.align == nil {
		return normalized{s: n.s[a:b], base: n.base + a, sc: n.sc}
	}
	return normalized{s: n.s[a:b], align: n.align[a:b], sc: n.sc}
}

// materialize gives n an explicit alignment (needed before edits that
// insert bytes).
func (n *normalized) materialize() {
	if n.align != nil {
		return
	}
	al := make([]span, len(n.s))
	for i := 0; i < len(n.s); {
		_, size := utf8.DecodeRuneInString(n.s[i:])
		sp := span{int32(n.base + i), int32(n.base + i + size)}
		for k := 0; k < size; k++ {
			al[i+k] = sp
		}
		i += size
	}
	n.align = al
}

// editor rebuilds a normalized text character by character, tracking where
// each new character comes from, with the semantics of the reference
// implementation: a character that replaces an old one takes that one's
// span; an inserted character takes the span of the old byte just before
// the current position.
//
// While every edit keeps the text's shape (each character replaced by one
// of the same byte length, as lowercasing ASCII does) and the old text had
// no explicit alignment, the result keeps the identity alignment and no
// spans are recorded.
type editor struct {
	old     *normalized
	pos     int // byte position in old.s
	out     []byte
	align   []span
	aligned bool // whether align is being kept
}

func newEditor(old *normalized) *editor {
	e := &editor{old: old, aligned: old.align != nil}
	if sc := old.sc; sc != nil {
		e.out, e.align = sc.editOut[:0], sc.editAlign[:0]
	} else {
		e.out = make([]byte, 0, len(old.s)+8)
	}
	return e
}

// breakShape starts recording spans, filling them in for what was written
// so far (which maps byte for byte onto the old text).
func (e *editor) breakShape() {
	if e.aligned {
		return
	}
	e.aligned = true
	for i := range e.out {
		e.align = append(e.align, e.old.origAt(i))
	}
}

func (e *editor) emit(r rune, sp span) {
	n := len(e.out)
	e.out = utf8.AppendRune(e.out, r)
	if e.aligned {
		for i := n; i < len(e.out); i++ {
			e.align = append(e.align, sp)
		}
	}
}

// replace emits r in place of the old character at the current position,
// then drops the next `remove` old characters.
func (e *editor) replace(r rune, remove int) {
	_, size := utf8.DecodeRuneInString(e.old.s[e.pos:])
	if remove > 0 || utf8.RuneLen(r) != size {
		e.breakShape()
	}
	var sp span
	if e.aligned {
		sp = e.old.origAt(e.pos)
	}
	e.emit(r, sp)
	e.pos += size
	e.skipQuiet(remove)
}

// emitFrom emits r with the span of the old character at byte position
// at, without moving.
func (e *editor) emitFrom(r rune, at int) {
	e.breakShape()
	e.emit(r, e.old.origAt(at))
}

// keep copies the old character at the current position unchanged.
func (e *editor) keep() {
	_, size := utf8.DecodeRuneInString(e.old.s[e.pos:])
	e.out = append(e.out, e.old.s[e.pos:e.pos+size]...)
	if e.aligned {
		sp := e.old.origAt(e.pos)
		for k := 0; k < size; k++ {
			e.align = append(e.align, sp)
		}
	}
	e.pos += size
}

// keepASCII copies the old ASCII byte at the current position.
func (e *editor) keepASCII() {
	e.out = append(e.out, e.old.s[e.pos])
	if e.aligned {
		e.align = append(e.align, e.old.origAt(e.pos))
	}
	e.pos++
}

// keepTo copies old bytes up to position end (a character boundary)
// unchanged.
func (e *editor) keepTo(end int) {
	if e.pos >= end {
		return
	}
	start := e.pos
	e.out = append(e.out, e.old.s[start:end]...)
	e.pos = end
	if !e.aligned {
		return
	}
	if e.old.align != nil {
		e.align = append(e.align, e.old.align[start:end]...)
		return
	}
	base := int32(e.old.base)
	for i := start; i < end; {
		size := runeLen(e.old.s, i)
		sp := span{base + int32(i), base + int32(i+size)}
		for k := 0; k < size; k++ {
			e.align = append(e.align, sp)
		}
		i += size
	}
}

// insert emits r as a new character.
func (e *editor) insert(r rune) {
	e.breakShape()
	var sp span
	if e.pos > 0 {
		sp = e.old.origAt(e.pos - 1)
	}
	e.emit(r, sp)
}

// skip drops k old characters.
func (e *editor) skip(k int) {
	if k > 0 {
		e.breakShape()
	}
	e.skipQuiet(k)
}

func (e *editor) skipQuiet(k int) {
	for ; k > 0 && e.pos < len(e.old.s); k-- {
		_, size := utf8.DecodeRuneInString(e.old.s[e.pos:])
		e.pos += size
	}
}

// done returns the rebuilt text; the rest of the old text, if any, is kept.
func (e *editor) done() normalized {
	e.keepTo(len(e.old.s))
	sc := e.old.sc
	res := normalized{sc: sc}
	if sc == nil {
		res.s = string(e.out)
		if e.aligned {
			res.align = e.align
		}
	} else {
		res.s = sc.arenaString(e.out)
		if e.aligned {
			res.align = sc.arenaSpans(e.align)
		}
		sc.editOut, sc.editAlign = e.out[:0], e.align[:0]
	}
	if !e.aligned {
		res.base = e.old.base
	}
	return res
}

// prepend adds s before the text, aligned with its first character, as the
// reference implementation's prepend does. An empty text stays empty.
func (n *normalized) prepend(s string) {
	if n.s == "" || s == "" {
		return
	}
	first := n.origAt(0)
	if n.sc != nil {
		// Build the new alignment and text in the arena.
		sc := n.sc
		al := sc.editAlign[:0]
		for range len(s) {
			al = append(al, first)
		}
		for i := 0; i < len(n.s); i++ {
			al = append(al, n.origAtFast(i))
		}
		buf := append(append(sc.editOut[:0], s...), n.s...)
		n.align = sc.arenaSpans(al)
		n.s = sc.arenaString(buf)
		sc.editAlign, sc.editOut = al[:0], buf[:0]
		return
	}
	n.materialize()
	al := make([]span, len(s), len(s)+len(n.align))
	for i := range al {
		al[i] = first
	}
	n.align = append(al, n.align...)
	n.s = s + n.s
}

// appendText adds s after the text, aligned with its last character.
func (n *normalized) appendText(s string) {
	if n.s == "" || s == "" {
		return
	}
	last := n.origAt(len(n.s) - 1)
	n.materialize()
	al := make([]span, len(n.align), len(n.align)+len(s))
	copy(al, n.align)
	for range len(s) {
		al = append(al, last)
	}
	n.align = al
	n.s += s
}
