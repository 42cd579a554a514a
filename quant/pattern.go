package quant

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"runner/onnx"
	"runner/onnx/graph"
	"runner/onnx/onnxpb"
)

// editor rewrites a model in place: its main graph and every subgraph (the
// branches of If, the bodies of Loop and Scan), each through a
// graph.Builder, so that new nodes and values take names nothing else in
// the model uses.
type editor struct {
	model *onnxpb.ModelProto
	// scopes are the model's graphs, the main graph first and every
	// subgraph after the graph that holds it.
	scopes []*scope
	// released are initializers and nodes that rewrites stopped reading;
	// those nothing reads at the end are dropped.
	released map[string]bool
}

// scope is one graph of the model being edited.
type scope struct {
	g        *onnxpb.GraphProto
	b        *graph.Builder
	parent   *scope
	inits    map[string]*onnxpb.TensorProto
	producer map[string]*onnxpb.NodeProto
	// made holds values built once per graph and shared by every node
	// that needs them, such as an activation's dynamic quantisation.
	made map[string][]graph.Value
}

func newEditor(m *onnxpb.ModelProto) *editor {
	e := &editor{model: m, released: map[string]bool{}}
	e.addScope(m.GetGraph(), nil)
	var all []string
	for _, s := range e.scopes {
		all = append(all, s.definedNames()...)
	}
	for _, s := range e.scopes {
		s.b.DeclareOuter(all...)
	}
	return e
}

func (e *editor) addScope(g *onnxpb.GraphProto, parent *scope) {
	s := &scope{
		g:        g,
		b:        graph.Edit(g),
		parent:   parent,
		inits:    map[string]*onnxpb.TensorProto{},
		producer: map[string]*onnxpb.NodeProto{},
		made:     map[string][]graph.Value{},
	}
	for _, t := range g.GetInitializer() {
		s.inits[t.GetName()] = t
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			s.producer[o] = n
		}
	}
	e.scopes = append(e.scopes, s)
	for _, n := range g.GetNode() {
		for _, sub := range subgraphs(n) {
			e.addScope(sub, s)
		}
	}
}

// subgraphs returns the graphs held by a node's attributes.
func subgraphs(n *onnxpb.NodeProto) []*onnxpb.GraphProto {
	var out []*onnxpb.GraphProto
	for _, a := range n.GetAttribute() {
		if a.GetG() != nil {
			out = append(out, a.GetG())
		}
		out = append(out, a.GetGraphs()...)
	}
	return out
}

// definedNames lists the values the graph defines.
func (s *scope) definedNames() []string {
	var names []string
	for _, v := range s.g.GetInput() {
		names = append(names, v.GetName())
	}
	for _, t := range s.g.GetInitializer() {
		names = append(names, t.GetName())
	}
	for _, n := range s.g.GetNode() {
		names = append(names, n.GetOutput()...)
	}
	return names
}

// main returns the main graph's scope.
func (e *editor) main() *scope { return e.scopes[0] }

// claim marks names as taken in every graph, so no graph makes them again
// (ONNX forbids a subgraph to shadow its enclosing graphs' names).
func (e *editor) claim(names ...string) {
	for _, s := range e.scopes {
		s.b.DeclareOuter(names...)
	}
}

// freshName returns base, or base with a number appended, whichever no
// graph of the model uses yet.
func (e *editor) freshName(base string) string {
	name := base
	for i := 1; ; i++ {
		taken := false
		for _, s := range e.scopes {
			if s.b.Has(name) {
				taken = true
				break
			}
		}
		if !taken {
			return name
		}
		name = fmt.Sprintf("%s_%d", base, i)
	}
}

// addInitializer adds t to the main graph under a fresh name derived from
// its own, and returns that name. Weights live in the main graph, where
// every subgraph can read them.
func (e *editor) addInitializer(t *onnxpb.TensorProto) graph.Value {
	name := e.freshName(t.GetName())
	t.Name = &name
	m := e.main()
	v := m.b.Initializer(t)
	m.inits[name] = t
	e.claim(name)
	return v
}

