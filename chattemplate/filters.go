package chattemplate

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// filterFunc is one Jinja filter: v | name(args, kwargs).
type filterFunc func(r *renderer, v value, args []value, kwargs *Dict) (value, error)

// filterByName finds one of Jinja2's built-in filters that chat templates
// use, with transformers' tojson.
func filterByName(name string) (filterFunc, bool) {
	switch name {
	case "abs":
		return simple(func(v value) (value, error) {
			switch x := v.(type) {
			case int64:
				return max(x, -x), nil
			case float64:
				return math.Abs(x), nil
			}
			return nil, fmt.Errorf("bad operand type for abs(): '%s'", typeName(v))
		}), true
	case "attr":
		return func(_ *renderer, v value, args []value, kw *Dict) (value, error) {
			a, err := bind("attr", args, kw, []string{"name"}, nil)
			if err != nil {
				return nil, err
			}
			return plainAttr(v, toStr(a[0])), nil
		}, true
	case "capitalize":
		return simple(func(v value) (value, error) { return pyCapitalize(toStr(v)), nil }), true
	case "count":
		return filterLength, true
	case "default":
		return filterDefault, true
	case "d":
		return filterDefault, true
	case "dictsort":
		return filterDictsort, true
	case "escape":
		return simple(func(v value) (value, error) { return htmlEscape(toStr(v)), nil }), true
	case "e":
		return simple(func(v value) (value, error) { return htmlEscape(toStr(v)), nil }), true
	case "first":
		return simple(func(v value) (value, error) {
			items, err := iterate(v)
			if err != nil || len(items) == 0 {
				return undefined{hint: "No first item, sequence was empty."}, err
			}
			return items[0], nil
		}), true
	case "float":
		return filterFloat, true
	case "format":
		return filterFormat, true
	case "indent":
		return filterIndent, true
	case "int":
		return filterInt, true
	case "items":
		return filterItems, true
	case "join":
		return filterJoin, true
	case "last":
		return simple(lastItem), true
	case "length":
		return filterLength, true
	case "list":
		return simple(func(v value) (value, error) { items, err := iterate(v); return newList(items), err }), true
	case "lower":
		return simple(func(v value) (value, error) { return strings.ToLower(toStr(v)), nil }), true
	case "map":
		return filterMap, true
	case "max":
		return func(_ *renderer, v value, args []value, kw *Dict) (value, error) { return minMax(v, args, kw, 1) }, true
	case "min":
		return func(_ *renderer, v value, args []value, kw *Dict) (value, error) { return minMax(v, args, kw, -1) }, true
	case "reject":
		return func(r *renderer, v value, a []value, kw *Dict) (value, error) {
			return selectItems(r, v, a, kw, false, false)
		}, true
	case "select":
		return func(r *renderer, v value, a []value, kw *Dict) (value, error) {
			return selectItems(r, v, a, kw, true, false)
		}, true
	case "replace":
		return filterReplace, true
	case "rejectattr":
		return func(r *renderer, v value, a []value, kw *Dict) (value, error) {
			return selectItems(r, v, a, kw, false, true)
		}, true
	case "selectattr":
		return func(r *renderer, v value, a []value, kw *Dict) (value, error) {
			return selectItems(r, v, a, kw, true, true)
		}, true
	case "reverse":
		return simple(filterReverse), true
	case "round":
		return filterRound, true
	case "safe":
		return simple(func(v value) (value, error) { return v, nil }), true
	case "sort":
		return filterSort, true
	case "string":
		return simple(func(v value) (value, error) { return toStr(v), nil }), true
	case "sum":
		return filterSum, true
	case "title":
		return simple(func(v value) (value, error) { return jinjaTitle(toStr(v)), nil }), true
	case "tojson":
		return filterToJSON, true
	case "trim":
		return filterTrim, true
	case "unique":
		return filterUnique, true
	case "upper":
		return simple(func(v value) (value, error) { return strings.ToUpper(toStr(v)), nil }), true
	case "wordcount":
		return simple(func(v value) (value, error) {
			return wordCount(toStr(v)), nil
		}), true
	}
	return nil, false
}

