package chattemplate

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokenKind int

const (
	tokData       tokenKind = iota // template text outside tags
	tokVarBegin                    // {{
	tokVarEnd                      // }}
	tokBlockBegin                  // {%
	tokBlockEnd                    // %}
	tokName
	tokString // value already unescaped
	tokInt
	tokFloat
	tokOp
	tokEOF
)

type token struct {
	kind tokenKind
	val  string
	line int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of template"
	case tokData:
		return "template data"
	case tokVarEnd, tokBlockEnd, tokVarBegin, tokBlockBegin:
		return "'" + t.val + "'"
	case tokString:
		return "string"
	}
	return "'" + t.val + "'"
}

// lexer turns a template into tokens with the whitespace handling
// transformers configures: trim_blocks (the first newline after a block or
// comment tag is dropped), lstrip_blocks (spaces and tabs before a block or
// comment tag at the start of a line are dropped), "-" and "+" markers on
// tags, and no trailing newline (keep_trailing_newline is off).
type lexer struct {
	src          string
	pos          int
	line         int
	lineStarting bool
	toks         []token
}

// Python's str.splitlines boundaries; Jinja2 joins the lines with "\n".
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\v", "\n", "\f", "\n",
	"\x1c", "\n", "\x1d", "\n", "\x1e", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n")

func tokenize(src string) ([]token, error) {
	src = lineBreaks.Replace(src)
	src = strings.TrimSuffix(src, "\n")
	lx := &lexer{src: src, line: 1, lineStarting: true}
	if err := lx.run(); err != nil {
		return nil, err
	}
	lx.toks = append(lx.toks, token{kind: tokEOF, line: lx.line})
	return lx.toks, nil
}

func (lx *lexer) errorf(format string, args ...any) error {
	return &SyntaxError{Line: lx.line, Msg: fmt.Sprintf(format, args...)}
}

func (lx *lexer) emit(kind tokenKind, val string) {
	lx.toks = append(lx.toks, token{kind: kind, val: val, line: lx.line})
}

// advance moves past n bytes, counting lines.
func (lx *lexer) advance(n int) {
	lx.line += strings.Count(lx.src[lx.pos:lx.pos+n], "\n")
	lx.pos += n
}

