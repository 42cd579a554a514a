package constrain

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Limits that keep a constrained output finite in size per position, so
// that a model cannot spin forever inside one token position's choices.
const (
	maxWhitespace   = 32 // consecutive whitespace bytes between tokens of JSON
	maxNumberLength = 32 // bytes in one number
	maxDepth        = 64 // nested objects and arrays
	maxAlternatives = 64 // ways the output so far can still be read
)

// frameKind says what a stack frame is matching.
type frameKind uint8

const (
	frameRoot    frameKind = iota // the bottom: before or after the value
	frameValue                    // before a value: whitespace, then its first byte
	frameLiteral                  // one of a set of exact encodings
	frameString                   // inside a string, after its opening quote
	frameNumber                   // inside a number
	frameObject                   // inside an object
	frameArray                    // inside an array
)

// Root states.
const (
	rootBefore uint8 = iota // before the value
	rootDone                // after it: nothing may follow
)

// Object states.
const (
	objectOpen       uint8 = iota // after '{'
	objectAfterKey                // after a key, before ':'
	objectInValue                 // the value is on the stack above
	objectAfterValue              // after a value, before ',' or '}'
	objectAfterComma              // before the next key
)

// Array states.
const (
	arrayOpen       uint8 = iota // after '['
	arrayInValue                 // an item is on the stack above
	arrayAfterValue              // after an item, before ',' or ']'
)

// String states.
const (
	stringPlain  uint8 = iota
	stringEscape       // after a backslash
	stringHex          // in \uXXXX; utf8Need says how many hex digits are left
)

// Number states.
const (
	numberMinus     uint8 = iota // after '-'
	numberZero                   // a leading 0
	numberInt                    // integer digits
	numberDot                    // after '.'
	numberFraction               // fraction digits
	numberExp                    // after 'e'
	numberExpSign                // after the exponent's sign
	numberExpDigits              // exponent digits
)

// frame is one level of the matcher's stack. Frames are values and
// stacks are persistent, so trying a byte never disturbs the state it was
// tried on.
type frame struct {
	kind  frameKind
	state uint8
	n     *node
	count int // string characters, array items or number bytes
	ws    int // whitespace bytes in a row

	// literal frames
	literals []string
	pos      int
	// isKey marks a string or literal frame that is an object's key.
	isKey bool

	// string frames: raw bytes of a free key, and the UTF-8 continuation
	// bytes still expected with the range the next one must fall in; for
	// strings with a pattern, where the pattern stands, the bytes of the
	// character being read and the value of a \u escape.
	key            string
	utf8Need       uint8
	utf8Lo, utf8Hi byte
	re             *regexState
	rbuf           [4]byte
	rn             uint8
	hexv           rune

	// object frames
	seen  []bool // properties present, by index
	value *node  // schema of the current key's value

	// number frames of bounded numbers: the number written so far.
	text string
}

type stack struct {
	f     frame
	up    *stack
	depth int
}

func (s *stack) push(f frame) *stack { return &stack{f: f, up: s, depth: s.depth + 1} }

// with replaces the top frame.
func (s *stack) with(f frame) *stack { return &stack{f: f, up: s.up, depth: s.depth} }

// Matcher follows one output through a grammar byte by byte. It is not
// safe for concurrent use.
type Matcher struct {
	alts []*stack // every reading of the output so far that can go on
}

// NewMatcher starts matching an output from its first byte.
func (g *Grammar) NewMatcher() *Matcher {
	root := &stack{f: frame{kind: frameRoot}}
	return &Matcher{alts: []*stack{root.push(frame{kind: frameValue, n: g.root})}}
}

// Accepts reports whether b may come next.
func (m *Matcher) Accepts(b []byte) bool {
	return len(advance(m.alts, b)) > 0
}

// Advance moves past b, or returns an error and stays put when b may not
// come next.
func (m *Matcher) Advance(b []byte) error {
	next := advance(m.alts, b)
	if len(next) == 0 {
		return fmt.Errorf("constrain: %q does not continue the output", b)
	}
	m.alts = next
	return nil
}

// CanEnd reports whether the output so far is a whole value matching the
// grammar.
func (m *Matcher) CanEnd() bool {
	for _, s := range m.alts {
		if canEnd(s) {
			return true
		}
	}
	return false
}

// Finished reports whether the output is a whole value that nothing may
// follow.
func (m *Matcher) Finished() bool {
	for _, s := range m.alts {
		if s.f.kind != frameRoot {
			return false
		}
	}
	return true
}

