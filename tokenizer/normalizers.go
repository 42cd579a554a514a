package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A normalizer rewrites text before it is split, keeping track of where
// each byte came from.
type normalizer interface {
	normalize(n normalized) normalized
}

// normalizerSeq applies normalizers in order.
type normalizerSeq []normalizer

func (s normalizerSeq) normalize(n normalized) normalized {
	for _, x := range s {
		n = x.normalize(n)
	}
	return n
}

// unicodeNormalizer applies one of the four Unicode normalization forms.
type unicodeNormalizer struct{ form norm.Form }

func (u unicodeNormalizer) normalize(n normalized) normalized {
	return applyForm(n, u.form)
}

// applyForm normalizes n, segment by segment (a segment being a starter
// and the non-starters after it), aligning the result as the reference
// does: each character is decomposed (the first character of a
// decomposition replaces it, the others are inserted), marks are put in
// canonical order, and, for the composing forms, a composed character
// stands for the characters it absorbed. The resulting operations run as
// in the reference's transform, so characters take the spans of the input
// characters at their positions.
func applyForm(n normalized, form norm.Form) normalized {
	if form.IsNormalString(n.s) {
		return n
	}
	decomp := norm.NFD
	if form == norm.NFKC || form == norm.NFKD {
		decomp = norm.NFKD
	}
	compose := form == norm.NFC || form == norm.NFKC
	e := newEditor(&n)
	var ops []xop
	for e.pos < len(n.s) {
		seg := form.NextBoundaryInString(n.s[e.pos:], true)
		if seg <= 0 {
			seg = len(n.s) - e.pos
		}
		end := e.pos + seg
		in := n.s[e.pos:end]
		if form.IsNormalString(in) {
			e.keepTo(end)
			continue
		}
		ops = decomposeOps(ops[:0], in, decomp)
		reorderOps(ops)
		if compose {
			ops = composeOps(ops)
		}
		e.runOps(ops)
		e.pos = end
	}
	return e.done()
}

// decomposeOps appends the full decomposition of each character of s.
func decomposeOps(ops []xop, s string, decomp norm.Form) []xop {
	for i, r := range s {
		var d []byte
		if r >= 0xAC00 && r <= 0xD7A3 {
			var jamo [3]rune
			for k, j := range appendHangulJamo(jamo[:0], r) {
				ops = append(ops, xop{j, min(k, 1)})
			}
			continue
		}
		d = decomp.PropertiesString(s[i:]).Decomposition()
		if d == nil {
			ops = append(ops, xop{r, 0})
			continue
		}
		k := 0
		for _, x := range string(d) {
			ops = append(ops, xop{x, min(k, 1)})
			k++
		}
	}
	return ops
}

func ccc(r rune) uint8 {
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	return norm.NFD.Properties(buf[:n]).CCC()
}

// reorderOps puts each run of non-starters in canonical order (stable by
// combining class); the operations move with their characters.
func reorderOps(ops []xop) {
	for i := 0; i < len(ops); {
		if ccc(ops[i].r) == 0 {
			i++
			continue
		}
		j := i
		for j < len(ops) && ccc(ops[j].r) != 0 {
			j++
		}
		run := ops[i:j]
		sort.SliceStable(run, func(a, b int) bool { return ccc(run[a].r) < ccc(run[b].r) })
		i = j
	}
}

// composeOps applies canonical composition; a composed character takes
// over what the absorbed character consumed.
func composeOps(ops []xop) []xop {
	out := ops[:0]
	starter := -1
	lastClass := -1 // class of the last character kept after the starter
	for _, op := range ops {
		cc := int(ccc(op.r))
		if starter >= 0 && (lastClass == -1 || (lastClass != 0 && lastClass < cc)) {
			if c, ok := composePair(out[starter].r, op.r); ok {
				out[starter].r = c
				out[starter].change += op.change - 1
				continue
			}
		}
		if cc == 0 {
			starter = len(out)
			lastClass = -1
		} else {
			lastClass = cc
		}
		out = append(out, op)
	}
	return out
}

// composePair returns the primary composite of a and b, if there is one.
func composePair(a, b rune) (rune, bool) {
	var buf [2 * utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], a)
	n += utf8.EncodeRune(buf[n:], b)
	out := norm.NFC.Append(nil, buf[:n]...)
	r, size := utf8.DecodeRune(out)
	if size != len(out) || r == a {
		return 0, false
	}
	return r, true
}

// lowercaseNormalizer lowercases every character.
type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(n normalized) normalized { return lowercase(n) }

