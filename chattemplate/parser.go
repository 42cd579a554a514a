package chattemplate

import (
	"fmt"
	"strconv"
)

// parser builds the statement tree from the token stream with Jinja2's
// grammar and operator precedence.
type parser struct {
	toks []token
	pos  int
}

func parse(src string) ([]node, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	body, end, err := p.parseBody()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, p.errorf("unexpected '%s'", end)
	}
	return body, nil
}

func (p *parser) cur() token  { return p.toks[p.pos] }
func (p *parser) peek() token { return p.toks[min(p.pos+1, len(p.toks)-1)] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Line: p.cur().line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) isOp(op string) bool   { t := p.cur(); return t.kind == tokOp && t.val == op }
func (p *parser) isName(n string) bool  { t := p.cur(); return t.kind == tokName && t.val == n }
func (p *parser) skipOp(op string) bool { return p.isOp(op) && p.next().kind == tokOp }
func (p *parser) skipName(n string) bool {
	if p.isName(n) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectOp(op string) error {
	if !p.skipOp(op) {
		return p.errorf("expected '%s', got %v", op, p.cur())
	}
	return nil
}

func (p *parser) expectName(n string) error {
	if !p.skipName(n) {
		return p.errorf("expected '%s', got %v", n, p.cur())
	}
	return nil
}

func (p *parser) expectBlockEnd() error {
	if p.cur().kind != tokBlockEnd {
		return p.errorf("expected end of statement block, got %v", p.cur())
	}
	p.next()
	return nil
}

func (p *parser) ident() (string, error) {
	t := p.cur()
	if t.kind != tokName {
		return "", p.errorf("expected a name, got %v", t)
	}
	p.next()
	return t.val, nil
}

// parseBody reads nodes until end of input or a block tag whose name is one
// of ends; it returns that name with the parser just past it.
func (p *parser) parseBody(ends ...string) ([]node, string, error) {
	var body []node
	for {
		t := p.cur()
		switch t.kind {
		case tokEOF:
			if len(ends) > 0 {
				return nil, "", p.errorf("unexpected end of template, expected '%s'", ends[len(ends)-1])
			}
			return body, "", nil
		case tokData:
			p.next()
			body = append(body, &textNode{text: t.val})
		case tokVarBegin:
			p.next()
			e, err := p.parseTuple(true)
			if err != nil {
				return nil, "", err
			}
			if p.cur().kind != tokVarEnd {
				return nil, "", p.errorf("expected end of print statement, got %v", p.cur())
			}
			p.next()
			body = append(body, &outputNode{expr: e})
		case tokBlockBegin:
			p.next()
			name := p.cur()
			if name.kind != tokName {
				return nil, "", p.errorf("expected a statement name, got %v", name)
			}
			for _, e := range ends {
				if name.val == e {
					p.next()
					return body, e, nil
				}
			}
			n, err := p.parseStatement()
			if err != nil {
				return nil, "", err
			}
			if n != nil {
				body = append(body, n)
			}
		default:
			return nil, "", p.errorf("unexpected %v", t)
		}
	}
}

func (p *parser) parseStatement() (node, error) {
	t := p.next()
	switch t.val {
	case "if":
		return p.parseIf()
	case "for":
		return p.parseFor(t.line)
	case "set":
		return p.parseSet()
	case "macro":
		return p.parseMacro()
	case "call":
		return p.parseCallBlock()
	case "filter":
		return p.parseFilterBlock()
	case "with":
		return p.parseWith()
	case "break", "continue":
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		if t.val == "break" {
			return &breakNode{}, nil
		}
		return &continueNode{}, nil
	case "generation", "block":
		// {% generation %} is transformers' marker for assistant text; a
		// {% block %} in a lone template renders in place.
		if t.val == "block" {
			if _, err := p.ident(); err != nil {
				return nil, err
			}
		}
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		body, _, err := p.parseBody("end" + t.val)
		if err != nil {
			return nil, err
		}
		if t.val == "block" && p.cur().kind == tokName {
			p.next()
		}
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		return &ifNode{conds: []expr{&literalExpr{val: true}}, bodies: [][]node{body}}, nil
	}
	p.pos--
	return nil, p.errorf("unknown statement '%s'", t.val)
}

func (p *parser) parseIf() (node, error) {
	n := &ifNode{}
	for {
		cond, err := p.parseTuple(true)
		if err != nil {
			return nil, err
		}
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.parseBody("elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			continue
		case "else":
			if err := p.expectBlockEnd(); err != nil {
				return nil, err
			}
			n.orElse, _, err = p.parseBody("endif")
			if err != nil {
				return nil, err
			}
		}
		return n, p.expectBlockEnd()
	}
}

// parseAssignTarget reads a name, a tuple of names or, with namespaces
// allowed, ns.attr.
func (p *parser) parseAssignTarget(namespaceRef bool) (expr, error) {
	var names []expr
	paren := p.skipOp("(")
	for {
		t := p.cur()
		name, err := p.ident()
		if err != nil {
			return nil, err
		}
		if namespaceRef && len(names) == 0 && p.isOp(".") {
			p.next()
			attr, err := p.ident()
			if err != nil {
				return nil, err
			}
			return &attrExpr{obj: &nameExpr{name: name, line: t.line}, name: attr}, nil
		}
		names = append(names, &nameExpr{name: name, line: t.line})
		if !p.skipOp(",") {
			break
		}
		if paren && p.isOp(")") {
			break
		}
	}
	if paren {
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	}
	if len(names) == 1 && !paren {
		return names[0], nil
	}
	return &listExpr{items: names, tuple: true}, nil
}

func (p *parser) parseFor(line int) (node, error) {
	target, err := p.parseAssignTarget(false)
	if err != nil {
		return nil, err
	}
	if err := p.expectName("in"); err != nil {
		return nil, err
	}
	n := &forNode{target: target, line: line}
	if n.iter, err = p.parseTuple(false); err != nil {
		return nil, err
	}
	if p.skipName("if") {
		if n.filter, err = p.parseExpression(true); err != nil {
			return nil, err
		}
	}
	n.recursive = p.skipName("recursive")
	if err := p.expectBlockEnd(); err != nil {
		return nil, err
	}
	body, end, err := p.parseBody("else", "endfor")
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		if n.orElse, _, err = p.parseBody("endfor"); err != nil {
			return nil, err
		}
	}
	return n, p.expectBlockEnd()
}

