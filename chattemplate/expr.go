package chattemplate

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

func (r *renderer) eval(e expr, sc *scope) (value, error) {
	switch e := e.(type) {
	case *literalExpr:
		return e.val, nil
	case *nameExpr:
		if v, ok := sc.lookup(e.name); ok {
			return v, nil
		}
		return undefined{hint: fmt.Sprintf("'%s' is undefined", e.name)}, nil
	case *listExpr:
		items := make([]value, len(e.items))
		for i, it := range e.items {
			v, err := r.eval(it, sc)
			if err != nil {
				return nil, err
			}
			items[i] = v
		}
		return &List{items: items, tuple: e.tuple}, nil
	case *dictExpr:
		d := newDict()
		for i, k := range e.keys {
			kv, err := r.eval(k, sc)
			if err != nil {
				return nil, err
			}
			ks, ok := kv.(string)
			if !ok {
				return nil, fmt.Errorf("dict keys must be strings, got %s", typeName(kv))
			}
			v, err := r.eval(e.vals[i], sc)
			if err != nil {
				return nil, err
			}
			d.set(ks, v)
		}
		return d, nil
	case *attrExpr:
		obj, err := r.eval(e.obj, sc)
		if err != nil {
			return nil, err
		}
		if u, ok := obj.(undefined); ok {
			return nil, errors.New(u.hint)
		}
		return getAttr(obj, e.name), nil
	case *itemExpr:
		obj, err := r.eval(e.obj, sc)
		if err != nil {
			return nil, err
		}
		idx, err := r.eval(e.index, sc)
		if err != nil {
			return nil, err
		}
		return getItem(obj, idx)
	case *sliceExpr:
		return r.evalSlice(e, sc)
	case *callExpr:
		fn, err := r.eval(e.fn, sc)
		if err != nil {
			return nil, err
		}
		args, kwargs, err := r.evalArgs(e.args, e.kwargs, e.star, sc)
		if err != nil {
			return nil, err
		}
		return r.callValue(fn, args, kwargs, e.line)
	case *filterExpr:
		base, err := r.eval(e.base, sc)
		if err != nil {
			return nil, err
		}
		return r.callFilter(e, base, sc)
	case *testExpr:
		return r.evalTest(e, sc)
	case *unaryExpr:
		x, err := r.eval(e.x, sc)
		if err != nil {
			return nil, err
		}
		return unary(e.op, x)
	case *binaryExpr:
		return r.evalBinary(e, sc)
	case *compareExpr:
		return r.evalCompare(e, sc)
	case *condExpr:
		c, err := r.eval(e.cond, sc)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return r.eval(e.then, sc)
		}
		if e.orElse == nil {
			return undefined{hint: "the inline if expression evaluated to false and no else section was defined"}, nil
		}
		return r.eval(e.orElse, sc)
	}
	return nil, fmt.Errorf("unknown expression %T", e)
}

func (r *renderer) evalArgs(argExprs []expr, kwExprs []kwarg, star expr, sc *scope) ([]value, *Dict, error) {
	args := make([]value, 0, len(argExprs))
	for _, a := range argExprs {
		v, err := r.eval(a, sc)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, v)
	}
	if star != nil {
		v, err := r.eval(star, sc)
		if err != nil {
			return nil, nil, err
		}
		items, err := iterate(v)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, items...)
	}
	kwargs := newDict()
	for _, k := range kwExprs {
		v, err := r.eval(k.val, sc)
		if err != nil {
			return nil, nil, err
		}
		kwargs.set(k.name, v)
	}
	return args, kwargs, nil
}

func (r *renderer) callValue(fn value, args []value, kwargs *Dict, line int) (value, error) {
	switch f := fn.(type) {
	case *Callable:
		v, err := f.fn(r, args, kwargs)
		if err != nil {
			var raised *RaisedError
			var rerr *RenderError
			if errors.As(err, &raised) || errors.As(err, &rerr) {
				return nil, err
			}
			return nil, renderErrorf(line, "%v", err)
		}
		return v, nil
	case *loopState:
		return f.call(args)
	case undefined:
		return nil, renderErrorf(line, "%s", f.hint)
	}
	return nil, renderErrorf(line, "'%s' object is not callable", typeName(fn))
}

// getAttr is Jinja2's attribute lookup (obj.name): a method of the value's
// type first, then the item of that name; missing gives undefined.
func getAttr(obj value, name string) value {
	if m := method(obj, name); m != nil {
		return m
	}
	switch o := obj.(type) {
	case *Dict:
		if v, ok := o.get(name); ok {
			return v
		}
	case *Namespace:
		if v, ok := o.attrs.get(name); ok {
			return v
		}
	case *loopState:
		return o.attr(name)
	}
	return undefined{hint: fmt.Sprintf("'%s object' has no attribute '%s'", typeName(obj), name)}
}

