package tokenizer

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// A decoder turns a list of token strings back into text pieces; decoders
// chain, and the pieces are joined at the end.
type decoder interface {
	decodeChain(tokens []string) []string
}

// decoderSeq applies decoders in order.
type decoderSeq []decoder

func (s decoderSeq) decodeChain(tokens []string) []string {
	for _, d := range s {
		tokens = d.decodeChain(tokens)
	}
	return tokens
}

// byteLevelDecoder maps byte-level characters back to bytes; tokens with
// characters outside the alphabet are kept as they are. Invalid UTF-8
// becomes U+FFFD.
type byteLevelDecoder struct{ alphabet *byteAlphabet }

func (d byteLevelDecoder) decodeChain(tokens []string) []string {
	var buf []byte
	for _, t := range tokens {
		var ok bool
		buf, ok = d.alphabet.appendDecoded(buf, t)
		if !ok {
			buf = append(buf, t...)
		}
	}
	return []string{lossyString(buf)}
}

// metaspaceDecoder turns ▁ back into spaces, dropping the one a
// prepend scheme added at the start.
type metaspaceDecoder struct {
	replacement rune
	scheme      prependScheme
}

func (d metaspaceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		var b strings.Builder
		for k, r := range t {
			if r == d.replacement {
				if i == 0 && k == 0 && d.scheme != prependNever {
					continue
				}
				b.WriteByte(' ')
				continue
			}
			b.WriteRune(r)
		}
		out[i] = b.String()
	}
	return out
}

// wordPieceDecoder joins ##-continued pieces and puts spaces between
// words, optionally cleaning up spaces before punctuation.
type wordPieceDecoder struct {
	prefix  string
	cleanup bool
}

func (d wordPieceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		if i != 0 {
			if rest, ok := strings.CutPrefix(t, d.prefix); ok {
				t = rest
			} else {
				t = " " + t
			}
		}
		if d.cleanup {
			t = cleanupSpaces(t)
		}
		out[i] = t
	}
	return out
}

// cleanupSpaces removes the spaces a tokenizer put before punctuation and
// English contractions.
func cleanupSpaces(s string) string {
	if !strings.Contains(s, " ") {
		return s
	}
	// Each replacement runs over the whole string in turn, as in the
	// reference implementation.
	for _, r := range cleanupPairs {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

var cleanupPairs = [][2]string{
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
	{" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
}

// byteFallbackDecoder turns runs of <0xXX> tokens back into text; bytes
// that are not valid UTF-8 become one U+FFFD each.
type byteFallbackDecoder struct{}

func (byteFallbackDecoder) decodeChain(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, t := range tokens {
		if b, ok := parseByteToken(t); ok {
			pending = append(pending, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// parseByteToken reads a token of the form <0xXX>.
func parseByteToken(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(t[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

// fuseDecoder joins all tokens into one.
type fuseDecoder struct{}

func (fuseDecoder) decodeChain(tokens []string) []string {
	return []string{strings.Join(tokens, "")}
}

// stripDecoder removes up to start leading and stop trailing copies of a
// character from each token.
type stripDecoder struct {
	content     rune
	start, stop int
}

func (d stripDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		rs := []rune(t)
		a := 0
		for a < len(rs) && a < d.start && rs[a] == d.content {
			a++
		}
		b := len(rs)
		for k := 0; k < d.stop && b > a && rs[b-1] == d.content; k++ {
			b--
		}
		out[i] = string(rs[a:b])
	}
	return out
}

// replaceDecoder replaces a pattern in each token.
type replaceDecoder struct {
	pattern pattern
	content string
}

func (d replaceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	var ms []match
	for i, t := range tokens {
		ms = d.pattern.findAll(t, ms[:0])
		if len(ms) == 0 {
			out[i] = t
			continue
		}
		var b strings.Builder
		prev := 0
		for _, m := range ms {
			b.WriteString(t[prev:m.start])
			b.WriteString(d.content)
			prev = m.end
		}
		b.WriteString(t[prev:])
		out[i] = b.String()
	}
	return out
}

// bpeSuffixDecoder turns an end-of-word suffix into a space (none after
// the last token).
type bpeSuffixDecoder struct{ suffix string }

func (d bpeSuffixDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		rep := " "
		if i == len(tokens)-1 {
			rep = ""
		}
		out[i] = strings.ReplaceAll(t, d.suffix, rep)
	}
	return out
}

// ctcDecoder collapses repeated tokens, drops the pad token and turns the
// word delimiter into spaces.
type ctcDecoder struct {
	pad, delimiter string
	cleanup        bool
}

func (d ctcDecoder) decodeChain(tokens []string) []string {
	var out []string
	for i, t := range tokens {
		if i > 0 && tokens[i-1] == t {
			continue
		}
		if t == d.pad {
			continue
		}
		t = strings.ReplaceAll(t, d.delimiter, " ")
		if d.cleanup {
			t = cleanupSpaces(t)
		}
		out = append(out, t)
	}
	return out
}

// lossyString converts b to a string, replacing each maximal invalid
// UTF-8 subsequence with one U+FFFD.
func lossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		out = append(out, "\uFFFD"...)
		i += invalidPrefixLen(b[i:])
	}
	return string(out)
}

// invalidPrefixLen is the length of the longest prefix of b that could
// begin a valid UTF-8 sequence (at least 1).
func invalidPrefixLen(b []byte) int {
	c := b[0]
	var n int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		n = 2
	case c == 0xE0:
		n, lo = 3, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		n = 3
	case c == 0xED:
		n, hi = 3, 0x9F
	case c == 0xF0:
		n, lo = 4, 0x90
	case c >= 0xF1 && c <= 0xF3:
		n = 4
	case c == 0xF4:
		n, hi = 4, 0x8F
	default:
		return 1
	}
	k := 1
	for ; k < n && k < len(b); k++ {
		if k == 1 {
			if b[k] < lo || b[k] > hi {
				break
			}
		} else if b[k] < 0x80 || b[k] > 0xBF {
			break
		}
	}
	return k
}