func (p *parser) parseSet() (node, error) {
	target, err := p.parseAssignTarget(true)
	if err != nil {
		return nil, err
	}
	if p.skipOp("=") {
		v, err := p.parseTuple(true)
		if err != nil {
			return nil, err
		}
		return &setNode{target: target, value: v}, p.expectBlockEnd()
	}
	name, ok := target.(*nameExpr)
	if !ok {
		return nil, p.errorf("a set block assigns to a single name")
	}
	filters, err := p.parseFilterChain()
	if err != nil {
		return nil, err
	}
	if err := p.expectBlockEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.parseBody("endset")
	if err != nil {
		return nil, err
	}
	return &setBlockNode{name: name.name, filters: filters, body: body}, p.expectBlockEnd()
}

// parseFilterChain reads "| f(args) | g" (the leading bar optional for the
// first filter of a filter block).
func (p *parser) parseFilterChain() ([]*filterExpr, error) {
	var out []*filterExpr
	first := true
	for {
		if !p.skipOp("|") && !(first && p.cur().kind == tokName) {
			return out, nil
		}
		first = false
		f, err := p.parseFilter(nil)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
}

func (p *parser) parseParams() ([]param, error) {
	var params []param
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	for !p.isOp(")") {
		if len(params) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		name, err := p.ident()
		if err != nil {
			return nil, err
		}
		prm := param{name: name}
		if p.skipOp("=") {
			if prm.def, err = p.parseExpression(true); err != nil {
				return nil, err
			}
		}
		params = append(params, prm)
	}
	p.next()
	return params, nil
}

func (p *parser) parseMacro() (node, error) {
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	params, err := p.parseParams()
	if err != nil {
		return nil, err
	}
	if err := p.expectBlockEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.parseBody("endmacro")
	if err != nil {
		return nil, err
	}
	return &macroNode{name: name, params: params, body: body}, p.expectBlockEnd()
}

func (p *parser) parseCallBlock() (node, error) {
	n := &callBlockNode{}
	var err error
	if p.isOp("(") {
		if n.params, err = p.parseParams(); err != nil {
			return nil, err
		}
	}
	e, err := p.parseExpression(true)
	if err != nil {
		return nil, err
	}
	call, ok := e.(*callExpr)
	if !ok {
		return nil, p.errorf("expected a call in a call block")
	}
	n.call = call
	if err := p.expectBlockEnd(); err != nil {
		return nil, err
	}
	if n.body, _, err = p.parseBody("endcall"); err != nil {
		return nil, err
	}
	return n, p.expectBlockEnd()
}

func (p *parser) parseFilterBlock() (node, error) {
	filters, err := p.parseFilterChain()
	if err != nil {
		return nil, err
	}
	if err := p.expectBlockEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.parseBody("endfilter")
	if err != nil {
		return nil, err
	}
	return &filterBlockNode{filters: filters, body: body}, p.expectBlockEnd()
}

func (p *parser) parseWith() (node, error) {
	n := &withNode{}
	for p.cur().kind != tokBlockEnd {
		if len(n.targets) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		target, err := p.parseAssignTarget(false)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		n.targets = append(n.targets, target)
		n.values = append(n.values, v)
	}
	p.next()
	body, _, err := p.parseBody("endwith")
	if err != nil {
		return nil, err
	}
	n.body = body
	return n, p.expectBlockEnd()
}

// parseTuple reads an expression or a comma-separated tuple of them.
func (p *parser) parseTuple(withCond bool) (expr, error) {
	first, err := p.parseExpression(withCond)
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	items := []expr{first}
	for p.skipOp(",") {
		if p.atTupleEnd() {
			break
		}
		e, err := p.parseExpression(withCond)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	return &listExpr{items: items, tuple: true}, nil
}

func (p *parser) atTupleEnd() bool {
	t := p.cur()
	switch t.kind {
	case tokVarEnd, tokBlockEnd, tokEOF:
		return true
	case tokOp:
		return t.val == ")" || t.val == "]" || t.val == "}"
	case tokName:
		return t.val == "if" || t.val == "recursive"
	}
	return false
}

func (p *parser) parseExpression(withCond bool) (expr, error) {
	e, err := p.parseOr()
	if err != nil || !withCond {
		return e, err
	}
	for p.skipName("if") {
		cond, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		c := &condExpr{cond: cond, then: e}
		if p.skipName("else") {
			if c.orElse, err = p.parseExpression(true); err != nil {
				return nil, err
			}
		}
		e = c
	}
	return e, nil
}

func (p *parser) parseOr() (expr, error) {
	l, err := p.parseAnd()
	for err == nil && p.isName("or") {
		line := p.next().line
		var r expr
		if r, err = p.parseAnd(); err == nil {
			l = &binaryExpr{op: "or", l: l, r: r, line: line}
		}
	}
	return l, err
}

func (p *parser) parseAnd() (expr, error) {
	l, err := p.parseNot()
	for err == nil && p.isName("and") {
		line := p.next().line
		var r expr
		if r, err = p.parseNot(); err == nil {
			l = &binaryExpr{op: "and", l: l, r: r, line: line}
		}
	}
	return l, err
}

func (p *parser) parseNot() (expr, error) {
	if p.skipName("not") {
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{op: "not", x: x}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (expr, error) {
	line := p.cur().line
	first, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	c := &compareExpr{first: first, line: line}
	for {
		t := p.cur()
		var op string
		switch {
		case t.kind == tokOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == ">" || t.val == "<=" || t.val == ">="):
			op = t.val
			p.next()
		case p.isName("in"):
			op = "in"
			p.next()
		case p.isName("not") && p.peek().kind == tokName && p.peek().val == "in":
			op = "not in"
			p.next()
			p.next()
		default:
			if len(c.ops) == 0 {
				return first, nil
			}
			return c, nil
		}
		r, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		c.ops = append(c.ops, op)
		c.rest = append(c.rest, r)
	}
}

// binaryLevel parses one left-associative level of binary operators.
func (p *parser) binaryLevel(ops []string, sub func() (expr, error)) (expr, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for {
		matched := ""
		for _, op := range ops {
			if p.isOp(op) {
				matched = op
			}
		}
		if matched == "" {
			return l, nil
		}
		line := p.next().line
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{op: matched, l: l, r: r, line: line}
	}
}

func (p *parser) parseMath1() (expr, error) {
	return p.binaryLevel([]string{"+", "-"}, p.parseConcat)
}

func (p *parser) parseConcat() (expr, error) {
	return p.binaryLevel([]string{"~"}, p.parseMath2)
}

func (p *parser) parseMath2() (expr, error) {
	return p.binaryLevel([]string{"*", "/", "//", "%"}, p.parsePow)
}

func (p *parser) parsePow() (expr, error) {
	return p.binaryLevel([]string{"**"}, func() (expr, error) { return p.parseUnary(true) })
}

func (p *parser) parseUnary(withFilter bool) (expr, error) {
	var e expr
	var err error
	if p.isOp("-") || p.isOp("+") {
		op := p.next().val
		x, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		e = &unaryExpr{op: op, x: x}
	} else {
		if e, err = p.parsePrimary(); err != nil {
			return nil, err
		}
		if e, err = p.parsePostfix(e); err != nil {
			return nil, err
		}
	}
	if withFilter {
		return p.parseFilterExpr(e)
	}
	return e, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.cur()
	switch t.kind {
	case tokName:
		p.next()
		switch t.val {
		case "true", "True":
			return &literalExpr{val: true}, nil
		case "false", "False":
			return &literalExpr{val: false}, nil
		case "none", "None":
			return &literalExpr{val: nil}, nil
		}
		return &nameExpr{name: t.val, line: t.line}, nil
	case tokString:
		s := ""
		for p.cur().kind == tokString {
			s += p.next().val
		}
		return &literalExpr{val: s}, nil
	case tokInt:
		p.next()
		i, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			return nil, p.errorf("integer %s out of range", t.val)
		}
		return &literalExpr{val: i}, nil
	case tokFloat:
		p.next()
		f, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			return nil, p.errorf("bad float %s", t.val)
		}
		return &literalExpr{val: f}, nil
	case tokOp:
		switch t.val {
		case "(":
			p.next()
			if p.skipOp(")") {
				return &listExpr{tuple: true}, nil
			}
			e, err := p.parseTuple(true)
			if err != nil {
				return nil, err
			}
			if l, ok := e.(*listExpr); ok && l.tuple && !p.isOp(")") {
				return nil, p.errorf("expected ')', got %v", p.cur())
			}
			return e, p.expectOp(")")
		case "[":
			p.next()
			items, err := p.parseItems("]")
			return &listExpr{items: items}, err
		case "{":
			p.next()
			d := &dictExpr{}
			for !p.isOp("}") {
				if len(d.keys) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.isOp("}") {
						break
					}
				}
				k, err := p.parseExpression(true)
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.parseExpression(true)
				if err != nil {
					return nil, err
				}
				d.keys = append(d.keys, k)
				d.vals = append(d.vals, v)
			}
			p.next()
			return d, nil
		}
	}
	return nil, p.errorf("unexpected %v", t)
}