// plainAttr is Python's getattr alone, without the item fallback: what
// the attr filter reads.
func plainAttr(obj value, name string) value {
	if m := method(obj, name); m != nil {
		return m
	}
	switch o := obj.(type) {
	case *Namespace:
		if v, ok := o.attrs.get(name); ok {
			return v
		}
	case *loopState:
		return o.attr(name)
	}
	return undefined{hint: fmt.Sprintf("'%s object' has no attribute '%s'", typeName(obj), name)}
}

// getItem is Jinja2's subscript lookup (obj[index]): the item first, then for
// a string index the attribute of that name.
func getItem(obj value, idx value) (value, error) {
	switch o := obj.(type) {
	case undefined:
		return nil, errors.New(o.hint)
	case *Dict:
		if k, ok := idx.(string); ok {
			if v, ok := o.get(k); ok {
				return v, nil
			}
		}
	case *List:
		if i, ok := intIndex(idx); ok {
			if i < 0 {
				i += int64(len(o.items))
			}
			if i >= 0 && i < int64(len(o.items)) {
				return o.items[i], nil
			}
			return undefined{hint: fmt.Sprintf("%s object has no element %v", typeName(obj), idx)}, nil
		}
	case string:
		if i, ok := intIndex(idx); ok {
			rs := []rune(o)
			if i < 0 {
				i += int64(len(rs))
			}
			if i >= 0 && i < int64(len(rs)) {
				return string(rs[i]), nil
			}
			return undefined{hint: fmt.Sprintf("str object has no element %v", idx)}, nil
		}
	}
	if k, ok := idx.(string); ok {
		return getAttr(obj, k), nil
	}
	return undefined{hint: fmt.Sprintf("%s object has no element %s", typeName(obj), repr(idx))}, nil
}

func intIndex(v value) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func (r *renderer) evalSlice(e *sliceExpr, sc *scope) (value, error) {
	obj, err := r.eval(e.obj, sc)
	if err != nil {
		return nil, err
	}
	var bounds [3]*int64
	for i, b := range []expr{e.start, e.stop, e.step} {
		if b == nil {
			continue
		}
		v, err := r.eval(b, sc)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		n, ok := intIndex(v)
		if !ok {
			return nil, errors.New("slice indices must be integers or None")
		}
		bounds[i] = &n
	}
	switch o := obj.(type) {
	case *List:
		idx, err := sliceIndices(len(o.items), bounds)
		if err != nil {
			return nil, err
		}
		out := make([]value, len(idx))
		for i, j := range idx {
			out[i] = o.items[j]
		}
		return &List{items: out, tuple: o.tuple}, nil
	case string:
		rs := []rune(o)
		idx, err := sliceIndices(len(rs), bounds)
		if err != nil {
			return nil, err
		}
		out := make([]rune, len(idx))
		for i, j := range idx {
			out[i] = rs[j]
		}
		return string(out), nil
	case undefined:
		return nil, errors.New(o.hint)
	}
	return nil, fmt.Errorf("'%s' object is not subscriptable", typeName(obj))
}

// sliceIndices lists the indices Python's seq[start:stop:step] selects.
func sliceIndices(n int, b [3]*int64) ([]int, error) {
	step := int64(1)
	if b[2] != nil {
		step = *b[2]
	}
	if step == 0 {
		return nil, errors.New("slice step cannot be zero")
	}
	ln := int64(n)
	clamp := func(p *int64, def int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += ln
			if v < 0 {
				if step < 0 {
					return -1
				}
				return 0
			}
		} else if v >= ln {
			if step < 0 {
				return ln - 1
			}
			return ln
		}
		return v
	}
	var out []int
	if step > 0 {
		for i, stop := clamp(b[0], 0), clamp(b[1], ln); i < stop; i += step {
			out = append(out, int(i))
			if step > stop-i {
				break
			}
		}
	} else {
		for i, stop := clamp(b[0], ln-1), clamp(b[1], -1); i > stop; i += step {
			out = append(out, int(i))
			if -step > i-stop {
				break
			}
		}
	}
	return out, nil
}

func unary(op string, x value) (value, error) {
	if op == "not" {
		return !truthy(x), nil
	}
	switch v := x.(type) {
	case int64:
		if op == "-" {
			return -v, nil
		}
		return v, nil
	case float64:
		if op == "-" {
			return -v, nil
		}
		return v, nil
	case bool:
		i := int64(0)
		if v {
			i = 1
		}
		if op == "-" {
			return -i, nil
		}
		return i, nil
	case undefined:
		return nil, errors.New(v.hint)
	}
	return nil, fmt.Errorf("bad operand type for unary %s: '%s'", op, typeName(x))
}

func (r *renderer) evalBinary(e *binaryExpr, sc *scope) (value, error) {
	l, err := r.eval(e.l, sc)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return r.eval(e.r, sc)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return r.eval(e.r, sc)
	}
	rv, err := r.eval(e.r, sc)
	if err != nil {
		return nil, err
	}
	v, err := arith(e.op, l, rv)
	if err != nil {
		return nil, renderErrorf(e.line, "%v", err)
	}
	return v, nil
}

