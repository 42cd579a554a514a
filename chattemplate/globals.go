package chattemplate

import (
	"errors"
	"fmt"
)

// maxRange is the largest range() Jinja2's sandbox allows.
const maxRange = 100000

// globals are the functions every template sees, as transformers sets them
// up: Jinja2's range, namespace, dict, joiner and cycler, plus
// raise_exception and strftime_now.
func globals() map[string]value {
	return map[string]value{
		"range":           &Callable{name: "range", fn: globalRange},
		"namespace":       &Callable{name: "namespace", fn: globalNamespace},
		"dict":            &Callable{name: "dict", fn: globalDict},
		"joiner":          &Callable{name: "joiner", fn: globalJoiner},
		"cycler":          &Callable{name: "cycler", fn: globalCycler},
		"raise_exception": &Callable{name: "raise_exception", fn: globalRaise},
		"strftime_now":    &Callable{name: "strftime_now", fn: globalStrftimeNow},
	}
}

func globalRange(_ *renderer, args []value, kw *Dict) (value, error) {
	if kw.len() > 0 {
		return nil, errors.New("range() takes no keyword arguments")
	}
	ints := make([]int64, len(args))
	for i, a := range args {
		n, ok := intIndex(a)
		if !ok {
			return nil, fmt.Errorf("'%s' object cannot be interpreted as an integer", typeName(a))
		}
		ints[i] = n
	}
	start, stop, step := int64(0), int64(0), int64(1)
	switch len(ints) {
	case 1:
		stop = ints[0]
	case 2:
		start, stop = ints[0], ints[1]
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		return nil, fmt.Errorf("range expected 1 to 3 arguments, got %d", len(args))
	}
	if step == 0 {
		return nil, errors.New("range() arg 3 must not be zero")
	}
	var items []value
	for i := start; step > 0 && i < stop || step < 0 && i > stop; i += step {
		if len(items) >= maxRange {
			return nil, fmt.Errorf("range too big, maximum size for range is %d", maxRange)
		}
		items = append(items, i)
	}
	return newList(items), nil
}

func globalNamespace(_ *renderer, args []value, kw *Dict) (value, error) {
	ns := &Namespace{attrs: newDict()}
	for _, a := range args {
		d, ok := a.(*Dict)
		if !ok {
			return nil, errors.New("namespace() takes a mapping or keyword arguments")
		}
		for i, k := range d.keys {
			ns.attrs.set(k, d.vals[i])
		}
	}
	for i, k := range kw.keys {
		ns.attrs.set(k, kw.vals[i])
	}
	return ns, nil
}

func globalDict(_ *renderer, args []value, kw *Dict) (value, error) {
	d := newDict()
	for _, a := range args {
		src, ok := a.(*Dict)
		if !ok {
			return nil, errors.New("dict() takes a mapping or keyword arguments")
		}
		for i, k := range src.keys {
			d.set(k, src.vals[i])
		}
	}
	for i, k := range kw.keys {
		d.set(k, kw.vals[i])
	}
	return d, nil
}

func globalJoiner(_ *renderer, args []value, kw *Dict) (value, error) {
	a, err := bind("joiner", args, kw, []string{"sep"}, []value{", "})
	if err != nil {
		return nil, err
	}
	used := false
	return &Callable{name: "joiner", fn: func(*renderer, []value, *Dict) (value, error) {
		if !used {
			used = true
			return "", nil
		}
		return a[0], nil
	}}, nil
}

func globalCycler(_ *renderer, args []value, kw *Dict) (value, error) {
	if len(args) == 0 {
		return nil, errors.New("cycler needs at least one item")
	}
	pos := 0
	c := newDict()
	c.set("next", &Callable{name: "next", fn: func(*renderer, []value, *Dict) (value, error) {
		v := args[pos%len(args)]
		pos++
		return v, nil
	}})
	c.set("reset", &Callable{name: "reset", fn: func(*renderer, []value, *Dict) (value, error) {
		pos = 0
		return nil, nil
	}})
	return c, nil
}

func globalRaise(_ *renderer, args []value, kw *Dict) (value, error) {
	a, err := bind("raise_exception", args, kw, []string{"message"}, nil)
	if err != nil {
		return nil, err
	}
	return nil, &RaisedError{Message: toStr(a[0])}
}

func globalStrftimeNow(r *renderer, args []value, kw *Dict) (value, error) {
	a, err := bind("strftime_now", args, kw, []string{"format"}, nil)
	if err != nil {
		return nil, err
	}
	f, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("strftime_now: format must be a string, not %s", typeName(a[0]))
	}
	return strftime(r.now, f), nil
}