// parseItems reads comma-separated expressions up to the closing op.
func (p *parser) parseItems(closing string) ([]expr, error) {
	var items []expr
	for !p.isOp(closing) {
		if len(items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp(closing) {
				break
			}
		}
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	p.next()
	return items, nil
}

func (p *parser) parsePostfix(e expr) (expr, error) {
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			switch t.kind {
			case tokName:
				e = &attrExpr{obj: e, name: t.val}
			case tokInt:
				i, _ := strconv.ParseInt(t.val, 10, 64)
				e = &itemExpr{obj: e, index: &literalExpr{val: i}}
			default:
				return nil, p.errorf("expected an attribute name, got %v", t)
			}
		case p.isOp("["):
			p.next()
			sub, err := p.parseSubscript(e)
			if err != nil {
				return nil, err
			}
			e = sub
		case p.isOp("("):
			call, err := p.parseCall(e)
			if err != nil {
				return nil, err
			}
			e = call
		default:
			return e, nil
		}
	}
}

func (p *parser) parseSubscript(obj expr) (expr, error) {
	var parts [3]expr
	i := 0
	isSlice := false
	for {
		if p.isOp(":") {
			isSlice = true
			i++
			if i > 2 {
				return nil, p.errorf("too many ':' in a slice")
			}
			p.next()
			continue
		}
		if p.isOp("]") {
			p.next()
			break
		}
		e, err := p.parseTuple(true)
		if err != nil {
			return nil, err
		}
		parts[i] = e
	}
	if !isSlice {
		if parts[0] == nil {
			return nil, p.errorf("empty subscript")
		}
		return &itemExpr{obj: obj, index: parts[0]}, nil
	}
	return &sliceExpr{obj: obj, start: parts[0], stop: parts[1], step: parts[2]}, nil
}