// initializer finds an initializer visible from s: its own, or one of an
// enclosing graph.
func (s *scope) initializer(name string) *onnxpb.TensorProto {
	for ; s != nil; s = s.parent {
		if t, ok := s.inits[name]; ok {
			return t
		}
	}
	return nil
}

// producerOf finds the node that makes a value visible from s.
func (s *scope) producerOf(name string) *onnxpb.NodeProto {
	for ; s != nil; s = s.parent {
		if n, ok := s.producer[name]; ok {
			return n
		}
	}
	return nil
}

// builderFor returns a builder of s whose nodes are named under the path of
// n's name ("/model/layers.0/mlp/up_proj/MatMul" gives
// "/model/layers.0/mlp/up_proj"), and the last element of that name.
func (s *scope) builderFor(n *onnxpb.NodeProto) (*graph.Builder, string) {
	name := n.GetName()
	if name == "" {
		name = n.GetOpType()
	}
	dir, base := path.Split(strings.TrimPrefix(name, "/"))
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return s.b, base
	}
	return s.b.Scope(dir), base
}

// replace swaps node n of s for the nodes that build adds, placed where n
// was so the graph stays in topological order. build must define n's
// outputs (their names are freed for it).
func (e *editor) replace(s *scope, n *onnxpb.NodeProto, build func(b *graph.Builder, base string)) error {
	at := slices.Index(s.g.Node, n)
	if at < 0 {
		return fmt.Errorf("node %q is not in its graph", n.GetName())
	}
	for _, in := range n.GetInput() {
		e.released[in] = true
	}
	s.b.RemoveNode(n)
	start := len(s.g.Node)
	b, base := s.builderFor(n)
	build(b, base)
	if err := s.b.Err(); err != nil {
		return fmt.Errorf("rewrite %s: %w", n.GetName(), err)
	}
	e.placeNew(s, start, at)
	for _, o := range n.GetOutput() {
		if o != "" && !s.b.Has(o) {
			return fmt.Errorf("rewrite %s: output %q is no longer made", n.GetName(), o)
		}
	}
	return nil
}

// insertBefore adds the nodes build makes just before node n of s.
func (e *editor) insertBefore(s *scope, n *onnxpb.NodeProto, build func(b *graph.Builder)) error {
	at := slices.Index(s.g.Node, n)
	if at < 0 {
		at = len(s.g.Node)
	}
	start := len(s.g.Node)
	build(s.b)
	if err := s.b.Err(); err != nil {
		return err
	}
	e.placeNew(s, start, at)
	return nil
}

// placeNew moves the nodes appended to s from index start to index at, and
// records what they define.
func (e *editor) placeNew(s *scope, start, at int) {
	added := slices.Clone(s.g.Node[start:])
	s.g.Node = slices.Insert(s.g.Node[:start], at, added...)
	for _, nn := range added {
		for _, o := range nn.GetOutput() {
			s.producer[o] = nn
		}
		e.claim(nn.GetOutput()...)
	}
}

// readers counts, over every graph, the node inputs and graph outputs that
// read each value.
func (e *editor) readers() map[string]int {
	count := map[string]int{}
	for _, s := range e.scopes {
		for _, n := range s.g.GetNode() {
			for _, in := range n.GetInput() {
				count[in]++
			}
		}
		for _, o := range s.g.GetOutput() {
			count[o.GetName()]++
		}
	}
	return count
}

// finish drops what rewrites made unread: the initializers they replaced
// and the nodes (such as a Transpose of a weight) that only fed them.
func (e *editor) finish() {
	for changed := true; changed; {
		changed = false
		count := e.readers()
		for _, s := range e.scopes {
			inits := s.g.Initializer[:0]
			for _, t := range s.g.Initializer {
				if e.released[t.GetName()] && count[t.GetName()] == 0 {
					delete(s.inits, t.GetName())
					changed = true
					continue
				}
				inits = append(inits, t)
			}
			s.g.Initializer = inits
			for _, n := range slices.Clone(s.g.Node) {
				if !e.released[firstOutput(n)] || len(subgraphs(n)) > 0 {
					continue
				}
				unread := true
				for _, o := range n.GetOutput() {
					unread = unread && count[o] == 0
				}
				if unread {
					for _, in := range n.GetInput() {
						e.released[in] = true
					}
					s.b.RemoveNode(n)
					changed = true
				}
			}
		}
	}
}

