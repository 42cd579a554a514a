package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The split patterns of GPT-2 (and every ByteLevel pre-tokenizer with
// use_regex), Llama 3, Qwen 2/3 and GPT-4o (o200k). They are scanned by hand:
// every character can start a match of these patterns, so their matches tile
// the text, and each scanner returns where the match starting at i ends,
// following the regex's alternatives in order with its backtracking.
// fastregex_test.go checks them against the regex engine on the corpus and
// by fuzzing.
const (
	gpt2Pattern   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwenPattern   = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	o200kPattern  = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// tilingPattern is a pattern whose matches tile the text; next returns the
// end of the match that starts at i (i < len(s)).
type tilingPattern struct {
	name string
	next func(s string, i int) int
}

func (p *tilingPattern) findAll(s string, dst []match) []match {
	for i := 0; i < len(s); {
		e := p.next(s, i)
		dst = append(dst, match{i, e})
		i = e
	}
	return dst
}

// fastPattern returns the hand-written scanner for a known pattern, or nil.
func fastPattern(src string) pattern {
	switch src {
	case gpt2Pattern:
		return &tilingPattern{"gpt2", nextGPT2}
	case llama3Pattern:
		return &tilingPattern{"llama3", func(s string, i int) int { return nextLlama3(s, i, 3) }}
	case qwenPattern:
		return &tilingPattern{"qwen", func(s string, i int) int { return nextLlama3(s, i, 1) }}
	case o200kPattern:
		return &tilingPattern{"o200k", nextO200k}
	}
	return nil
}

// Character classes, with the Unicode properties the regex engine uses.
const (
	clsSpace = 1 << iota // \s (White_Space)
	clsL                 // \p{L}
	clsN                 // \p{N}
	clsM                 // \p{M}
	clsUpper             // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
	clsLower             // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
)

var asciiClass = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		t[c] = classOfRune(rune(c))
	}
	return t
}()

func classOfRune(r rune) uint8 {
	var c uint8
	if unicode.IsSpace(r) {
		c |= clsSpace
	}
	if unicode.IsLetter(r) {
		c |= clsL
		if unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo) {
			c |= clsUpper
		}
		if unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo) {
			c |= clsLower
		}
	}
	if unicode.IsNumber(r) {
		c |= clsN
	}
	if unicode.IsMark(r) {
		c |= clsM | clsUpper | clsLower
	}
	return c
}

// classAt returns the class bits and size of the character at s[i].
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	return classOfRune(r), size
}

// isOtherClass is [^\s\p{L}\p{N}].
func isOtherClass(c uint8) bool { return c&(clsSpace|clsL|clsN) == 0 }

// runWhile returns the end of the run of characters from i whose class
// has any bit of want.
func runWhile(s string, i int, want uint8) int {
	for i < len(s) {
		c, size := classAt(s, i)
		if c&want == 0 {
			break
		}
		i += size
	}
	return i
}

// runOther returns the end of the run of [^\s\p{L}\p{N}] from i.
func runOther(s string, i int) int {
	for i < len(s) {
		c, size := classAt(s, i)
		if !isOtherClass(c) {
			break
		}
		i += size
	}
	return i
}

