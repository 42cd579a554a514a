package chattemplate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// method returns the bound method obj.name for the Python str, dict and list
// methods templates call, or nil when the type has no such method. Methods
// that would change a dict or list exist but fail when called, as in the
// immutable sandbox transformers renders with.
func method(obj value, name string) value {
	var fn func(args []value, kw *Dict) (value, error)
	switch o := obj.(type) {
	case string:
		fn = strMethod(o, name)
	case *Dict:
		fn = dictMethod(o, name)
	case *List:
		fn = listMethod(o, name)
	}
	if fn == nil {
		return nil
	}
	return &Callable{name: name, fn: func(_ *renderer, args []value, kw *Dict) (value, error) { return fn(args, kw) }}
}

func unsafe(obj value, name string) func([]value, *Dict) (value, error) {
	return func([]value, *Dict) (value, error) {
		return nil, fmt.Errorf("access to attribute '%s' of '%s' object is unsafe.", name, typeName(obj))
	}
}

func dictMethod(d *Dict, name string) func([]value, *Dict) (value, error) {
	switch name {
	case "items":
		return func(args []value, kw *Dict) (value, error) {
			items := dictItems(d)
			items.view = "dict_items"
			return items, nil
		}
	case "keys":
		return func(args []value, kw *Dict) (value, error) {
			items, _ := iterate(d)
			return &List{items: items, view: "dict_keys"}, nil
		}
	case "values":
		return func(args []value, kw *Dict) (value, error) {
			return &List{items: append([]value{}, d.vals...), view: "dict_values"}, nil
		}
	case "get":
		return func(args []value, kw *Dict) (value, error) {
			a, err := bind("get", args, kw, []string{"key", "default"}, []value{nil})
			if err != nil {
				return nil, err
			}
			if k, ok := a[0].(string); ok {
				if v, ok := d.get(k); ok {
					return v, nil
				}
			}
			return a[1], nil
		}
	case "copy":
		return func(args []value, kw *Dict) (value, error) {
			c := newDict()
			for i, k := range d.keys {
				c.set(k, d.vals[i])
			}
			return c, nil
		}
	case "update", "pop", "popitem", "setdefault", "clear":
		return unsafe(d, name)
	}
	return nil
}

func listMethod(l *List, name string) func([]value, *Dict) (value, error) {
	switch name {
	case "index":
		return func(args []value, kw *Dict) (value, error) {
			if len(args) != 1 {
				return nil, errors.New("index takes one argument")
			}
			for i, it := range l.items {
				if equal(it, args[0]) {
					return int64(i), nil
				}
			}
			return nil, fmt.Errorf("%s is not in list", repr(args[0]))
		}
	case "count":
		return func(args []value, kw *Dict) (value, error) {
			if len(args) != 1 {
				return nil, errors.New("count takes one argument")
			}
			n := int64(0)
			for _, it := range l.items {
				if equal(it, args[0]) {
					n++
				}
			}
			return n, nil
		}
	case "copy":
		return func(args []value, kw *Dict) (value, error) { return newList(append([]value{}, l.items...)), nil }
	case "append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear":
		if !l.tuple {
			return unsafe(l, name)
		}
	}
	return nil
}