func advance(alts []*stack, b []byte) []*stack {
	for _, c := range b {
		if alts = advanceByte(alts, c); alts == nil {
			return nil
		}
	}
	return alts
}

// advanceByte returns the readings of the output after c; nil when c
// ends them all.
func advanceByte(alts []*stack, c byte) []*stack {
	var next []*stack
	for _, s := range alts {
		next = step(s, c, next)
	}
	if len(next) > maxAlternatives {
		next = next[:maxAlternatives]
	}
	return next
}

// canEnd reports whether s could stop here: at the root after the value,
// or in a number or literal whose value is complete and ends the output.
func canEnd(s *stack) bool {
	switch s.f.kind {
	case frameRoot:
		return s.f.state == rootDone
	case frameNumber:
		if numberEnds(s.f) {
			if p := valueDone(s.up); p != nil {
				return canEnd(p)
			}
		}
	case frameLiteral:
		for _, l := range s.f.literals {
			if len(l) == s.f.pos {
				if p := valueDone(s.up); p != nil {
					return canEnd(p)
				}
			}
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// step appends to out every stack that s becomes after byte c.
func step(s *stack, c byte, out []*stack) []*stack {
	f := s.f
	switch f.kind {
	case frameRoot:
		return out // nothing follows the value
	case frameValue:
		return stepValue(s, c, out)
	case frameLiteral:
		return stepLiteral(s, c, out)
	case frameString:
		return stepString(s, c, out)
	case frameNumber:
		return stepNumber(s, c, out)
	case frameObject:
		return stepObject(s, c, out)
	case frameArray:
		return stepArray(s, c, out)
	}
	return out
}

// valueDone returns the stack below a finished value, told so; nil when it
// cannot take one.
func valueDone(s *stack) *stack {
	f := s.f
	switch f.kind {
	case frameRoot:
		f.state = rootDone
	case frameObject:
		f.state, f.ws = objectAfterValue, 0
	case frameArray:
		f.state, f.ws = arrayAfterValue, 0
		f.count++
	default:
		return nil
	}
	return s.with(f)
}

// alternativesOf flattens anyOf and oneOf nodes into the plain ones.
func alternativesOf(n *node, out []*node) []*node {
	if len(n.alternatives) == 0 {
		return append(out, n)
	}
	for _, a := range n.alternatives {
		out = alternativesOf(a, out)
	}
	return out
}

// space takes c when it is whitespace, up to maxWhitespace bytes in a row
// (before a value, or between the parts of an object or array), and
// reports whether it was.
func space(s *stack, c byte, out []*stack) ([]*stack, bool) {
	if !isSpace(c) {
		return out, false
	}
	if f := s.f; f.ws < maxWhitespace {
		f.ws++
		out = append(out, s.with(f))
	}
	return out, true
}

func stepValue(s *stack, c byte, out []*stack) []*stack {
	if out, ok := space(s, c, out); ok {
		return out
	}
	f := s.f
	for _, n := range alternativesOf(f.n, nil) {
		if n.literals != nil {
			var lits []string
			for _, l := range n.literals {
				if l[0] == c {
					lits = append(lits, l)
				}
			}
			if lits != nil {
				out = append(out, literalStarted(s.up, frame{kind: frameLiteral, n: n, literals: lits, pos: 1}))
			}
			continue
		}
		switch {
		case c == '{' && n.types&kindObject != 0 && s.depth < maxDepth:
			out = append(out, s.with(frame{kind: frameObject, n: n, state: objectOpen, seen: make([]bool, len(n.properties))}))
		case c == '[' && n.types&kindArray != 0 && s.depth < maxDepth:
			out = append(out, s.with(frame{kind: frameArray, n: n, state: arrayOpen}))
		case c == '"' && n.types&kindString != 0:
			out = append(out, s.with(frame{kind: frameString, n: n}))
		case (c == '-' || c >= '0' && c <= '9') && n.types&(kindNumber|kindInteger) != 0:
			f := frame{kind: frameNumber, n: n, state: numberMinus, count: 1}
			switch {
			case c == '0':
				f.state = numberZero
			case c != '-':
				f.state = numberInt
			}
			if n.bounded() {
				f.text = string(c)
			}
			if numberViable(f) {
				out = append(out, s.with(f))
			}
		case c == 't' && n.types&kindBoolean != 0:
			out = append(out, s.with(frame{kind: frameLiteral, n: n, literals: []string{"true"}, pos: 1}))
		case c == 'f' && n.types&kindBoolean != 0:
			out = append(out, s.with(frame{kind: frameLiteral, n: n, literals: []string{"false"}, pos: 1}))
		case c == 'n' && n.types&kindNull != 0:
			out = append(out, s.with(frame{kind: frameLiteral, n: n, literals: []string{"null"}, pos: 1}))
		}
	}
	return out
}

// literalStarted pushes a literal frame above below, finishing it at once
// when a one-byte literal is already complete.
func literalStarted(below *stack, f frame) *stack {
	if len(f.literals) == 1 && len(f.literals[0]) == f.pos {
		return valueDone(below)
	}
	return below.push(f)
}

func stepLiteral(s *stack, c byte, out []*stack) []*stack {
	f := s.f
	var next []string
	complete := ""
	for _, l := range f.literals {
		switch {
		case len(l) == f.pos:
			complete = l
		case l[f.pos] == c:
			next = append(next, l)
		}
	}
	if next != nil {
		g := f
		g.literals, g.pos = next, f.pos+1
		if allComplete(next, g.pos) {
			if t := literalDone(s.up, g, next[0]); t != nil {
				out = append(out, t)
			}
		} else {
			out = append(out, s.with(g))
		}
	}
	// A complete literal that c does not extend (1 among 1 and 10) ends
	// here, and c belongs to what follows it.
	if complete != "" {
		if t := literalDone(s.up, f, complete); t != nil {
			out = step(t, c, out)
		}
	}
	return out
}

func allComplete(lits []string, pos int) bool {
	for _, l := range lits {
		if len(l) != pos {
			return false
		}
	}
	return true
}

// literalDone finishes a literal: a key tells its object which property
// comes next; a value tells its parent it is done.
func literalDone(below *stack, f frame, lit string) *stack {
	if !f.isKey {
		return valueDone(below)
	}
	o := below.f
	for i, p := range o.n.properties {
		if p.key == lit {
			o.seen = append([]bool(nil), o.seen...)
			o.seen[i] = true
			o.value = p.schema
			break
		}
	}
	o.state, o.ws = objectAfterKey, 0
	return below.with(o)
}

func stepString(s *stack, c byte, out []*stack) []*stack {
	f := s.f
	switch f.state {
	case stringEscape:
		r, simple := escapes[c]
		switch {
		case simple:
			f.state = stringPlain
			if !f.feedRune(r) {
				return out
			}
		case c == 'u':
			f.state, f.utf8Need, f.hexv = stringHex, 4, 0
		default:
			return out
		}
		return appendString(s, f, c, out)
	case stringHex:
		v, ok := hexValue(c)
		if !ok {
			return out
		}
		f.hexv = f.hexv<<4 | rune(v)
		if f.utf8Need--; f.utf8Need == 0 {
			f.state = stringPlain
			// A pattern reads whole characters: it takes no surrogate halves.
			if f.n.pattern != nil && f.hexv >= 0xD800 && f.hexv <= 0xDFFF || !f.feedRune(f.hexv) {
				return out
			}
		} else if f.n.pattern != nil {
			// The character this escape can still become must fit.
			shift := 4 * uint(f.utf8Need)
			lo := f.hexv << shift
			if !f.n.pattern.acceptsRange(f.re, lo, lo|(1<<shift-1)) {
				return out
			}
		}
		return appendString(s, f, c, out)
	}
	if f.utf8Need > 0 {
		if c < f.utf8Lo || c > f.utf8Hi {
			return out
		}
		f.utf8Need--
		f.utf8Lo, f.utf8Hi = 0x80, 0xBF
		if f.n.pattern != nil {
			f.rbuf[f.rn], f.rn = c, f.rn+1
			if f.utf8Need == 0 {
				r, _ := utf8.DecodeRune(f.rbuf[:f.rn])
				if f.rn = 0; !f.feedRune(r) {
					return out
				}
			} else if !f.partialRuneFits() {
				return out
			}
		}
		return appendString(s, f, c, out)
	}
	switch {
	case c == '"':
		if f.count < f.n.minLength || f.n.pattern != nil && !f.n.pattern.matched(f.re) {
			return out
		}
		if f.isKey {
			if t := keyDone(s.up, f.key); t != nil {
				out = append(out, t)
			}
			return out
		}
		if t := valueDone(s.up); t != nil {
			out = append(out, t)
		}
		return out
	case c < 0x20:
		return out // control characters must be escaped
	case c >= 0x80:
		if !startUTF8(&f, c) {
			return out
		}
		f.rbuf[0], f.rn = c, 1
		if f.n.pattern != nil && !f.partialRuneFits() {
			return out
		}
	case c == '\\':
		// Escapes stand for characters up to U+FFFF: one of them must fit.
		if f.n.pattern != nil && !f.n.pattern.acceptsRange(f.re, 0, 0xFFFF) {
			return out
		}
		f.state = stringEscape
	default:
		if !f.feedRune(rune(c)) {
			return out
		}
	}
	// A new character: escapes and multi-byte characters count once, at
	// their first byte.
	if f.n.maxLength >= 0 && f.count >= f.n.maxLength {
		return out
	}
	f.count++
	return appendString(s, f, c, out)
}

// escapes are JSON's one-character escapes and the characters they stand
// for.
var escapes = map[byte]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// partialRuneFits reports whether some character that the bytes read so
// far (f.rbuf[:f.rn], utf8Need more to come) can become fits the
// string's pattern.
func (f *frame) partialRuneFits() bool {
	var lo, hi [4]byte
	n := copy(lo[:], f.rbuf[:f.rn])
	copy(hi[:], f.rbuf[:f.rn])
	for i := range int(f.utf8Need) {
		lo[n+i], hi[n+i] = 0x80, 0xBF
		if i == 0 {
			lo[n], hi[n] = f.utf8Lo, f.utf8Hi
		}
	}
	size := n + int(f.utf8Need)
	rlo, _ := utf8.DecodeRune(lo[:size])
	rhi, _ := utf8.DecodeRune(hi[:size])
	return f.n.pattern.acceptsRange(f.re, rlo, rhi)
}

// feedRune takes a whole character of a string into its pattern, if it
// has one, and reports whether a match can still follow.
func (f *frame) feedRune(r rune) bool {
	p := f.n.pattern
	if p == nil {
		return true
	}
	if f.re == nil {
		f.re = p.start()
	}
	f.re = p.step(f.re, r)
	return f.re != nil
}

// startUTF8 reads the lead byte of a multi-byte character, setting the
// range its next byte must fall in (no overlong forms, no surrogates).
func startUTF8(f *frame, c byte) bool {
	f.utf8Lo, f.utf8Hi = 0x80, 0xBF
	switch {
	case c >= 0xC2 && c <= 0xDF:
		f.utf8Need = 1
	case c >= 0xE0 && c <= 0xEF:
		f.utf8Need = 2
		if c == 0xE0 {
			f.utf8Lo = 0xA0
		} else if c == 0xED {
			f.utf8Hi = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		f.utf8Need = 3
		if c == 0xF0 {
			f.utf8Lo = 0x90
		} else if c == 0xF4 {
			f.utf8Hi = 0x8F
		}
	default:
		return false
	}
	return true
}

func appendString(s *stack, f frame, c byte, out []*stack) []*stack {
	if f.isKey {
		f.key += string(c)
	}
	return append(out, s.with(f))
}

// keyDone finishes a free key (an object admitting keys beyond its
// properties): a named property's schema applies, else the additional
// one.
func keyDone(below *stack, raw string) *stack {
	o := below.f
	var name string
	if err := json.Unmarshal([]byte(`"`+raw+`"`), &name); err != nil {
		return nil
	}
	o.value = o.n.additional
	for i, p := range o.n.properties {
		if p.name == name {
			o.seen = append([]bool(nil), o.seen...)
			o.seen[i] = true
			o.value = p.schema
			break
		}
	}
	if o.value == nil {
		return nil
	}
	o.state, o.ws = objectAfterKey, 0
	return below.with(o)
}

func numberComplete(state uint8) bool {
	return state == numberZero || state == numberInt || state == numberFraction || state == numberExpDigits
}

// numberEnds reports whether the number in f may end here: it is complete
// and within its bounds.
func numberEnds(f frame) bool {
	switch {
	case !numberComplete(f.state):
		return false
	case f.n.bounds != nil:
		return f.n.bounds.contains(f.text)
	case f.n.decBounds != nil:
		return f.n.decBounds.contains(f.text)
	}
	return true
}

// numberViable reports whether the number in f can still end within its
// bounds.
func numberViable(f frame) bool {
	switch {
	case f.n.bounds != nil:
		return f.n.bounds.viable(f.text)
	case f.n.decBounds != nil:
		return f.n.decBounds.viable(f.text, maxNumberLength-f.count)
	}
	return true
}

func stepNumber(s *stack, c byte, out []*stack) []*stack {
	f := s.f
	digit := c >= '0' && c <= '9'
	integer := f.n.types&kindNumber == 0
	next, ok := uint8(0), false
	switch f.state {
	case numberMinus:
		next, ok = numberInt, digit
		if c == '0' {
			next = numberZero
		}
	case numberZero, numberInt:
		switch {
		case digit && f.state == numberInt:
			next, ok = numberInt, true
		case c == '.' && !integer:
			next, ok = numberDot, true
		case (c == 'e' || c == 'E') && !integer:
			next, ok = numberExp, true
		}
	case numberDot:
		next, ok = numberFraction, digit
	case numberFraction:
		switch {
		case digit:
			next, ok = numberFraction, true
		case c == 'e' || c == 'E':
			next, ok = numberExp, true
		}
	case numberExp:
		switch {
		case c == '+' || c == '-':
			next, ok = numberExpSign, true
		case digit:
			next, ok = numberExpDigits, true
		}
	case numberExpSign, numberExpDigits:
		next, ok = numberExpDigits, digit
	}
	if ok && f.n.decBounds != nil && (c == 'e' || c == 'E') {
		ok = false // bounded decimals are written without an exponent
	}
	if ok && f.count < maxNumberLength {
		f.state = next
		f.count++
		if f.n.bounded() {
			f.text += string(c)
		}
		if !numberViable(f) {
			return out
		}
		return append(out, s.with(f))
	}
	if ok || !numberEnds(f) {
		return out
	}
	// The number ended before c, which belongs to what follows it.
	if t := valueDone(s.up); t != nil {
		out = step(t, c, out)
	}
	return out
}

func stepObject(s *stack, c byte, out []*stack) []*stack {
	if out, ok := space(s, c, out); ok {
		return out
	}
	f := s.f
	n := f.n
	switch f.state {
	case objectOpen, objectAfterComma:
		if c == '}' && f.state == objectOpen && requiredSeen(f) {
			return closed(s, out)
		}
		if c != '"' {
			return out
		}
		f.ws = 0
		if n.additional != nil {
			return append(out, s.with(f).push(frame{kind: frameString, n: anyString, isKey: true}))
		}
		var keys []string
		for i, p := range n.properties {
			if !f.seen[i] {
				keys = append(keys, p.key)
			}
		}
		if keys == nil {
			return out
		}
		return append(out, s.with(f).push(frame{kind: frameLiteral, literals: keys, pos: 1, isKey: true}))
	case objectAfterKey:
		if c != ':' {
			return out
		}
		f.state = objectInValue
		return append(out, s.with(f).push(frame{kind: frameValue, n: f.value}))
	case objectAfterValue:
		switch {
		case c == ',' && (n.additional != nil || !allSeen(f)):
			f.state, f.ws = objectAfterComma, 0
			return append(out, s.with(f))
		case c == '}' && requiredSeen(f):
			return closed(s, out)
		}
	}
	return out
}

// anyString is the schema of a free key.
var anyString = &node{types: kindString, maxLength: -1}

func requiredSeen(f frame) bool {
	for i, p := range f.n.properties {
		if p.required && !f.seen[i] {
			return false
		}
	}
	return true
}

func allSeen(f frame) bool {
	for _, seen := range f.seen {
		if !seen {
			return false
		}
	}
	return true
}

// closed pops a finished object or array.
func closed(s *stack, out []*stack) []*stack {
	if t := valueDone(s.up); t != nil {
		out = append(out, t)
	}
	return out
}

func stepArray(s *stack, c byte, out []*stack) []*stack {
	if out, ok := space(s, c, out); ok {
		return out
	}
	f := s.f
	n := f.n
	room := n.maxItems < 0 || f.count < n.maxItems
	switch f.state {
	case arrayOpen:
		if c == ']' {
			if n.minItems == 0 {
				return closed(s, out)
			}
			return out
		}
		if !room {
			return out
		}
		f.state = arrayInValue
		return step(s.with(f).push(frame{kind: frameValue, n: n.items}), c, out)
	case arrayAfterValue:
		switch {
		case c == ',' && room:
			f.state = arrayInValue
			return append(out, s.with(f).push(frame{kind: frameValue, n: n.items}))
		case c == ']' && f.count >= n.minItems:
			return closed(s, out)
		}
	}
	return out
}