// simple adapts a one-argument filter.
func simple(fn func(v value) (value, error)) filterFunc {
	return func(_ *renderer, v value, args []value, kw *Dict) (value, error) {
		if len(args) > 0 || kw.len() > 0 {
			return nil, errors.New("filter takes no arguments")
		}
		return fn(v)
	}
}

// bind matches positional and keyword arguments to parameter names; a
// parameter with no default (defaults shorter than names) is required.
func bind(fname string, args []value, kw *Dict, names []string, defaults []value) ([]value, error) {
	if len(args) > len(names) {
		return nil, fmt.Errorf("%s: too many arguments", fname)
	}
	out := make([]value, len(names))
	required := len(names) - len(defaults)
	for i, n := range names {
		if i < len(args) {
			out[i] = args[i]
			continue
		}
		if kw != nil {
			if v, ok := kw.get(n); ok {
				out[i] = v
				continue
			}
		}
		if i < required {
			return nil, fmt.Errorf("%s: missing argument '%s'", fname, n)
		}
		out[i] = defaults[i-required]
	}
	if kw != nil {
		for _, k := range kw.keys {
			found := false
			for _, n := range names {
				found = found || n == k
			}
			if !found {
				return nil, fmt.Errorf("%s: unexpected keyword argument '%s'", fname, k)
			}
		}
	}
	return out, nil
}

func (r *renderer) callFilter(f *filterExpr, base value, sc *scope) (value, error) {
	fn, ok := filterByName(f.name)
	if !ok {
		return nil, renderErrorf(f.line, "no filter named '%s'", f.name)
	}
	args, kwargs, err := r.evalArgs(f.args, f.kwargs, nil, sc)
	if err != nil {
		return nil, err
	}
	v, err := fn(r, base, args, kwargs)
	if err != nil {
		return nil, renderErrorf(f.line, "%v", err)
	}
	return v, nil
}

func filterDefault(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("default", args, kw, []string{"default_value", "boolean"}, []value{"", false})
	if err != nil {
		return nil, err
	}
	if isUndefined(v) || truthy(a[1]) && !truthy(v) {
		return a[0], nil
	}
	return v, nil
}

func filterLength(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	switch x := v.(type) {
	case string:
		return int64(len([]rune(x))), nil
	case *List:
		return int64(len(x.items)), nil
	case *Dict:
		return int64(x.len()), nil
	case *Namespace:
		return int64(x.attrs.len()), nil
	case undefined:
		return int64(0), nil
	}
	return nil, fmt.Errorf("object of type '%s' has no len()", typeName(v))
}

func lastItem(v value) (value, error) {
	items, err := iterate(v)
	if err != nil || len(items) == 0 {
		return undefined{hint: "No last item, sequence was empty."}, err
	}
	return items[len(items)-1], nil
}

func filterJoin(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("join", args, kw, []string{"d", "attribute"}, []value{"", nil})
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(items))
	for i, it := range items {
		if a[1] != nil {
			if it, err = attrPath(it, a[1]); err != nil {
				return nil, err
			}
		}
		parts[i] = toStr(it)
	}
	return strings.Join(parts, toStr(a[0])), nil
}