func (lx *lexer) run() error {
	for lx.pos < len(lx.src) {
		rest := lx.src[lx.pos:]
		idx, kind := nextTag(rest)
		if idx < 0 {
			lx.emitText(rest)
			lx.advance(len(rest))
			return nil
		}
		text := rest[:idx]
		sign := byte(0)
		if idx+2 < len(rest) && (rest[idx+2] == '-' || rest[idx+2] == '+') {
			sign = rest[idx+2]
		}
		switch {
		case sign == '-':
			text = strings.TrimRightFunc(text, isSpace)
		case sign != '+' && kind != "{{":
			l := strings.LastIndexByte(text, '\n') + 1
			if (l > 0 || lx.lineStarting) && l < len(text) && isAllSpace(text[l:]) {
				text = text[:l]
			}
		}
		lx.emitText(text)
		lx.advance(idx)
		if sign != 0 {
			lx.advance(3)
		} else {
			lx.advance(2)
		}
		var err error
		switch kind {
		case "{#":
			err = lx.comment()
		case "{{":
			err = lx.tag(tokVarBegin, tokVarEnd, "}}")
		default:
			if lx.isRaw() {
				err = lx.raw()
			} else {
				err = lx.tag(tokBlockBegin, tokBlockEnd, "%}")
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (lx *lexer) emitText(s string) {
	if s != "" {
		lx.emit(tokData, s)
	}
}

// isSpace is Python's str.isspace for one character, which Jinja2's
// whitespace handling and Python's strip and split use.
func isSpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

func isAllSpace(s string) bool {
	for _, r := range s {
		if !isSpace(r) {
			return false
		}
	}
	return true
}

// nextTag finds the first "{{", "{%" or "{#".
func nextTag(s string) (int, string) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' {
			switch s[i+1] {
			case '{', '%', '#':
				return i, s[i : i+2]
			}
		}
	}
	return -1, ""
}

// closeTag consumes the end of a tag: a "-" marker strips all following
// whitespace, and trim_blocks drops one newline after block and comment tags
// unless the tag ends with "+".
func (lx *lexer) closeTag(sign byte, delim string, trim bool) {
	lx.advance(len(delim))
	consumed := delim
	switch {
	case sign == '-':
		rest := lx.src[lx.pos:]
		n := len(rest) - len(strings.TrimLeftFunc(rest, isSpace))
		if n > 0 {
			consumed = rest[:n]
		}
		lx.advance(n)
	case sign != '+' && trim && strings.HasPrefix(lx.src[lx.pos:], "\n"):
		lx.advance(1)
		consumed = "\n"
	}
	lx.lineStarting = strings.HasSuffix(consumed, "\n")
}

func (lx *lexer) comment() error {
	rest := lx.src[lx.pos:]
	end := strings.Index(rest, "#}")
	if end < 0 {
		return lx.errorf("missing end of comment tag")
	}
	sign := byte(0)
	if end > 0 && (rest[end-1] == '-' || rest[end-1] == '+') {
		sign = rest[end-1]
	}
	lx.advance(end)
	lx.closeTag(sign, "#}", true)
	return nil
}

// isRaw reports whether the block tag just opened is {% raw %}.
func (lx *lexer) isRaw() bool {
	rest := strings.TrimLeftFunc(lx.src[lx.pos:], isSpace)
	if !strings.HasPrefix(rest, "raw") {
		return false
	}
	rest = strings.TrimLeftFunc(rest[3:], isSpace)
	return strings.HasPrefix(rest, "%}") || strings.HasPrefix(rest, "-%}") || strings.HasPrefix(rest, "+%}")
}

func (lx *lexer) raw() error {
	rest := lx.src[lx.pos:]
	end := strings.Index(rest, "%}")
	sign := rest[end-1]
	lx.advance(end)
	lx.closeTag(sign, "%}", true)
	for search := lx.pos; ; {
		i := strings.Index(lx.src[search:], "{%")
		if i < 0 {
			return lx.errorf("missing endraw")
		}
		start := search + i
		p := start + 2
		sign := byte(0)
		if p < len(lx.src) && (lx.src[p] == '-' || lx.src[p] == '+') {
			sign = lx.src[p]
			p++
		}
		after := strings.TrimLeftFunc(lx.src[p:], isSpace)
		if !strings.HasPrefix(after, "endraw") {
			search = start + 2
			continue
		}
		after = strings.TrimLeftFunc(after[len("endraw"):], isSpace)
		endSign := byte(0)
		if strings.HasPrefix(after, "-") || strings.HasPrefix(after, "+") {
			endSign = after[0]
			after = after[1:]
		}
		if !strings.HasPrefix(after, "%}") {
			search = start + 2
			continue
		}
		text := lx.src[lx.pos:start]
		if sign == '-' {
			text = strings.TrimRightFunc(text, isSpace)
		}
		lx.emitText(text)
		lx.advance(len(lx.src) - len(after) - lx.pos)
		lx.closeTag(endSign, "%}", true)
		return nil
	}
}

var operators = []string{"//", "**", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "<", ">", "=",
	".", ",", ":", "|", "(", ")", "[", "]", "{", "}"}

// tag tokenizes the inside of a {{ }} or {% %} tag up to its end delimiter.
func (lx *lexer) tag(begin, end tokenKind, delim string) error {
	lx.emit(begin, delim)
	depth := 0
	for {
		// Skip whitespace.
		rest := lx.src[lx.pos:]
		trimmed := strings.TrimLeftFunc(rest, isSpace)
		lx.advance(len(rest) - len(trimmed))
		rest = trimmed
		if rest == "" {
			return lx.errorf("missing end of tag %q", delim)
		}
		if depth == 0 {
			for _, sign := range []string{"-", "+", ""} {
				if strings.HasPrefix(rest, sign+delim) && !(sign == "+" && end == tokVarEnd) {
					lx.advance(len(sign))
					lx.emit(end, delim)
					var s byte
					if sign != "" {
						s = sign[0]
					}
					lx.closeTag(s, delim, end == tokBlockEnd)
					return nil
				}
			}
		}
		c := rest[0]
		switch {
		case c == '\'' || c == '"':
			s, n, err := lexString(rest)
			if err != nil {
				return lx.errorf("%v", err)
			}
			lx.emit(tokString, s)
			lx.advance(n)
		case c >= '0' && c <= '9':
			afterDot := len(lx.toks) > 0 && lx.toks[len(lx.toks)-1].kind == tokOp && lx.toks[len(lx.toks)-1].val == "."
			kind, n := lexNumber(rest, !afterDot)
			lx.emit(kind, strings.ReplaceAll(rest[:n], "_", ""))
			lx.advance(n)
		case c == '_' || isLetter(rest):
			n := 0
			for n < len(rest) {
				r, size := utf8.DecodeRuneInString(rest[n:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				n += size
			}
			lx.emit(tokName, rest[:n])
			lx.advance(n)
		default:
			op := ""
			for _, o := range operators {
				if strings.HasPrefix(rest, o) {
					op = o
					break
				}
			}
			if op == "" {
				r, _ := utf8.DecodeRuneInString(rest)
				return lx.errorf("unexpected character %q", r)
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
			lx.emit(tokOp, op)
			lx.advance(len(op))
		}
	}
}

func isLetter(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}

// lexNumber measures an int or float literal at the start of s. Underscores
// may separate digits; a float needs digits after its dot or an exponent.
func lexNumber(s string, allowFloat bool) (tokenKind, int) {
	digits := func(i int) int {
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '_' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9') {
			i++
		}
		return i
	}
	n := digits(0)
	if !allowFloat {
		return tokInt, n
	}
	kind := tokInt
	if n+1 < len(s) && s[n] == '.' && s[n+1] >= '0' && s[n+1] <= '9' {
		n = digits(n + 1)
		kind = tokFloat
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if m < len(s) && s[m] >= '0' && s[m] <= '9' {
			n = digits(m)
			kind = tokFloat
		}
	}
	return kind, n
}

// lexString reads a quoted string literal at the start of s and decodes its
// escapes as Python does; it returns the value and the bytes consumed.
func lexString(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			n := decodeEscape(&b, s[i:])
			i += n
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += size
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// decodeEscape writes the value of the backslash escape at the start of s
// and returns its length. Unknown escapes stay as written, as in Python.
func decodeEscape(b *strings.Builder, s string) int {
	c := s[1]
	simple := map[byte]string{'n': "\n", 't': "\t", 'r': "\r", '\\': "\\", '\'': "'", '"': "\"",
		'a': "\a", 'b': "\b", 'f': "\f", 'v': "\v", '\n': ""}
	if v, ok := simple[c]; ok {
		b.WriteString(v)
		return 2
	}
	hex := map[byte]int{'x': 2, 'u': 4, 'U': 8}
	if n, ok := hex[c]; ok && len(s) >= 2+n {
		var r rune
		valid := true
		for _, h := range s[2 : 2+n] {
			d := strings.IndexRune("0123456789abcdef", unicode.ToLower(h))
			if d < 0 {
				valid = false
				break
			}
			r = r*16 + rune(d)
		}
		if valid {
			b.WriteRune(r)
			return 2 + n
		}
	}
	if c >= '0' && c <= '7' {
		n, r := 1, rune(0)
		for n <= 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			r = r*8 + rune(s[n]-'0')
			n++
		}
		b.WriteRune(r)
		return n
	}
	b.WriteByte('\\')
	return 1
}