// strMethod implements Python's str methods over code points.
func strMethod(s, name string) func([]value, *Dict) (value, error) {
	strArgs := func(args []value, kw *Dict, names []string, defaults []value) ([]value, error) {
		return bind("str."+name, args, kw, names, defaults)
	}
	switch name {
	case "upper", "lower", "title", "capitalize", "swapcase", "casefold":
		return func(args []value, kw *Dict) (value, error) {
			if _, err := strArgs(args, kw, nil, nil); err != nil {
				return nil, err
			}
			switch name {
			case "upper":
				return strings.ToUpper(s), nil
			case "lower", "casefold":
				return strings.ToLower(s), nil
			case "title":
				return pyTitle(s), nil
			case "capitalize":
				return pyCapitalize(s), nil
			}
			return strings.Map(func(r rune) rune {
				if unicode.IsUpper(r) {
					return unicode.ToLower(r)
				}
				return unicode.ToUpper(r)
			}, s), nil
		}
	case "strip", "lstrip", "rstrip":
		return func(args []value, kw *Dict) (value, error) {
			a, err := strArgs(args, kw, []string{"chars"}, []value{nil})
			if err != nil {
				return nil, err
			}
			return pyStrip(s, a[0], name != "rstrip", name != "lstrip"), nil
		}
	case "startswith", "endswith":
		return func(args []value, kw *Dict) (value, error) {
			a, err := strArgs(args, kw, []string{"prefix"}, nil)
			if err != nil {
				return nil, err
			}
			cands := []value{a[0]}
			if l, ok := a[0].(*List); ok {
				cands = l.items
			}
			for _, c := range cands {
				cs, ok := c.(string)
				if !ok {
					return nil, fmt.Errorf("%s first arg must be str or a tuple of str, not %s", name, typeName(c))
				}
				if name == "startswith" && strings.HasPrefix(s, cs) || name == "endswith" && strings.HasSuffix(s, cs) {
					return true, nil
				}
			}
			return false, nil
		}
	case "split", "rsplit":
		return func(args []value, kw *Dict) (value, error) {
			a, err := strArgs(args, kw, []string{"sep", "maxsplit"}, []value{nil, int64(-1)})
			if err != nil {
				return nil, err
			}
			n, _ := a[1].(int64)
			return pySplit(s, a[0], int(n), name == "rsplit")
		}
	case "splitlines":
		return func(args []value, kw *Dict) (value, error) {
			lines := pySplitlines(s)
			out := make([]value, len(lines))
			for i, l := range lines {
				out[i] = l
			}
			return newList(out), nil
		}
	case "replace":
		return func(args []value, kw *Dict) (value, error) {
			a, err := strArgs(args, kw, []string{"old", "new", "count"}, []value{int64(-1)})
			if err != nil {
				return nil, err
			}
			n, _ := a[2].(int64)
			return strings.Replace(s, toStr(a[0]), toStr(a[1]), int(n)), nil
		}
	case "find", "rfind", "index", "rindex", "count":
		return func(args []value, kw *Dict) (value, error) {
			a, err := strArgs(args, kw, []string{"sub"}, nil)
			if err != nil {
				return nil, err
			}
			sub := toStr(a[0])
			if name == "count" {
				if sub == "" {
					return int64(len([]rune(s)) + 1), nil
				}
				return int64(strings.Count(s, sub)), nil
			}
			i := strings.Index(s, sub)
			if name[0] == 'r' {
				i = strings.LastIndex(s, sub)
			}
			if i < 0 {
				if name == "index" || name == "rindex" {
					return nil, errors.New("substring not found")
				}
				return int64(-1), nil
			}
			return int64(len([]rune(s[:i]))), nil
		}
	case "join":
		return func(args []value, kw *Dict) (value, error) {
			a, err := strArgs(args, kw, []string{"iterable"}, nil)
			if err != nil {
				return nil, err
			}
			items, err := iterate(a[0])
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, it := range items {
				str, ok := it.(string)
				if !ok {
					return nil, fmt.Errorf("sequence item %d: expected str instance, %s found", i, typeName(it))
				}
				parts[i] = str
			}
			return strings.Join(parts, s), nil
		}
	case "removeprefix", "removesuffix":
		return func(args []value, kw *Dict) (value, error) {
			a, err := strArgs(args, kw, []string{"affix"}, nil)
			if err != nil {
				return nil, err
			}
			if name == "removeprefix" {
				return strings.TrimPrefix(s, toStr(a[0])), nil
			}
			return strings.TrimSuffix(s, toStr(a[0])), nil
		}
	case "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper":
		return func(args []value, kw *Dict) (value, error) { return strIs(s, name), nil }
	case "format":
		return func(args []value, kw *Dict) (value, error) { return strFormat(s, args, kw) }
	}
	return nil
}

func strIs(s, name string) bool {
	switch name {
	case "islower":
		return hasCased(s) && strings.ToLower(s) == s
	case "isupper":
		return hasCased(s) && strings.ToUpper(s) == s
	}
	if s == "" {
		return false
	}
	for _, r := range s {
		ok := false
		switch name {
		case "isdigit":
			ok = unicode.IsDigit(r)
		case "isalpha":
			ok = unicode.IsLetter(r)
		case "isalnum":
			ok = unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r)
		case "isspace":
			ok = isSpace(r)
		}
		if !ok {
			return false
		}
	}
	return true
}

