package chattemplate

// Statement nodes.
type (
	node interface{}

	textNode   struct{ text string }
	outputNode struct{ expr expr }

	ifNode struct {
		conds  []expr
		bodies [][]node
		orElse []node
	}

	forNode struct {
		target    expr // nameExpr or a tuple of them
		iter      expr
		filter    expr // the "if" of "for x in y if z", or nil
		body      []node
		orElse    []node
		recursive bool
		line      int
	}

	setNode struct {
		target expr // nameExpr, attrExpr on a namespace, or a tuple of names
		value  expr
	}

	setBlockNode struct {
		name    string
		filters []*filterExpr
		body    []node
	}

	macroNode struct {
		name   string
		params []param
		body   []node
	}

	callBlockNode struct {
		call   *callExpr
		params []param
		body   []node
	}

	filterBlockNode struct {
		filters []*filterExpr
		body    []node
	}

	withNode struct {
		targets []expr
		values  []expr
		body    []node
	}

	breakNode    struct{}
	continueNode struct{}
)

// param is a macro or call-block parameter with an optional default.
type param struct {
	name string
	def  expr
}

// Expression nodes.
type (
	expr interface{}

	literalExpr struct{ val value }
	nameExpr    struct {
		name string
		line int
	}
	listExpr struct {
		items []expr
		tuple bool
	}
	dictExpr struct{ keys, vals []expr }

	attrExpr struct {
		obj  expr
		name string
	}
	itemExpr  struct{ obj, index expr }
	sliceExpr struct {
		obj               expr
		start, stop, step expr
	}
	callExpr struct {
		fn     expr
		args   []expr
		kwargs []kwarg
		star   expr // *args
		line   int
	}
	filterExpr struct {
		base   expr // nil inside filter blocks and set blocks
		name   string
		args   []expr
		kwargs []kwarg
		line   int
	}
	testExpr struct {
		operand expr
		name    string
		args    []expr
		negate  bool
		line    int
	}
	unaryExpr struct {
		op string // "-", "+", "not"
		x  expr
	}
	binaryExpr struct {
		op   string // + - * / // % ** ~ and or
		l, r expr
		line int
	}
	compareExpr struct {
		first expr
		ops   []string // == != < > <= >= in "not in"
		rest  []expr
		line  int
	}
	condExpr struct{ cond, then, orElse expr }
)

type kwarg struct {
	name string
	val  expr
}