// attrPath reads a map/sort attribute: "a.b" walks items, ints index.
func attrPath(v value, attr value) (value, error) {
	if i, ok := attr.(int64); ok {
		return getItem(v, i)
	}
	for _, part := range strings.Split(toStr(attr), ".") {
		var idx value = part
		if n, err := strconv.ParseInt(part, 10, 64); err == nil {
			idx = n
		}
		var err error
		if v, err = getItem(v, idx); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func filterItems(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	switch x := v.(type) {
	case undefined:
		return newList(nil), nil
	case *Dict:
		return dictItems(x), nil
	}
	return nil, errors.New("can only get item pairs from a mapping")
}

func dictItems(d *Dict) *List {
	out := make([]value, d.len())
	for i, k := range d.keys {
		out[i] = &List{items: []value{k, d.vals[i]}, tuple: true}
	}
	return newList(out)
}

func filterDictsort(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("dictsort", args, kw, []string{"case_sensitive", "by", "reverse"}, []value{false, "key", false})
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, errors.New("dictsort: value is not a mapping")
	}
	pos := 0
	switch toStr(a[1]) {
	case "key":
	case "value":
		pos = 1
	default:
		return nil, errors.New("You can only sort by either 'key' or 'value'")
	}
	items := dictItems(d).items
	err = sortValues(items, func(x value) (value, error) {
		return sortKey(x.(*List).items[pos], truthy(a[0])), nil
	}, truthy(a[2]))
	return newList(items), err
}

// sortKey lowers strings for case-insensitive sorting, as Jinja2 does.
func sortKey(v value, caseSensitive bool) value {
	if s, ok := v.(string); ok && !caseSensitive {
		return strings.ToLower(s)
	}
	return v
}

func sortValues(items []value, key func(value) (value, error), reverse bool) error {
	keys := make([]value, len(items))
	for i, it := range items {
		k, err := key(it)
		if err != nil {
			return err
		}
		keys[i] = k
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	var cmpErr error
	sort.SliceStable(idx, func(i, j int) bool {
		c, err := compare(keys[idx[i]], keys[idx[j]])
		if err != nil && cmpErr == nil {
			cmpErr = err
		}
		if reverse {
			return c > 0
		}
		return c < 0
	})
	sorted := make([]value, len(items))
	for i, j := range idx {
		sorted[i] = items[j]
	}
	copy(items, sorted)
	return cmpErr
}

func filterSort(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("sort", args, kw, []string{"reverse", "case_sensitive", "attribute"}, []value{false, false, nil})
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	items = append([]value{}, items...)
	err = sortValues(items, func(x value) (value, error) {
		if a[2] != nil {
			var err error
			if x, err = attrPath(x, a[2]); err != nil {
				return nil, err
			}
		}
		return sortKey(x, truthy(a[1])), nil
	}, truthy(a[0]))
	return newList(items), err
}

func filterUnique(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("unique", args, kw, []string{"case_sensitive", "attribute"}, []value{false, nil})
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	var out, seen []value
	for _, it := range items {
		k := it
		if a[1] != nil {
			if k, err = attrPath(it, a[1]); err != nil {
				return nil, err
			}
		}
		k = sortKey(k, truthy(a[0]))
		dup := false
		for _, s := range seen {
			dup = dup || equal(s, k)
		}
		if !dup {
			seen = append(seen, k)
			out = append(out, it)
		}
	}
	return newList(out), nil
}

func minMax(v value, args []value, kw *Dict, sign int) (value, error) {
	a, err := bind("min/max", args, kw, []string{"case_sensitive", "attribute"}, []value{false, nil})
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	var best, bestKey value
	for i, it := range items {
		k := it
		if a[1] != nil {
			if k, err = attrPath(it, a[1]); err != nil {
				return nil, err
			}
		}
		k = sortKey(k, truthy(a[0]))
		if i == 0 {
			best, bestKey = it, k
			continue
		}
		c, err := compare(k, bestKey)
		if err != nil {
			return nil, err
		}
		if c*sign > 0 {
			best, bestKey = it, k
		}
	}
	if len(items) == 0 {
		return undefined{hint: "No aggregated item, sequence was empty."}, nil
	}
	return best, nil
}

func filterSum(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("sum", args, kw, []string{"attribute", "start"}, []value{nil, int64(0)})
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	total := a[1]
	for _, it := range items {
		if a[0] != nil {
			if it, err = attrPath(it, a[0]); err != nil {
				return nil, err
			}
		}
		if total, err = arith("+", total, it); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func filterReverse(v value) (value, error) {
	switch x := v.(type) {
	case string:
		rs := []rune(x)
		for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
			rs[i], rs[j] = rs[j], rs[i]
		}
		return string(rs), nil
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	out := make([]value, len(items))
	for i, it := range items {
		out[len(items)-1-i] = it
	}
	return newList(out), nil
}

func filterReplace(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("replace", args, kw, []string{"old", "new", "count"}, []value{nil})
	if err != nil {
		return nil, err
	}
	n := -1
	if c, ok := a[2].(int64); ok {
		n = int(c)
	}
	return strings.Replace(toStr(v), toStr(a[0]), toStr(a[1]), n), nil
}

func filterTrim(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("trim", args, kw, []string{"chars"}, []value{nil})
	if err != nil {
		return nil, err
	}
	return pyStrip(toStr(v), a[0], true, true), nil
}

func filterInt(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("int", args, kw, []string{"default", "base"}, []value{int64(0), int64(10)})
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case int64:
		return x, nil
	case bool:
		i, _ := intIndex(x)
		return i, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return a[0], nil
		}
		return int64(x), nil
	case string:
		base, _ := a[1].(int64)
		s := strings.ReplaceAll(strings.TrimFunc(x, isSpace), "_", "")
		prefixes := map[int64]string{16: "0x", 8: "0o", 2: "0b"}
		if p, ok := prefixes[base]; ok {
			sign := ""
			if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
				sign, s = s[:1], s[1:]
			}
			if len(s) > 2 && strings.EqualFold(s[:2], p) {
				s = s[2:]
			}
			s = sign + s
		}
		if i, err := strconv.ParseInt(s, int(base), 64); err == nil {
			return i, nil
		}
		if base == 10 {
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return int64(f), nil
			}
		}
	}
	return a[0], nil
}