func firstOutput(n *onnxpb.NodeProto) string {
	if len(n.GetOutput()) == 0 {
		return ""
	}
	return n.GetOutput()[0]
}

// requireOpset makes sure the model imports domain at version min or
// later: a contrib domain is added when missing; ONNX's own must already be
// recent enough.
func (e *editor) requireOpset(domain string, min int64) error {
	for _, o := range e.model.GetOpsetImport() {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		if d != domain {
			continue
		}
		if o.GetVersion() < min {
			if domain == "" {
				return fmt.Errorf("%w: the model imports ONNX opset %d; quantised operators need %d or later", ErrUnsupported, o.GetVersion(), min)
			}
			o.Version = proto.Int64(min)
		}
		return nil
	}
	if domain == "" {
		return fmt.Errorf("%w: the model does not import ONNX's default opset", ErrUnsupported)
	}
	e.model.OpsetImport = append(e.model.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(domain), Version: proto.Int64(min)})
	return nil
}

// constWeight is a constant float32 matrix that a node reads as its
// weight: an initializer, or the transpose of one (as a tied LM head reads
// the token embeddings).
type constWeight struct {
	init *onnxpb.TensorProto
	// transposed is set when the node reads the initializer through a
	// Transpose (via).
	transposed bool
	via        *onnxpb.NodeProto
}

// shape returns the weight's rows and columns as the node reads them.
func (w constWeight) shape() (rows, cols int) {
	d := w.init.GetDims()
	if w.transposed {
		return int(d[1]), int(d[0])
	}
	return int(d[0]), int(d[1])
}

// key identifies the weight as read: the same initializer read directly and
// through a Transpose are two weights.
func (w constWeight) key() string {
	if w.transposed {
		return w.init.GetName() + "\x00T"
	}
	return w.init.GetName()
}

// at returns a function giving element (r, c) of the weight as the node
// reads it, from data in the initializer's own layout.
func (w constWeight) at(data []float32) func(r, c int) float32 {
	d := w.init.GetDims()
	cols := int(d[1])
	if w.transposed {
		return func(r, c int) float32 { return data[c*cols+r] }
	}
	return func(r, c int) float32 { return data[r*cols+c] }
}

// matrix returns the weight as the node reads it, rows×cols row-major.
func (w constWeight) matrix() ([]float32, error) {
	data, err := onnx.TensorFloat32s(w.init)
	if err != nil {
		return nil, err
	}
	if !w.transposed {
		return data, nil
	}
	rows, cols := w.shape()
	at := w.at(data)
	out := make([]float32, len(data))
	for r := range rows {
		for c := range cols {
			out[r*cols+c] = at(r, c)
		}
	}
	return out, nil
}

// Reasons a node is left as it was.
const (
	reasonExcluded      = "excluded by the user"
	reasonComputed      = "its weight is computed at run time, not a constant (attention scores and the like)"
	reasonTransA        = "Gemm with transA=1"
	reasonHead          = "LM head kept in float32 by default"
	reasonEmbedding     = "embedding table kept in float32 by default"
	reasonTableRank     = "its table is not a matrix"
	reasonBlockedOp     = "operator kept in float32"
	reasonUnknownDomain = "operator of an unknown domain kept in float32"
)

// constMatrix resolves a node input to a constant float32 matrix, or says
// why it is not one.
func (s *scope) constMatrix(name string) (constWeight, string) {
	if t := s.initializer(name); t != nil {
		return matrixOf(t, constWeight{init: t})
	}
	n := s.producerOf(name)
	if n == nil || n.GetOpType() != "Transpose" || n.GetDomain() != "" || len(n.GetInput()) != 1 {
		return constWeight{}, reasonComputed
	}
	t := s.initializer(n.GetInput()[0])
	if t == nil {
		return constWeight{}, reasonComputed
	}
	if perm := intsAttr(n, "perm"); perm != nil && !slices.Equal(perm, []int64{1, 0}) {
		return constWeight{}, reasonComputed
	}
	return matrixOf(t, constWeight{init: t, transposed: true, via: n})
}

