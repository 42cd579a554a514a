package chattemplate

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// maxCallDepth bounds macro recursion, as Python's recursion limit bounds
// Jinja2's.
const maxCallDepth = 200

var (
	errBreak    = errors.New("break outside a loop")
	errContinue = errors.New("continue outside a loop")
)

// scope is one level of variables; lookups walk to the parent. A for loop
// iteration, a macro call and a with block each get their own, so that
// their assignments do not leak out, as in Jinja2.
type scope struct {
	vars   map[string]value
	parent *scope
}

func newScope(parent *scope) *scope { return &scope{vars: map[string]value{}, parent: parent} }

func (s *scope) lookup(name string) (value, bool) {
	for c := s; c != nil; c = c.parent {
		if v, ok := c.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// renderer holds the state of one render.
type renderer struct {
	out   *strings.Builder
	now   time.Time
	depth int
}

func (r *renderer) execBody(body []node, sc *scope) error {
	for _, n := range body {
		if err := r.exec(n, sc); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) exec(n node, sc *scope) error {
	switch n := n.(type) {
	case *textNode:
		r.out.WriteString(n.text)
	case *outputNode:
		v, err := r.eval(n.expr, sc)
		if err != nil {
			return err
		}
		r.out.WriteString(toStr(v))
	case *ifNode:
		for i, c := range n.conds {
			v, err := r.eval(c, sc)
			if err != nil {
				return err
			}
			if truthy(v) {
				return r.execBody(n.bodies[i], sc)
			}
		}
		return r.execBody(n.orElse, sc)
	case *forNode:
		iter, err := r.eval(n.iter, sc)
		if err != nil {
			return err
		}
		return r.execFor(n, iter, sc, 0)
	case *setNode:
		v, err := r.eval(n.value, sc)
		if err != nil {
			return err
		}
		return r.assign(n.target, v, sc)
	case *setBlockNode:
		s, err := r.capture(n.body, sc)
		if err != nil {
			return err
		}
		v, err := r.applyFilters(s, n.filters, sc)
		if err != nil {
			return err
		}
		sc.vars[n.name] = v
	case *macroNode:
		sc.vars[n.name] = r.macro(n.name, n.params, n.body, sc)
	case *callBlockNode:
		return r.execCallBlock(n, sc)
	case *filterBlockNode:
		s, err := r.capture(n.body, sc)
		if err != nil {
			return err
		}
		v, err := r.applyFilters(s, n.filters, sc)
		if err != nil {
			return err
		}
		r.out.WriteString(toStr(v))
	case *withNode:
		inner := newScope(sc)
		for i, t := range n.targets {
			v, err := r.eval(n.values[i], sc)
			if err != nil {
				return err
			}
			if err := r.assign(t, v, inner); err != nil {
				return err
			}
		}
		return r.execBody(n.body, inner)
	case *breakNode:
		return errBreak
	case *continueNode:
		return errContinue
	default:
		return fmt.Errorf("unknown node %T", n)
	}
	return nil
}

// capture renders body into a string instead of the output.
func (r *renderer) capture(body []node, sc *scope) (string, error) {
	v, err := captureValue(r, func() error { return r.execBody(body, sc) })
	return v.(string), err
}

func (r *renderer) applyFilters(v value, filters []*filterExpr, sc *scope) (value, error) {
	for _, f := range filters {
		var err error
		if v, err = r.callFilter(f, v, sc); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// assign binds a set/for/with target: a name, ns.attr or a tuple of names.
func (r *renderer) assign(target expr, v value, sc *scope) error {
	switch t := target.(type) {
	case *nameExpr:
		sc.vars[t.name] = v
		return nil
	case *attrExpr:
		ref := t.obj.(*nameExpr)
		obj, _ := sc.lookup(ref.name)
		ns, ok := obj.(*Namespace)
		if !ok {
			return renderErrorf(ref.line, "cannot assign attribute on non-namespace object")
		}
		ns.attrs.set(t.name, v)
		return nil
	case *listExpr:
		items, err := iterate(v)
		if err != nil {
			return err
		}
		if len(items) != len(t.items) {
			return fmt.Errorf("cannot unpack %d values into %d names", len(items), len(t.items))
		}
		for i, it := range t.items {
			if err := r.assign(it, items[i], sc); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("cannot assign to %T", target)
}

// loopState is the loop variable of a for loop.
type loopState struct {
	items  []value
	index  int
	depth  int
	node   *forNode
	parent *scope
	r      *renderer
}

func (l *loopState) attr(name string) value {
	n := len(l.items)
	switch name {
	case "index":
		return int64(l.index + 1)
	case "index0":
		return int64(l.index)
	case "revindex":
		return int64(n - l.index)
	case "revindex0":
		return int64(n - l.index - 1)
	case "first":
		return l.index == 0
	case "last":
		return l.index == n-1
	case "length":
		return int64(n)
	case "depth":
		return int64(l.depth + 1)
	case "depth0":
		return int64(l.depth)
	case "previtem":
		if l.index > 0 {
			return l.items[l.index-1]
		}
		return undefined{hint: "there is no previous item"}
	case "nextitem":
		if l.index < n-1 {
			return l.items[l.index+1]
		}
		return undefined{hint: "there is no next item"}
	case "cycle":
		return &Callable{name: "cycle", fn: func(_ *renderer, args []value, _ *Dict) (value, error) {
			if len(args) == 0 {
				return nil, errors.New("no items for cycling given")
			}
			return args[l.index%len(args)], nil
		}}
	}
	return undefined{hint: fmt.Sprintf("'LoopContext' object has no attribute '%s'", name)}
}

// call renders the loop body again for a recursive loop: loop(children).
func (l *loopState) call(args []value) (value, error) {
	if !l.node.recursive {
		return nil, errors.New("the loop must be marked recursive to be called")
	}
	if len(args) != 1 {
		return nil, errors.New("a recursive loop takes one iterable")
	}
	return captureValue(l.r, func() error { return l.r.execFor(l.node, args[0], l.parent, l.depth+1) })
}

// captureValue runs fn with the output redirected and returns what it wrote.
func captureValue(r *renderer, fn func() error) (value, error) {
	saved := r.out
	var b strings.Builder
	r.out = &b
	err := fn()
	r.out = saved
	return b.String(), err
}

func (r *renderer) execFor(n *forNode, iterable value, sc *scope, depth int) error {
	all, err := iterate(iterable)
	if err != nil {
		return renderErrorf(n.line, "%v", err)
	}
	items := all
	if n.filter != nil {
		items = nil
		for _, it := range all {
			inner := newScope(sc)
			if err := r.assign(n.target, it, inner); err != nil {
				return err
			}
			v, err := r.eval(n.filter, inner)
			if err != nil {
				return err
			}
			if truthy(v) {
				items = append(items, it)
			}
		}
	}
	if len(items) == 0 {
		return r.execBody(n.orElse, sc)
	}
	loop := &loopState{items: items, depth: depth, node: n, parent: sc, r: r}
	for i, it := range items {
		loop.index = i
		inner := newScope(sc)
		inner.vars["loop"] = loop
		if err := r.assign(n.target, it, inner); err != nil {
			return err
		}
		err := r.execBody(n.body, inner)
		if errors.Is(err, errBreak) {
			break
		}
		if err != nil && !errors.Is(err, errContinue) {
			return err
		}
	}
	return nil
}

// macro makes the callable a {% macro %} defines. Arguments bind to the
// parameters by position or name; missing ones take their default or are
// undefined; caller is bound when called from a call block.
func (r *renderer) macro(name string, params []param, body []node, defScope *scope) *Callable {
	return &Callable{name: name, fn: func(r *renderer, args []value, kwargs *Dict) (value, error) {
		if r.depth >= maxCallDepth {
			return nil, fmt.Errorf("macro %s: maximum recursion depth exceeded", name)
		}
		inner := newScope(defScope)
		if len(args) > len(params) {
			return nil, fmt.Errorf("macro '%s' takes not more than %d argument(s)", name, len(params))
		}
		for i, p := range params {
			switch {
			case i < len(args):
				inner.vars[p.name] = args[i]
			case kwargs != nil && hasKey(kwargs, p.name):
				v, _ := kwargs.get(p.name)
				inner.vars[p.name] = v
			case p.def != nil:
				v, err := r.eval(p.def, inner)
				if err != nil {
					return nil, err
				}
				inner.vars[p.name] = v
			default:
				inner.vars[p.name] = undefined{hint: fmt.Sprintf("parameter '%s' was not provided", p.name)}
			}
		}
		if kwargs != nil {
			for i, k := range kwargs.keys {
				if k == "caller" {
					inner.vars[k] = kwargs.vals[i]
					continue
				}
				if !hasParam(params, k) {
					return nil, fmt.Errorf("macro '%s' takes no keyword argument '%s'", name, k)
				}
			}
		}
		r.depth++
		defer func() { r.depth-- }()
		return captureValue(r, func() error { return r.execBody(body, inner) })
	}}
}

func hasKey(d *Dict, k string) bool { _, ok := d.get(k); return ok }

func hasParam(params []param, name string) bool {
	for _, p := range params {
		if p.name == name {
			return true
		}
	}
	return false
}

func (r *renderer) execCallBlock(n *callBlockNode, sc *scope) error {
	caller := r.macro("caller", n.params, n.body, sc)
	fn, err := r.eval(n.call.fn, sc)
	if err != nil {
		return err
	}
	args, kwargs, err := r.evalArgs(n.call.args, n.call.kwargs, n.call.star, sc)
	if err != nil {
		return err
	}
	kwargs.set("caller", caller)
	v, err := r.callValue(fn, args, kwargs, n.call.line)
	if err != nil {
		return err
	}
	r.out.WriteString(toStr(v))
	return nil
}