func (p *parser) parseCall(fn expr) (*callExpr, error) {
	c := &callExpr{fn: fn, line: p.cur().line}
	var err error
	c.args, c.kwargs, c.star, err = p.parseCallArgs()
	return c, err
}

func (p *parser) parseCallArgs() ([]expr, []kwarg, expr, error) {
	var args []expr
	var kwargs []kwarg
	var star expr
	if err := p.expectOp("("); err != nil {
		return nil, nil, nil, err
	}
	for n := 0; !p.isOp(")"); n++ {
		if n > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, nil, nil, err
			}
			if p.isOp(")") {
				break
			}
		}
		if p.skipOp("*") {
			e, err := p.parseExpression(true)
			if err != nil {
				return nil, nil, nil, err
			}
			star = e
			continue
		}
		if p.cur().kind == tokName && p.peek().kind == tokOp && p.peek().val == "=" {
			name := p.next().val
			p.next()
			e, err := p.parseExpression(true)
			if err != nil {
				return nil, nil, nil, err
			}
			kwargs = append(kwargs, kwarg{name: name, val: e})
			continue
		}
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, nil, nil, err
		}
		args = append(args, e)
	}
	p.next()
	return args, kwargs, star, nil
}

func (p *parser) parseFilterExpr(e expr) (expr, error) {
	for {
		switch {
		case p.isOp("|"):
			p.next()
			f, err := p.parseFilter(e)
			if err != nil {
				return nil, err
			}
			e = f
		case p.isName("is"):
			p.next()
			t, err := p.parseTest(e)
			if err != nil {
				return nil, err
			}
			e = t
		case p.isOp("("):
			c, err := p.parseCall(e)
			if err != nil {
				return nil, err
			}
			e = c
		default:
			return e, nil
		}
	}
}