func filterFloat(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("float", args, kw, []string{"default"}, []value{0.0})
	if err != nil {
		return nil, err
	}
	if f, ok := number(v); ok {
		return f, nil
	}
	if s, ok := v.(string); ok {
		if f, err := strconv.ParseFloat(strings.TrimFunc(s, isSpace), 64); err == nil {
			return f, nil
		}
	}
	return a[0], nil
}

func filterRound(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("round", args, kw, []string{"precision", "method"}, []value{int64(0), "common"})
	if err != nil {
		return nil, err
	}
	prec, _ := a[0].(int64)
	method := toStr(a[1])
	if i, ok := v.(int64); ok && method == "common" {
		return i, nil
	}
	f, ok := number(v)
	if !ok {
		return nil, fmt.Errorf("round: '%s' is not a number", typeName(v))
	}
	scale := math.Pow(10, float64(prec))
	switch method {
	case "common":
		rounded, err := strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(max(prec, 0)), 64), 64)
		if prec < 0 {
			rounded = math.RoundToEven(f*scale) / scale
		}
		return rounded, err
	case "floor":
		return math.Floor(f*scale) / scale, nil
	case "ceil":
		return math.Ceil(f*scale) / scale, nil
	}
	return nil, errors.New("method must be common, ceil or floor")
}

func filterIndent(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("indent", args, kw, []string{"width", "first", "blank"}, []value{int64(4), false, false})
	if err != nil {
		return nil, err
	}
	indention := toStr(a[0])
	if n, ok := a[0].(int64); ok {
		if n > maxRepeat {
			return nil, errors.New("indent width too large")
		}
		indention = strings.Repeat(" ", int(max(n, 0)))
	}
	lines := pySplitlines(toStr(v) + "\n")
	var rv string
	if truthy(a[2]) {
		rv = strings.Join(lines, "\n"+indention)
	} else {
		rv = lines[0]
		for _, l := range lines[1:] {
			rv += "\n"
			if l != "" {
				rv += indention
			}
			rv += l
		}
	}
	if truthy(a[1]) {
		rv = indention + rv
	}
	return rv, nil
}

func filterToJSON(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	a, err := bind("tojson", args, kw, []string{"ensure_ascii", "indent", "separators", "sort_keys"},
		[]value{false, nil, nil, false})
	if err != nil {
		return nil, err
	}
	o := jsonOptions{ensureASCII: truthy(a[0]), sortKeys: truthy(a[3])}
	switch ind := a[1].(type) {
	case nil:
	case string:
		o.indent, o.hasIndent = ind, true
	case int64, bool:
		n, _ := intIndex(ind)
		if n > maxRepeat {
			return nil, errors.New("tojson: indent too large")
		}
		o.indent, o.hasIndent = strings.Repeat(" ", int(max(n, 0))), true
	default:
		return nil, errors.New("tojson: indent must be an int or a string")
	}
	if a[2] != nil {
		seps, ok := a[2].(*List)
		if !ok || len(seps.items) != 2 {
			return nil, errors.New("tojson: separators must be a pair of strings")
		}
		o.itemSep, o.keySep = toStr(seps.items[0]), toStr(seps.items[1])
	}
	return toJSON(v, o)
}

