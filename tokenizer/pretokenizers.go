package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// piece is one part of the text between pre-tokenization and the model.
type piece struct {
	normalized
	// byteLevel marks text the model reads as bytes mapped through the
	// byte-level alphabet (a ByteLevel pre-tokenizer ran); the mapping is
	// applied by the model, never materialized.
	byteLevel bool
	// token is an added token's id when the piece is that token, else -1.
	token int32
}

// A preTokenizer splits pieces into smaller ones, appending them to dst.
type preTokenizer interface {
	preTokenize(sc *scratch, in []piece, dst []piece) []piece
}

// splitBehavior says what becomes of the delimiters when splitting.
type splitBehavior int

const (
	splitRemoved splitBehavior = iota
	splitIsolated
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

// splitPiece splits p around the matches of a pattern and appends the
// non-empty parts to dst.
func splitPiece(sc *scratch, p piece, pat pattern, behavior splitBehavior, invert bool, dst []piece) []piece {
	if p.token >= 0 || p.s == "" {
		if p.s != "" {
			dst = append(dst, p)
		}
		return dst
	}
	sc.matches = pat.findAll(p.s, sc.matches[:0])
	// Spans covering the text, alternating between non-matches and
	// matches (empty non-matches left out).
	sc.spans = sc.spans[:0]
	prev := 0
	for _, m := range sc.matches {
		if prev != m.start {
			sc.spans = append(sc.spans, markedSpan{prev, m.start, invert})
		}
		sc.spans = append(sc.spans, markedSpan{m.start, m.end, !invert})
		prev = m.end
	}
	if prev != len(p.s) {
		sc.spans = append(sc.spans, markedSpan{prev, len(p.s), invert})
	}
	spans := applyBehavior(sc.spans, behavior)
	for _, sp := range spans {
		if sp.isMatch && behavior == splitRemoved || sp.start == sp.end {
			continue
		}
		q := p
		q.normalized = p.slice(sp.start, sp.end)
		dst = append(dst, q)
	}
	return dst
}

// markedSpan is a part of a text and whether it matched the pattern.
type markedSpan struct {
	start, end int
	isMatch    bool
}

// applyBehavior merges delimiters into their neighbours as the behavior
// says. For splitRemoved the matches are still marked, to be dropped.
func applyBehavior(spans []markedSpan, behavior splitBehavior) []markedSpan {
	switch behavior {
	case splitRemoved:
		return spans
	case splitIsolated:
		for i := range spans {
			spans[i].isMatch = false
		}
		return spans
	case splitContiguous:
		out := spans[:0]
		prevMatch := false
		for i, sp := range spans {
			if i > 0 && sp.isMatch == prevMatch {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, markedSpan{sp.start, sp.end, false})
			}
			prevMatch = sp.isMatch
		}
		return out
	case splitMergedWithPrevious:
		out := spans[:0]
		prevMatch := false
		for _, sp := range spans {
			if sp.isMatch && !prevMatch && len(out) > 0 {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, markedSpan{sp.start, sp.end, false})
			}
			prevMatch = sp.isMatch
		}
		return out
	case splitMergedWithNext:
		// Walk backwards: a match joins the part after it.
		n := len(spans)
		w := n
		prevMatch := false
		for i := n - 1; i >= 0; i-- {
			sp := spans[i]
			if sp.isMatch && !prevMatch && w < n {
				spans[w].start = sp.start
			} else {
				w--
				spans[w] = markedSpan{sp.start, sp.end, false}
			}
			prevMatch = sp.isMatch
		}
		return spans[w:]
	}
	return spans
}

// splitPreTokenizer splits on a string or regex pattern.
type splitPreTokenizer struct {
	pattern  pattern
	behavior splitBehavior
	invert   bool
}

func (s *splitPreTokenizer) preTokenize(sc *scratch, in, dst []piece) []piece {
	for _, p := range in {
		dst = splitPiece(sc, p, s.pattern, s.behavior, s.invert, dst)
	}
	return dst
}

// runeSplitter splits on single characters chosen by a predicate.
type runeSplitter struct {
	pred     func(rune) bool
	behavior splitBehavior
}

func (s *runeSplitter) preTokenize(sc *scratch, in, dst []piece) []piece {
	for _, p := range in {
		dst = splitPiece(sc, p, runePattern(s.pred), s.behavior, false, dst)
	}
	return dst
}

// preTokenizerSeq applies pre-tokenizers in order.
type preTokenizerSeq []preTokenizer

func (s preTokenizerSeq) preTokenize(sc *scratch, in, dst []piece) []piece {
	if len(s) == 0 {
		return append(dst, in...)
	}
	cur := in
	for i, p := range s {
		if i == len(s)-1 {
			return p.preTokenize(sc, cur, dst)
		}
		k, buf := sc.takePieces()
		buf = p.preTokenize(sc, cur, buf)
		sc.putPieces(k, buf)
		cur = buf
	}
	return dst
}

