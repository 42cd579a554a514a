package tokenizer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// match is a byte range [start, end) found by a pattern.
type match struct{ start, end int }

// A pattern finds non-overlapping matches in a string, left to right.
type pattern interface {
	findAll(s string, dst []match) []match
}

// literalPattern matches a fixed string.
type literalPattern string

func (p literalPattern) findAll(s string, dst []match) []match {
	if p == "" {
		return dst
	}
	off := 0
	for {
		i := strings.Index(s[off:], string(p))
		if i < 0 {
			return dst
		}
		dst = append(dst, match{off + i, off + i + len(p)})
		off += i + len(p)
	}
}

// runePattern matches every single character for which the predicate holds.
type runePattern func(rune) bool

func (p runePattern) findAll(s string, dst []match) []match {
	for i, r := range s {
		if p(r) {
			dst = append(dst, match{i, i + utf8.RuneLen(r)})
		}
	}
	return dst
}

// regexPattern matches a regular expression with the features of the
// Oniguruma engine the reference uses (look-around, Unicode classes),
// through regexp2. Known tokenizer patterns use hand-written scanners
// instead, proven equal to the regex by tests and fuzzing.
type regexPattern struct {
	src string
	re  *regexp2.Regexp
}

// regexTimeout bounds one regex search, so a pathological pattern cannot
// hang the caller.
const regexTimeout = 10 * time.Second

func compileRegex(src string) (pattern, error) {
	if fast := fastPattern(src); fast != nil {
		return fast, nil
	}
	if run := runPatternOf(src); run != nil {
		return run, nil
	}
	re, err := regexp2.Compile(onigWordClass(src), regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("compile regex %q: %w", src, err)
	}
	re.MatchTimeout = regexTimeout
	return &regexPattern{src: src, re: re}, nil
}

// wordClass is Oniguruma's Unicode \w (letters, all marks, decimal and
// letter numbers, connector punctuation, joiners); regexp2's \w leaves out
// spacing and enclosing marks.
const wordClass = `\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\u200C\u200D`

// onigWordClass rewrites \w (and \W outside brackets) to Oniguruma's
// meaning.
func onigWordClass(src string) string {
	if !strings.Contains(src, `\w`) && !strings.Contains(src, `\W`) {
		return src
	}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\\' && i+1 < len(src) {
			switch next := src[i+1]; {
			case next == 'w' && inClass:
				b.WriteString(wordClass)
			case next == 'w':
				b.WriteString("[" + wordClass + "]")
			case next == 'W' && !inClass:
				b.WriteString("[^" + wordClass + "]")
			default:
				b.WriteByte(c)
				b.WriteByte(next)
			}
			i++
			continue
		}
		switch {
		case c == '[' && !inClass:
			inClass = true
			// A ] right after [ or [^ is a literal.
			b.WriteByte(c)
			if i+1 < len(src) && src[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(src) && src[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case c == ']' && inClass:
			inClass = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (p *regexPattern) findAll(s string, dst []match) []match {
	if s == "" {
		return dst
	}
	runes := []rune(s)
	// Byte offset of each rune index, to turn regexp2's rune positions
	// into byte positions.
	byteAt := make([]int, len(runes)+1)
	b := 0
	for i, r := range runes {
		byteAt[i] = b
		b += utf8.RuneLen(r)
	}
	byteAt[len(runes)] = b
	m, err := p.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		st := m.Index
		dst = append(dst, match{byteAt[st], byteAt[st+m.Length]})
		m, err = p.re.FindNextMatch(m)
	}
	return dst
}

// runPattern matches runs of at least min characters that satisfy pred:
// the regexes "c{n,}", "c+" and "\s+" that Replace normalizers use to
// squeeze spaces.
type runPattern struct {
	pred func(rune) bool
	min  int
}

// runPatternOf recognizes a run regex, or returns nil.
func runPatternOf(src string) *runPattern {
	if src == `\s+` {
		return &runPattern{pred: unicode.IsSpace, min: 1}
	}
	r, size := utf8.DecodeRuneInString(src)
	if r == utf8.RuneError || r == '\\' || strings.ContainsRune(`.^$|?*+()[]{}`, r) {
		return nil
	}
	rest := src[size:]
	n := 0
	switch {
	case rest == "+":
		n = 1
	case strings.HasPrefix(rest, "{") && strings.HasSuffix(rest, ",}"):
		v, err := strconv.Atoi(rest[1 : len(rest)-2])
		if err != nil || v < 1 {
			return nil
		}
		n = v
	default:
		return nil
	}
	return &runPattern{pred: func(c rune) bool { return c == r }, min: n}
}

func (p *runPattern) findAll(s string, dst []match) []match {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !p.pred(r) {
			i += size
			continue
		}
		j, count := i, 0
		for j < len(s) {
			r2, sz := utf8.DecodeRuneInString(s[j:])
			if !p.pred(r2) {
				break
			}
			j += sz
			count++
		}
		if count >= p.min {
			dst = append(dst, match{i, j})
		}
		i = j
	}
	return dst
}
