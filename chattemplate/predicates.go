package chattemplate

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// testFunc is one Jinja test: v is name(args).
type testFunc func(v value, args []value) (bool, error)

// tests are Jinja2's built-in tests ("x is defined").
var tests = map[string]testFunc{
	"boolean":   func(v value, _ []value) (bool, error) { _, ok := v.(bool); return ok, nil },
	"callable":  func(v value, _ []value) (bool, error) { return isCallable(v), nil },
	"defined":   func(v value, _ []value) (bool, error) { return !isUndefined(v), nil },
	"undefined": func(v value, _ []value) (bool, error) { return isUndefined(v), nil },
	"none":      func(v value, _ []value) (bool, error) { return v == nil, nil },
	"true":      func(v value, _ []value) (bool, error) { b, ok := v.(bool); return ok && b, nil },
	"false":     func(v value, _ []value) (bool, error) { b, ok := v.(bool); return ok && !b, nil },
	"integer":   func(v value, _ []value) (bool, error) { _, ok := v.(int64); return ok, nil },
	"float":     func(v value, _ []value) (bool, error) { _, ok := v.(float64); return ok, nil },
	"number":    func(v value, _ []value) (bool, error) { _, ok := number(v); return ok, nil },
	"string":    func(v value, _ []value) (bool, error) { _, ok := v.(string); return ok, nil },
	"mapping":   func(v value, _ []value) (bool, error) { _, ok := v.(*Dict); return ok, nil },
	"iterable": func(v value, _ []value) (bool, error) {
		switch v.(type) {
		case string, *List, *Dict, undefined:
			return true, nil
		}
		return false, nil
	},
	"sequence": func(v value, _ []value) (bool, error) {
		switch v.(type) {
		case string, *List, *Dict:
			return true, nil
		}
		return false, nil
	},
	"escaped": func(v value, _ []value) (bool, error) { return false, nil },
	"lower": func(v value, _ []value) (bool, error) {
		s, ok := v.(string)
		return ok && hasCased(s) && strings.ToLower(s) == s, nil
	},
	"upper": func(v value, _ []value) (bool, error) {
		s, ok := v.(string)
		return ok && hasCased(s) && strings.ToUpper(s) == s, nil
	},
	"odd":         intTest(func(i int64) bool { return i%2 != 0 }),
	"even":        intTest(func(i int64) bool { return i%2 == 0 }),
	"divisibleby": divisibleBy,
	"eq":          compareTest("=="),
	"equalto":     compareTest("=="),
	"==":          compareTest("=="),
	"ne":          compareTest("!="),
	"!=":          compareTest("!="),
	"lt":          compareTest("<"),
	"lessthan":    compareTest("<"),
	"<":           compareTest("<"),
	"le":          compareTest("<="),
	"<=":          compareTest("<="),
	"gt":          compareTest(">"),
	"greaterthan": compareTest(">"),
	">":           compareTest(">"),
	"ge":          compareTest(">="),
	">=":          compareTest(">="),
	"in": func(v value, args []value) (bool, error) {
		if len(args) != 1 {
			return false, errors.New("test 'in' takes one argument")
		}
		return contains(args[0], v)
	},
	"sameas": func(v value, args []value) (bool, error) {
		if len(args) != 1 {
			return false, errors.New("test 'sameas' takes one argument")
		}
		switch v.(type) {
		case nil, bool:
			return v == args[0], nil
		case *List, *Dict, *Namespace, *Callable:
			return v == args[0], nil
		}
		return equal(v, args[0]), nil
	},
}

func isCallable(v value) bool {
	switch v.(type) {
	case *Callable, *loopState:
		return true
	}
	return false
}

func hasCased(s string) bool {
	for _, r := range s {
		if unicode.IsUpper(r) || unicode.IsLower(r) {
			return true
		}
	}
	return false
}

func intTest(fn func(int64) bool) testFunc {
	return func(v value, _ []value) (bool, error) {
		i, ok := intIndex(v)
		if !ok {
			return false, fmt.Errorf("'%s' is not an integer", typeName(v))
		}
		return fn(i), nil
	}
}

func divisibleBy(v value, args []value) (bool, error) {
	if len(args) != 1 {
		return false, errors.New("test 'divisibleby' takes one argument")
	}
	m, err := arith("%", v, args[0])
	if err != nil {
		return false, err
	}
	f, _ := number(m)
	return f == 0, nil
}

func compareTest(op string) testFunc {
	return func(v value, args []value) (bool, error) {
		if len(args) != 1 {
			return false, fmt.Errorf("test '%s' takes one argument", op)
		}
		return compareOp(op, v, args[0])
	}
}

func (r *renderer) evalTest(e *testExpr, sc *scope) (value, error) {
	fn, ok := tests[e.name]
	if !ok {
		return nil, renderErrorf(e.line, "no test named '%s'", e.name)
	}
	v, err := r.eval(e.operand, sc)
	if err != nil {
		return nil, err
	}
	args, _, err := r.evalArgs(e.args, nil, nil, sc)
	if err != nil {
		return nil, err
	}
	ok, err = fn(v, args)
	if err != nil {
		return nil, renderErrorf(e.line, "%v", err)
	}
	return ok != e.negate, nil
}