// bertPreTokenizer splits on whitespace and isolates punctuation.
type bertPreTokenizer struct{}

func (bertPreTokenizer) preTokenize(sc *scratch, in, dst []piece) []piece {
	emit := func(p *piece, a, b int) {
		q := *p
		q.normalized = p.slice(a, b)
		dst = append(dst, q)
	}
	for i := range in {
		p := &in[i]
		if p.token >= 0 {
			dst = append(dst, *p)
			continue
		}
		s := p.s
		start := -1 // start of the current word, or -1
		for j := 0; j < len(s); {
			c := s[j]
			size := 1
			var space, punct bool
			if c < utf8.RuneSelf {
				space = asciiSpace[c]
				punct = isBertPunct(rune(c))
			} else {
				var r rune
				r, size = utf8.DecodeRuneInString(s[j:])
				space = unicode.IsSpace(r)
				punct = !space && isBertPunct(r)
			}
			if space || punct {
				if start >= 0 {
					emit(p, start, j)
					start = -1
				}
				if punct {
					emit(p, j, j+size)
				}
			} else if start < 0 {
				start = j
			}
			j += size
		}
		if start >= 0 {
			emit(p, start, len(s))
		}
	}
	return dst
}

// asciiSpace marks the ASCII whitespace characters.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// isBertPunct is ASCII punctuation or any Unicode punctuation (P*).
func isBertPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// whitespacePreTokenizer keeps runs of word characters and runs of other
// non-space characters (the regex \w+|[^\w\s]+).
type whitespacePreTokenizer struct{}

func (whitespacePreTokenizer) preTokenize(sc *scratch, in, dst []piece) []piece {
	for _, p := range in {
		if p.token >= 0 {
			dst = append(dst, p)
			continue
		}
		s := p.s
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if unicode.IsSpace(r) {
				i += size
				continue
			}
			word := isWordRune(r)
			j := i + size
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if unicode.IsSpace(r2) || isWordRune(r2) != word {
					break
				}
				j += sz
			}
			q := p
			q.normalized = p.slice(i, j)
			dst = append(dst, q)
			i = j
		}
	}
	return dst
}

// isWordRune is the regex class \w: alphabetic, marks, decimal digits,
// connector punctuation and joiners.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		r == 0x200C || r == 0x200D
}

// metaspacePreTokenizer replaces spaces with a visible character (▁),
// prepends one as its scheme says, and splits before each.
type metaspacePreTokenizer struct {
	replacement rune
	repl        string
	scheme      prependScheme
	split       bool
}

// prependScheme says when Metaspace adds the replacement at the start.
type prependScheme int

const (
	prependAlways prependScheme = iota
	prependNever
	prependFirst
)

func (m *metaspacePreTokenizer) preTokenize(sc *scratch, in, dst []piece) []piece {
	for _, p := range in {
		if p.token >= 0 {
			dst = append(dst, p)
			continue
		}
		p.normalized = replaceAll(p.normalized, literalPattern(" "), m.repl)
		switch m.scheme {
		case prependAlways:
			if !startsWithRune(p.s, m.replacement) {
				p.prepend(m.repl)
			}
		case prependFirst:
			if !startsWithRune(p.s, m.replacement) && p.s != "" && p.origAt(0).start == 0 {
				p.prepend(m.repl)
			}
		}
		if m.split {
			dst = splitPiece(sc, p, literalPattern(m.repl), splitMergedWithNext, false, dst)
		} else if p.s != "" {
			dst = append(dst, p)
		}
	}
	return dst
}

func startsWithRune(s string, r rune) bool {
	c, _ := utf8.DecodeRuneInString(s)
	return s != "" && c == r
}

// byteLevelPreTokenizer is GPT-2's: optionally a space before each piece,
// optionally the GPT-2 split regex, then the byte-level alphabet (applied
// lazily by the model).
type byteLevelPreTokenizer struct {
	addPrefixSpace bool
	regex          pattern // nil when use_regex is false
}

func (b *byteLevelPreTokenizer) preTokenize(sc *scratch, in, dst []piece) []piece {
	for _, p := range in {
		if p.token >= 0 {
			dst = append(dst, p)
			continue
		}
		if b.addPrefixSpace && p.s != "" && p.s[0] != ' ' {
			p.prepend(" ")
		}
		p.byteLevel = true
		if b.regex != nil {
			dst = splitPiece(sc, p, b.regex, splitIsolated, false, dst)
		} else if p.s != "" {
			dst = append(dst, p)
		}
	}
	return dst
}

// digitsPreTokenizer splits digits from the rest, one by one or in runs.
type digitsPreTokenizer struct{ individual bool }

func (d digitsPreTokenizer) preTokenize(sc *scratch, in, dst []piece) []piece {
	behavior := splitContiguous
	if d.individual {
		behavior = splitIsolated
	}
	for _, p := range in {
		dst = splitPiece(sc, p, runePattern(unicode.IsNumber), behavior, false, dst)
	}
	return dst
}