// lowercase maps each character to its lowercase form. Only U+0130 (İ)
// lowercases to two characters ("i̇"), as in the reference implementation.
func lowercase(n normalized) normalized {
	i := 0
	for i < len(n.s) {
		c := n.s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(n.s[i:])
		if unicode.ToLower(r) != r || r == 'İ' {
			break
		}
		i += size
	}
	if i == len(n.s) {
		return n
	}
	e := newEditor(&n)
	for e.pos < i {
		e.keep()
	}
	for e.pos < len(n.s) {
		r, _ := utf8.DecodeRuneInString(n.s[e.pos:])
		if r == 'İ' {
			e.replace('i', 0)
			e.insert('\u0307')
			continue
		}
		l := unicode.ToLower(r)
		if l == r {
			e.keep()
		} else {
			e.replace(l, 0)
		}
	}
	return e.done()
}

// stripNormalizer removes leading and/or trailing whitespace.
type stripNormalizer struct{ left, right bool }

func (s stripNormalizer) normalize(n normalized) normalized {
	a, b := 0, len(n.s)
	if s.left {
		for a < b {
			r, size := utf8.DecodeRuneInString(n.s[a:])
			if !unicode.IsSpace(r) {
				break
			}
			a += size
		}
	}
	if s.right {
		for b > a {
			r, size := utf8.DecodeLastRuneInString(n.s[a:b])
			if !unicode.IsSpace(r) {
				break
			}
			b -= size
		}
	}
	if a == 0 && b == len(n.s) {
		return n
	}
	return n.slice(a, b)
}

// stripAccentsNormalizer removes combining marks (M*). (BERT's
// strip_accents removes only nonspacing marks, Mn.)
type stripAccentsNormalizer struct{}

func (stripAccentsNormalizer) normalize(n normalized) normalized {
	return filterRunes(n, func(r rune) bool { return !unicode.IsMark(r) })
}

// filterRunes keeps the characters for which keep returns true; kept
// characters keep their spans.
func filterRunes(n normalized, keep func(rune) bool) normalized {
	i := 0
	for i < len(n.s) {
		r, size := utf8.DecodeRuneInString(n.s[i:])
		if !keep(r) {
			break
		}
		i += size
	}
	if i == len(n.s) {
		return n
	}
	e := newEditor(&n)
	for e.pos < i {
		e.keep()
	}
	for e.pos < len(n.s) {
		r, _ := utf8.DecodeRuneInString(n.s[e.pos:])
		if keep(r) {
			e.keep()
		} else {
			e.skip(1)
		}
	}
	return e.done()
}

// prependNormalizer puts a string before non-empty text.
type prependNormalizer struct{ prefix string }

func (p prependNormalizer) normalize(n normalized) normalized {
	n.prepend(p.prefix)
	return n
}

// appendNormalizer puts a string after non-empty text.
type appendNormalizer struct{ suffix string }

func (p appendNormalizer) normalize(n normalized) normalized {
	n.appendText(p.suffix)
	return n
}

// replaceNormalizer replaces every match of a pattern with content. Each
// inserted character takes the span of the last character it replaces.
type replaceNormalizer struct {
	pattern pattern
	content string
}

func (p replaceNormalizer) normalize(n normalized) normalized {
	return replaceAll(n, p.pattern, p.content)
}

func replaceAll(n normalized, pat pattern, content string) normalized {
	var buf []match
	if n.sc != nil {
		buf = n.sc.replaceMatches[:0]
	}
	matches := pat.findAll(n.s, buf)
	if n.sc != nil {
		n.sc.replaceMatches = matches
	}
	if len(matches) == 0 {
		return n
	}
	e := newEditor(&n)
	for _, m := range matches {
		for e.pos < m.start {
			e.keep()
		}
		e.skip(utf8.RuneCountInString(n.s[m.start:m.end]))
		e.pos = m.end
		for _, r := range content {
			e.insert(r)
		}
	}
	return e.done()
}

// bertNormalizer is BERT's: clean control characters and whitespace, pad
// CJK ideographs with spaces, strip accents and lowercase.
type bertNormalizer struct {
	cleanText, chineseChars, stripAccents, lowercase bool
}