// filterMap is map(attribute=...) or map('filter', args...).
func filterMap(r *renderer, v value, args []value, kw *Dict) (value, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	out := make([]value, 0, len(items))
	if attr, ok := kw.get("attribute"); ok && len(args) == 0 {
		def, hasDef := kw.get("default")
		for _, it := range items {
			x, err := attrPath(it, attr)
			if err != nil {
				return nil, err
			}
			if isUndefined(x) && hasDef {
				x = def
			}
			out = append(out, x)
		}
		return newList(out), nil
	}
	if len(args) == 0 {
		return nil, errors.New("map requires a filter argument")
	}
	name := toStr(args[0])
	fn, ok := filterByName(name)
	if !ok {
		return nil, fmt.Errorf("no filter named '%s'", name)
	}
	for _, it := range items {
		x, err := fn(r, it, args[1:], kw)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return newList(out), nil
}

// selectItems implements select, reject, selectattr and rejectattr.
func selectItems(r *renderer, v value, args []value, kw *Dict, keep, byAttr bool) (value, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	var attr value
	if byAttr {
		if len(args) == 0 {
			return nil, errors.New("missing attribute")
		}
		attr, args = args[0], args[1:]
	}
	test := func(x value) (bool, error) { return truthy(x), nil }
	if len(args) > 0 {
		name := toStr(args[0])
		fn, ok := tests[name]
		if !ok {
			return nil, fmt.Errorf("no test named '%s'", name)
		}
		rest := args[1:]
		test = func(x value) (bool, error) { return fn(x, rest) }
	}
	var out []value
	for _, it := range items {
		x := it
		if byAttr {
			if x, err = attrPath(it, attr); err != nil {
				return nil, err
			}
		}
		ok, err := test(x)
		if err != nil {
			return nil, err
		}
		if ok == keep {
			out = append(out, it)
		}
	}
	return newList(out), nil
}

// filterFormat is Python's "%" string formatting: value|format(args).
func filterFormat(_ *renderer, v value, args []value, kw *Dict) (value, error) {
	f := toStr(v)
	var b strings.Builder
	n := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		if i >= len(f) {
			return nil, errors.New("incomplete format")
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		if n >= len(args) {
			return nil, errors.New("not enough arguments for format string")
		}
		arg := args[n]
		n++
		switch f[i] {
		case 's':
			b.WriteString(toStr(arg))
		case 'r':
			b.WriteString(repr(arg))
		case 'd', 'i':
			x, ok := number(arg)
			if !ok {
				return nil, fmt.Errorf("%%d format: a real number is required, not %s", typeName(arg))
			}
			b.WriteString(strconv.FormatInt(int64(x), 10))
		case 'f':
			x, ok := number(arg)
			if !ok {
				return nil, fmt.Errorf("must be real number, not %s", typeName(arg))
			}
			b.WriteString(strconv.FormatFloat(x, 'f', 6, 64))
		default:
			return nil, fmt.Errorf("unsupported format character '%c'", f[i])
		}
	}
	if n < len(args) {
		return nil, errors.New("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// wordCount counts runs of word characters, as Python's \w+ does.
func wordCount(s string) int64 {
	n, inWord := int64(0), false
	for _, r := range s {
		word := r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r)
		if word && !inWord {
			n++
		}
		inWord = word
	}
	return n
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// jinjaTitle is Jinja2's title filter: each word, split at whitespace,
// dashes and opening brackets, gets an upper-case first letter and the rest
// lower-case.
func jinjaTitle(s string) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		sep := isSpace(r) || strings.ContainsRune("-({[<", r)
		switch {
		case sep:
			b.WriteRune(r)
		case start:
			b.WriteRune(unicode.ToUpper(r))
		default:
			b.WriteRune(unicode.ToLower(r))
		}
		start = sep
	}
	return b.String()
}

// pyCapitalize is Python's str.capitalize.
func pyCapitalize(s string) string {
	rs := []rune(strings.ToLower(s))
	if len(rs) > 0 {
		rs[0] = unicode.ToTitle(rs[0])
	}
	return string(rs)
}