func matrixOf(t *onnxpb.TensorProto, w constWeight) (constWeight, string) {
	if et := onnx.ElemType(t.GetDataType()); et != onnx.Float {
		return constWeight{}, fmt.Sprintf("its weight is %s, not float32", et)
	}
	if len(t.GetDims()) != 2 {
		return constWeight{}, fmt.Sprintf("its weight has %d dimensions, not 2", len(t.GetDims()))
	}
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return constWeight{}, "its weight's external data is not loaded"
	}
	return w, ""
}

// linear is a node computing x @ W (+ bias) with a constant W: a MatMul, or
// a Gemm without transA.
type linear struct {
	node  *onnxpb.NodeProto
	x     string
	w     constWeight // as x @ W reads it: K×N
	alpha float32     // scales x @ W (Gemm)
	bias  string      // Gemm's C, or ""
	beta  float32
}

// matchLinear recognises a node of s as a linear layer, or says why it is
// not one.
func (s *scope) matchLinear(n *onnxpb.NodeProto) (*linear, string) {
	in := n.GetInput()
	switch {
	case n.GetDomain() != "" || len(in) < 2:
		return nil, reasonComputed
	case n.GetOpType() == "MatMul":
		w, why := s.constMatrix(in[1])
		if why != "" {
			return nil, why
		}
		return &linear{node: n, x: in[0], w: w, alpha: 1}, ""
	case n.GetOpType() == "Gemm":
		if intAttr(n, "transA", 0) != 0 {
			return nil, reasonTransA
		}
		w, why := s.constMatrix(in[1])
		if why != "" {
			return nil, why
		}
		if intAttr(n, "transB", 0) != 0 {
			w.transposed = !w.transposed
		}
		l := &linear{node: n, x: in[0], w: w, alpha: floatAttr(n, "alpha", 1), beta: floatAttr(n, "beta", 1)}
		if len(in) > 2 {
			l.bias = in[2]
		}
		return l, ""
	}
	return nil, reasonComputed
}

// isHead reports whether a linear layer is a language model's head: it
// reads the token embeddings (tied weights), or it makes a graph output
// with one column per row of an embedding table (the vocabulary).
func (e *editor) isHead(l *linear) bool {
	vocab := map[int]bool{}
	for _, s := range e.scopes {
		for _, n := range s.g.GetNode() {
			if n.GetOpType() != "Gather" || n.GetDomain() != "" || len(n.GetInput()) == 0 {
				continue
			}
			if n.GetInput()[0] == l.w.init.GetName() {
				return true
			}
			if t := s.initializer(n.GetInput()[0]); t != nil && len(t.GetDims()) == 2 {
				vocab[int(t.GetDims()[0])] = true
			}
		}
	}
	_, cols := l.w.shape()
	for _, o := range e.main().g.GetOutput() {
		if o.GetName() == firstOutput(l.node) && vocab[cols] {
			return true
		}
	}
	return false
}

// excluded reports whether the user asked to leave a node alone: its name
// matches one of the patterns (exact names, or path.Match globs).
func excluded(n *onnxpb.NodeProto, patterns []string) bool {
	for _, p := range patterns {
		if p == n.GetName() {
			return true
		}
		if ok, err := path.Match(p, n.GetName()); err == nil && ok {
			return true
		}
	}
	return false
}

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func intAttr(n *onnxpb.NodeProto, name string, def int64) int64 {
	if a := attr(n, name); a != nil {
		return a.GetI()
	}
	return def
}

func floatAttr(n *onnxpb.NodeProto, name string, def float32) float32 {
	if a := attr(n, name); a != nil {
		return a.GetF()
	}
	return def
}

func intsAttr(n *onnxpb.NodeProto, name string) []int64 {
	if a := attr(n, name); a != nil {
		return a.GetInts()
	}
	return nil
}