// contraction returns the length of 's|'t|'re|'ve|'m|'ll|'d at s[i:], or
// 0; fold makes it case-insensitive (ASCII).
func contraction(s string, i int, fold bool) int {
	if i+1 >= len(s) || s[i] != '\'' {
		return 0
	}
	lower := func(c byte) byte {
		if fold && 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	switch lower(s[i+1]) {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && lower(s[i+2]) == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && lower(s[i+2]) == 'l' {
			return 3
		}
	}
	return 0
}

// whitespaceTail handles \s*[\r\n]+ (when newlines is set), \s+(?!\S) and
// \s+ at i, where s[i] is whitespace.
func whitespaceTail(s string, i int, newlines bool) int {
	j := runWhile(s, i, clsSpace)
	if newlines {
		// \s*[\r\n]+: up to and including the last newline of the run.
		for k := j - 1; k >= i; k-- {
			if s[k] == '\n' || s[k] == '\r' {
				return k + 1
			}
		}
	}
	if j == len(s) {
		return j
	}
	// \s+(?!\S): give back the last whitespace character if that leaves
	// at least one.
	_, last := utf8.DecodeLastRuneInString(s[i:j])
	if j-last > i {
		return j - last
	}
	return j // \s+
}

func nextGPT2(s string, i int) int {
	if n := contraction(s, i, false); n > 0 {
		return i + n
	}
	c, size := classAt(s, i)
	start := i
	if s[i] == ' ' && i+1 < len(s) {
		c2, _ := classAt(s, i+1)
		if c2&(clsL|clsN) != 0 || isOtherClass(c2) {
			c, size, start = c2, 0, i+1
		}
	}
	_ = size
	switch {
	case c&clsL != 0:
		return runWhile(s, start, clsL)
	case c&clsN != 0:
		return runWhile(s, start, clsN)
	case isOtherClass(c):
		return runOther(s, start)
	}
	return whitespaceTail(s, i, false)
}

func nextLlama3(s string, i int, maxDigits int) int {
	if n := contraction(s, i, true); n > 0 {
		return i + n
	}
	c, size := classAt(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c&(clsL|clsN) == 0 && s[i] != '\r' && s[i] != '\n' && i+size < len(s) {
		if c2, _ := classAt(s, i+size); c2&clsL != 0 {
			return runWhile(s, i+size, clsL)
		}
	}
	if c&clsL != 0 {
		return runWhile(s, i, clsL)
	}
	// \p{N}{1,maxDigits}
	if c&clsN != 0 {
		j := i
		for k := 0; k < maxDigits && j < len(s); k++ {
			cj, sz := classAt(s, j)
			if cj&clsN == 0 {
				break
			}
			j += sz
		}
		return j
	}
	// ?[^\s\p{L}\p{N}]+[\r\n]*
	start := i
	if s[i] == ' ' && i+1 < len(s) {
		if c2, _ := classAt(s, i+1); isOtherClass(c2) {
			start = i + 1
			c = c2
		}
	}
	if isOtherClass(c) {
		j := runOther(s, start)
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	return whitespaceTail(s, i, true)
}

func nextO200k(s string, i int) int {
	c, size := classAt(s, i)
	hasPrefix := c&(clsL|clsN) == 0 && s[i] != '\r' && s[i] != '\n'
	// Alternative 1: P?[Upper]*[Lower]+('s|...)?
	if hasPrefix && i+size < len(s) {
		if e := o200kCased(s, i+size, false); e > 0 {
			return e
		}
	}
	if e := o200kCased(s, i, false); e > 0 {
		return e
	}
	// Alternative 2: P?[Upper]+[Lower]*('s|...)?
	if hasPrefix && i+size < len(s) {
		if e := o200kCased(s, i+size, true); e > 0 {
			return e
		}
	}
	if e := o200kCased(s, i, true); e > 0 {
		return e
	}
	if c&clsN != 0 {
		j := i
		for k := 0; k < 3 && j < len(s); k++ {
			cj, sz := classAt(s, j)
			if cj&clsN == 0 {
				break
			}
			j += sz
		}
		return j
	}
	// ?[^\s\p{L}\p{N}]+[\r\n/]*
	start := i
	if s[i] == ' ' && i+1 < len(s) {
		if c2, _ := classAt(s, i+1); isOtherClass(c2) {
			start = i + 1
			c = c2
		}
	}
	if isOtherClass(c) {
		j := runOther(s, start)
		for j < len(s) && (s[j] == '\r' || s[j] == '\n' || s[j] == '/') {
			j++
		}
		return j
	}
	return whitespaceTail(s, i, true)
}

// o200kCased matches [Upper]*[Lower]+ (or, with upperFirst,
// [Upper]+[Lower]*) at a, then an optional contraction; it returns the end,
// or 0 when there is no match.
func o200kCased(s string, a int, upperFirst bool) int {
	b := runWhile(s, a, clsUpper)
	var k int
	if upperFirst {
		if b == a {
			return 0
		}
		k = b
	} else {
		k = -1
		if b < len(s) {
			if cb, _ := classAt(s, b); cb&clsLower != 0 {
				k = b
			}
		}
		if k < 0 {
			// Give back characters of the upper run until one can start
			// the lower run.
			for j := b; j > a; {
				r, size := utf8.DecodeLastRuneInString(s[a:j])
				j -= size
				if classOfRune(r)&clsLower != 0 {
					k = j
					break
				}
			}
			if k < 0 {
				return 0
			}
		}
	}
	e := runWhile(s, k, clsLower)
	if n := contraction(s, e, true); n > 0 {
		e += n
	}
	return e
}
