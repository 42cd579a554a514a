package chattemplate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Values inside the interpreter are plain Go values of these types, so that
// they behave like the Python values Jinja2 works on:
//
//	nil          None
//	bool         bool
//	int64        int
//	float64      float
//	string       str
//	*List        list (and tuple)
//	*Dict        dict, keeping insertion order
//	*Namespace   the object namespace() returns
//	*Callable    a macro, a global function or a bound method
//	undefined    a name or attribute that does not exist
//	*loopState   the loop variable of a for loop
type value = any

// undefined stands for a missing name, attribute or item. Like Jinja2's
// default Undefined it prints as "", is false, iterates as empty and fails
// when an attribute is read from it or it takes part in arithmetic.
type undefined struct{ hint string }

// List is a Jinja list or tuple.
type List struct {
	items []value
	tuple bool
	view  string // "dict_items", "dict_keys" or "dict_values" for dict views
}

// Dict is a Jinja dict with string keys that remembers insertion order, as
// Python dicts do.
type Dict struct {
	keys  []string
	index map[string]int
	vals  []value
}

func newDict() *Dict { return &Dict{index: map[string]int{}} }

func (d *Dict) get(k string) (value, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

func (d *Dict) set(k string, v value) {
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

func (d *Dict) len() int { return len(d.keys) }

// Namespace is the mutable object namespace() makes; {% set ns.x = ... %}
// writes to it from any scope.
type Namespace struct{ attrs *Dict }

// Callable is a macro, a global function or a bound method.
type Callable struct {
	name string
	fn   func(r *renderer, args []value, kwargs *Dict) (value, error)
}

func isUndefined(v value) bool {
	_, ok := v.(undefined)
	return ok
}

// truthy follows Python's truth rules.
func truthy(v value) bool {
	switch x := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case *List:
		return len(x.items) > 0
	case *Dict:
		return x.len() > 0
	default:
		return true
	}
}

// typeName names a value's type the way Python error messages do.
func typeName(v value) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case undefined:
		return "Undefined"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case *List:
		if x.tuple {
			return "tuple"
		}
		return "list"
	case *Dict:
		return "dict"
	case *Namespace:
		return "Namespace"
	case *Callable:
		return "function"
	case *loopState:
		return "LoopContext"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// toStr is Python's str() of a value, which is what {{ }} prints.
func toStr(v value) string {
	switch x := v.(type) {
	case string:
		return x
	case undefined:
		return ""
	default:
		return repr(v)
	}
}

// repr is Python's repr() of a value, used inside printed lists and dicts.
func repr(v value) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v value) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case undefined:
		b.WriteString("Undefined")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloatRepr(x))
	case string:
		writeStrRepr(b, x)
	case *List:
		if x.view != "" {
			b.WriteString(x.view + "(")
			writeRepr(b, &List{items: x.items})
			b.WriteString(")")
			return
		}
		open, close := "[", "]"
		if x.tuple {
			open, close = "(", ")"
		}
		b.WriteString(open)
		for i, it := range x.items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, it)
		}
		if x.tuple && len(x.items) == 1 {
			b.WriteString(",")
		}
		b.WriteString(close)
	case *Dict:
		b.WriteString("{")
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeStrRepr(b, k)
			b.WriteString(": ")
			writeRepr(b, x.vals[i])
		}
		b.WriteString("}")
	case *Namespace:
		b.WriteString("<Namespace ")
		writeRepr(b, x.attrs)
		b.WriteString(">")
	case *Callable:
		b.WriteString("<function " + x.name + ">")
	case *loopState:
		b.WriteString("<LoopContext>")
	default:
		fmt.Fprint(b, x)
	}
}

// writeStrRepr quotes a string as Python's repr does: single quotes unless
// the string holds a single quote and no double quote.
func writeStrRepr(b *strings.Builder, s string) {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
}

// pyFloatRepr formats a float as Python's repr does: the shortest digits that
// round-trip, fixed notation for exponents in [-4, 16) with a trailing ".0"
// for whole numbers, scientific notation with a signed two-digit exponent
// otherwise.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // like -1.2345e+06
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es = "-"
			exp = -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

// equal is Python's == for the value types here.
func equal(a, b value) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case undefined:
		return isUndefined(b)
	case bool, int64, float64:
		if fa, ok := number(a); ok {
			if fb, ok := number(b); ok {
				return fa == fb
			}
		}
		return false
	case string:
		y, ok := b.(string)
		return ok && x == y
	case *List:
		y, ok := b.(*List)
		if !ok || len(x.items) != len(y.items) {
			return false
		}
		for i := range x.items {
			if !equal(x.items[i], y.items[i]) {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.len() != y.len() {
			return false
		}
		for i, k := range x.keys {
			w, ok := y.get(k)
			if !ok || !equal(x.vals[i], w) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// number gives a bool, int or float as a float64 for comparisons.
func number(v value) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// compare orders two values as Python's < does, for numbers, strings and
// lists; other pairs are an error.
func compare(a, b value) (int, error) {
	if fa, ok := number(a); ok {
		if fb, ok := number(b); ok {
			switch {
			case fa < fb:
				return -1, nil
			case fa > fb:
				return 1, nil
			}
			return 0, nil
		}
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			return strings.Compare(sa, sb), nil
		}
	}
	if la, ok := a.(*List); ok {
		if lb, ok := b.(*List); ok {
			for i := 0; i < len(la.items) && i < len(lb.items); i++ {
				if equal(la.items[i], lb.items[i]) {
					continue
				}
				return compare(la.items[i], lb.items[i])
			}
			return compare(int64(len(la.items)), int64(len(lb.items)))
		}
	}
	return 0, fmt.Errorf("'<' not supported between instances of '%s' and '%s'", typeName(a), typeName(b))
}

// iterate lists the items a for loop or filter walks: list items, dict keys,
// string characters; undefined iterates as empty.
func iterate(v value) ([]value, error) {
	switch x := v.(type) {
	case *List:
		return x.items, nil
	case *Dict:
		out := make([]value, len(x.keys))
		for i, k := range x.keys {
			out[i] = k
		}
		return out, nil
	case string:
		out := make([]value, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case undefined:
		return nil, nil
	}
	return nil, fmt.Errorf("'%s' object is not iterable", typeName(v))
}

func newList(items []value) *List { return &List{items: items} }