// arith applies a binary operator with Python's rules.
func arith(op string, l, r value) (value, error) {
	for _, v := range []value{l, r} {
		if u, ok := v.(undefined); ok && op != "~" {
			return nil, errors.New(u.hint)
		}
	}
	if op == "~" {
		return toStr(l) + toStr(r), nil
	}
	switch op {
	case "+":
		if ls, ok := l.(string); ok {
			if rs, ok := r.(string); ok {
				return ls + rs, nil
			}
		}
		if ll, ok := l.(*List); ok {
			if rl, ok := r.(*List); ok && ll.tuple == rl.tuple {
				items := append(append([]value{}, ll.items...), rl.items...)
				return &List{items: items, tuple: ll.tuple}, nil
			}
		}
	case "*":
		if v, ok, err := repeat(l, r); ok {
			return v, err
		}
		if v, ok, err := repeat(r, l); ok {
			return v, err
		}
	}
	li, lInt := intIndex(l)
	ri, rInt := intIndex(r)
	if lInt && rInt {
		return intArith(op, li, ri)
	}
	lf, lok := number(l)
	rf, rok := number(r)
	if !lok || !rok {
		return nil, fmt.Errorf("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(l), typeName(r))
	}
	switch op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, errors.New("float division by zero")
		}
		return lf / rf, nil
	case "//":
		if rf == 0 {
			return nil, errors.New("float floor division by zero")
		}
		return math.Floor(lf / rf), nil
	case "%":
		if rf == 0 {
			return nil, errors.New("float modulo")
		}
		m := math.Mod(lf, rf)
		if m != 0 && (m < 0) != (rf < 0) {
			m += rf
		}
		return m, nil
	case "**":
		return math.Pow(lf, rf), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

func intArith(op string, a, b int64) (value, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, errors.New("division by zero")
		}
		return float64(a) / float64(b), nil
	case "//", "%":
		if b == 0 {
			return nil, errors.New("integer division or modulo by zero")
		}
		q, m := a/b, a%b
		if m != 0 && (m < 0) != (b < 0) {
			q--
			m += b
		}
		if op == "//" {
			return q, nil
		}
		return m, nil
	case "**":
		if b < 0 {
			return math.Pow(float64(a), float64(b)), nil
		}
		out := int64(1)
		for ; b > 0; b >>= 1 {
			if b&1 == 1 {
				out *= a
			}
			a *= a
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// maxRepeat bounds what one operation may build (string * int, list * int,
// indent widths): a template that asks for more is broken, and failing
// beats exhausting memory.
const maxRepeat = 1 << 24

// repeat is str * int and list * int.
func repeat(seq, n value) (value, bool, error) {
	count, ok := n.(int64)
	if !ok {
		return nil, false, nil
	}
	count = max(count, 0)
	switch s := seq.(type) {
	case string:
		if count > 0 && int64(len(s)) > maxRepeat/count {
			return nil, true, errors.New("repeated string too long")
		}
		return strings.Repeat(s, int(count)), true, nil
	case *List:
		if count > 0 && int64(len(s.items)) > maxRepeat/count {
			return nil, true, errors.New("repeated list too long")
		}
		var items []value
		for range count {
			items = append(items, s.items...)
		}
		return &List{items: items, tuple: s.tuple}, true, nil
	}
	return nil, false, nil
}

func (r *renderer) evalCompare(e *compareExpr, sc *scope) (value, error) {
	l, err := r.eval(e.first, sc)
	if err != nil {
		return nil, err
	}
	for i, op := range e.ops {
		rv, err := r.eval(e.rest[i], sc)
		if err != nil {
			return nil, err
		}
		ok, err := compareOp(op, l, rv)
		if err != nil {
			return nil, renderErrorf(e.line, "%v", err)
		}
		if !ok {
			return false, nil
		}
		l = rv
	}
	return true, nil
}

func compareOp(op string, l, r value) (bool, error) {
	switch op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "in":
		return contains(r, l)
	case "not in":
		in, err := contains(r, l)
		return !in, err
	}
	for _, v := range []value{l, r} {
		if u, ok := v.(undefined); ok {
			return false, errors.New(u.hint)
		}
	}
	c, err := compare(l, r)
	if err != nil {
		return false, err
	}
	switch op {
	case "<":
		return c < 0, nil
	case ">":
		return c > 0, nil
	case "<=":
		return c <= 0, nil
	}
	return c >= 0, nil
}

// contains is Python's "needle in container".
func contains(container, needle value) (bool, error) {
	switch c := container.(type) {
	case string:
		n, ok := needle.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires string as left operand, not %s", typeName(needle))
		}
		return strings.Contains(c, n), nil
	case *List:
		for _, it := range c.items {
			if equal(it, needle) {
				return true, nil
			}
		}
		return false, nil
	case *Dict:
		k, ok := needle.(string)
		return ok && hasKey(c, k), nil
	case undefined:
		return false, nil
	}
	return false, fmt.Errorf("argument of type '%s' is not iterable", typeName(container))
}