func (p *parser) dottedName() (string, error) {
	name, err := p.ident()
	for err == nil && p.isOp(".") {
		p.next()
		var part string
		if part, err = p.ident(); err == nil {
			name += "." + part
		}
	}
	return name, err
}

func (p *parser) parseFilter(base expr) (*filterExpr, error) {
	line := p.cur().line
	name, err := p.dottedName()
	if err != nil {
		return nil, err
	}
	f := &filterExpr{base: base, name: name, line: line}
	if p.isOp("(") {
		var star expr
		if f.args, f.kwargs, star, err = p.parseCallArgs(); err != nil {
			return nil, err
		}
		if star != nil {
			return nil, p.errorf("*args in filter calls is not supported")
		}
	}
	return f, nil
}

func (p *parser) parseTest(operand expr) (expr, error) {
	line := p.cur().line
	negate := p.skipName("not")
	name, err := p.dottedName()
	if err != nil {
		return nil, err
	}
	t := &testExpr{operand: operand, name: name, negate: negate, line: line}
	cur := p.cur()
	switch {
	case p.isOp("("):
		var star expr
		if t.args, _, star, err = p.parseCallArgs(); err != nil {
			return nil, err
		}
		if star != nil {
			return nil, p.errorf("*args in tests is not supported")
		}
	case cur.kind == tokString || cur.kind == tokInt || cur.kind == tokFloat || p.isOp("[") || p.isOp("{") ||
		cur.kind == tokName && cur.val != "else" && cur.val != "or" && cur.val != "and":
		if p.isName("is") {
			return nil, p.errorf("You cannot chain multiple tests with is")
		}
		arg, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		if arg, err = p.parsePostfix(arg); err != nil {
			return nil, err
		}
		t.args = []expr{arg}
	}
	return t, nil
}