// normalize applies the four steps in one pass; they all work character
// by character, and every character they produce takes the span of the
// input character it comes from, as the separate passes of the reference
// implementation give.
func (b bertNormalizer) normalize(n normalized) normalized {
	if b.unchanged(n.s) {
		return n
	}
	e := newEditor(&n)
	var rs []rune
	for e.pos < len(n.s) {
		// Copy the run of ASCII that no step changes in one go.
		j := e.pos
		for j < len(n.s) && n.s[j] < utf8.RuneSelf && !b.asciiChanges(n.s[j]) {
			j++
		}
		if j > e.pos {
			e.keepTo(j)
			continue
		}
		if c := n.s[e.pos]; c < utf8.RuneSelf {
			switch {
			case b.cleanText && (c == '\t' || c == '\n' || c == '\r'):
				e.replace(' ', 0)
			case b.cleanText && (c < 0x20 || c == 0x7f):
				e.skip(1)
			case b.lowercase && 'A' <= c && c <= 'Z':
				e.replace(rune(c+'a'-'A'), 0)
			default:
				e.keepASCII()
			}
			continue
		}
		r, _ := utf8.DecodeRuneInString(n.s[e.pos:])
		if b.cleanText {
			if r == 0xFFFD || isOther(r) {
				e.skip(1)
				continue
			}
			if unicode.IsSpace(r) {
				e.replace(' ', 0)
				continue
			}
		}
		if b.chineseChars && isChineseChar(r) {
			// The space replaces the ideograph; the ideograph and the
			// space after it are inserted, so all three take its span.
			e.replace(' ', 0)
			e.insert(r)
			e.insert(' ')
			continue
		}
		rs = append(rs[:0], r)
		if b.stripAccents {
			rs = rs[:0]
			d := norm.NFD.PropertiesString(n.s[e.pos:]).Decomposition()
			if r >= 0xAC00 && r <= 0xD7A3 {
				// Hangul syllables decompose algorithmically, outside
				// the tables, into jamo (which are letters, kept).
				rs = appendHangulJamo(rs, r)
			} else if d != nil {
				for _, x := range string(d) {
					if !unicode.Is(unicode.Mn, x) {
						rs = append(rs, x)
					}
				}
			} else if !unicode.Is(unicode.Mn, r) {
				rs = append(rs, r)
			}
		}
		if b.lowercase {
			for i := 0; i < len(rs); i++ {
				if rs[i] == 'İ' {
					rs[i] = 'i'
					rs = append(rs[:i+1], append([]rune{'\u0307'}, rs[i+1:]...)...)
					i++
					continue
				}
				rs[i] = unicode.ToLower(rs[i])
			}
		}
		switch {
		case len(rs) == 1 && rs[0] == r:
			e.keep()
		case len(rs) == 0:
			e.skip(1)
		default:
			e.replace(rs[0], 0)
			for _, x := range rs[1:] {
				e.insert(x)
			}
		}
	}
	return e.done()
}

// unchanged reports whether s is ASCII that no step changes.
func (b bertNormalizer) unchanged(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || b.asciiChanges(c) {
			return false
		}
	}
	return true
}

// asciiChanges reports whether a step changes the ASCII character c.
func (b bertNormalizer) asciiChanges(c byte) bool {
	return (b.cleanText && (c < 0x20 || c == 0x7f)) || (b.lowercase && 'A' <= c && c <= 'Z')
}

// isOther reports whether r is in a general category C* (control, format,
// unassigned, private use, surrogate).
func isOther(r rune) bool {
	// Letters, marks and numbers first: they are most of any text.
	if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) {
		return false
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
		return true
	}
	return !unicode.In(r, unicode.P, unicode.S, unicode.Z)
}

// isChineseChar reports whether r is a CJK ideograph in the blocks BERT pads.
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// nmtNormalizer is SentencePiece's NMT normalization: drop some control
// characters and map others to a space.
type nmtNormalizer struct{}

func (nmtNormalizer) normalize(n normalized) normalized {
	n = filterRunes(n, func(r rune) bool {
		return !((r >= 0x0001 && r <= 0x0008) || r == 0x000B || (r >= 0x000E && r <= 0x001F) || r == 0x007F || r == 0x008F || r == 0x009F)
	})
	if !strings.ContainsFunc(n.s, isNMTSpace) {
		return n
	}
	e := newEditor(&n)
	for e.pos < len(n.s) {
		r, _ := utf8.DecodeRuneInString(n.s[e.pos:])
		if isNMTSpace(r) {
			e.replace(' ', 0)
		} else {
			e.keep()
		}
	}
	return e.done()
}

func isNMTSpace(r rune) bool {
	switch r {
	case 0x0009, 0x000A, 0x000C, 0x000D, 0x1680, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD:
		return true
	}
	return (r >= 0x200B && r <= 0x200F)
}

// appendHangulJamo appends the canonical decomposition of the Hangul
// syllable r (U+AC00..U+D7A3): a leading consonant, a vowel and maybe a
// trailing consonant.
func appendHangulJamo(dst []rune, r rune) []rune {
	const sBase, lBase, vBase, tBase, tCount, nCount = 0xAC00, 0x1100, 0x1161, 0x11A7, 28, 588
	s := r - sBase
	dst = append(dst, lBase+s/nCount, vBase+(s%nCount)/tCount)
	if t := s % tCount; t != 0 {
		dst = append(dst, tBase+t)
	}
	return dst
}