// pyStrip is Python's strip/lstrip/rstrip: whitespace, or the given chars.
func pyStrip(s string, chars value, left, right bool) string {
	cut := isSpace
	if chars != nil && !isUndefined(chars) {
		set := toStr(chars)
		cut = func(r rune) bool { return strings.ContainsRune(set, r) }
	}
	if left {
		s = strings.TrimLeftFunc(s, cut)
	}
	if right {
		s = strings.TrimRightFunc(s, cut)
	}
	return s
}

// pySplit is Python's str.split and str.rsplit.
func pySplit(s string, sep value, maxsplit int, fromRight bool) (value, error) {
	var parts []string
	if sep == nil {
		parts = strings.FieldsFunc(s, isSpace)
		if maxsplit >= 0 {
			parts = splitWhitespaceN(s, maxsplit, fromRight)
		}
	} else {
		sp := toStr(sep)
		if sp == "" {
			return nil, errors.New("empty separator")
		}
		if fromRight && maxsplit >= 0 {
			parts = rsplitN(s, sp, maxsplit)
		} else {
			parts = strings.SplitN(s, sp, maxsplit+1)
			if maxsplit < 0 {
				parts = strings.Split(s, sp)
			}
		}
	}
	out := make([]value, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return newList(out), nil
}

func rsplitN(s, sep string, n int) []string {
	var rev []string
	for ; n > 0; n-- {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		rev = append(rev, s[i+len(sep):])
		s = s[:i]
	}
	out := []string{s}
	for i := len(rev) - 1; i >= 0; i-- {
		out = append(out, rev[i])
	}
	return out
}

func splitWhitespaceN(s string, n int, fromRight bool) []string {
	if fromRight {
		s = strings.TrimRightFunc(s, isSpace)
		var rev []string
		for ; n > 0 && s != ""; n-- {
			i := strings.LastIndexFunc(s, isSpace)
			if i < 0 {
				break
			}
			_, size := utf8.DecodeRuneInString(s[i:])
			rev = append(rev, s[i+size:])
			s = strings.TrimRightFunc(s[:i], isSpace)
		}
		var out []string
		if s != "" {
			out = append(out, s)
		}
		for i := len(rev) - 1; i >= 0; i-- {
			out = append(out, rev[i])
		}
		return out
	}
	s = strings.TrimLeftFunc(s, isSpace)
	var out []string
	for ; n > 0 && s != ""; n-- {
		i := strings.IndexFunc(s, isSpace)
		if i < 0 {
			break
		}
		out = append(out, s[:i])
		s = strings.TrimLeftFunc(s[i:], isSpace)
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// pySplitlines is Python's str.splitlines without keepends.
func pySplitlines(s string) []string {
	var out []string
	start := 0
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			out = append(out, string(rs[start:i]))
			if rs[i] == '\r' && i+1 < len(rs) && rs[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	if start < len(rs) {
		out = append(out, string(rs[start:]))
	}
	return out
}

// pyTitle is Python's str.title: a letter after a cased letter is lowered,
// any other letter is raised.
func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		if prevCased {
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(unicode.ToTitle(r))
		}
		prevCased = unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
	}
	return b.String()
}

// strFormat is a small str.format: {} {0} {name} with str() of the value.
func strFormat(f string, args []value, kw *Dict) (value, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return nil, errors.New("single '{' encountered in format string")
			}
			field := f[i+1 : i+end]
			i += end
			var v value
			switch n, err := strconv.Atoi(field); {
			case field == "":
				if auto >= len(args) {
					return nil, errors.New("format: not enough positional arguments")
				}
				v = args[auto]
				auto++
			case err == nil:
				if n >= len(args) {
					return nil, errors.New("format: positional argument out of range")
				}
				v = args[n]
			default:
				var ok bool
				if v, ok = kw.get(field); !ok {
					return nil, fmt.Errorf("format: no argument %q", field)
				}
			}
			b.WriteString(toStr(v))
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
