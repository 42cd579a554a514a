package constrain

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"sync"
)

// stringFormats are the JSON schema string formats that are enforced, as
// patterns; other formats are annotations and ignored.
var stringFormats = map[string]string{
	"date":      `^` + datePattern + `$`,
	"time":      `^` + timePattern + `$`,
	"date-time": `^` + datePattern + `[Tt]` + timePattern + `$`,
	"uuid":      `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`,
}

const (
	datePattern = `\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])`
	timePattern = `(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)`
)

// pattern is a compiled regular expression that a string's characters
// must match, followed rune by rune as the string is written.
type pattern struct {
	prog *syntax.Prog
	// live marks the instructions from which a match can be reached;
	// liveLater those from which it can without passing a ^ (which holds
	// only at the start). A state with none of them is a dead end.
	live, liveLater []bool

	// The states met so far and their transitions, so that a pattern
	// followed many times (once per token tried) runs as a DFA. Requests
	// share a pattern, hence the lock.
	mu     sync.Mutex
	states map[string]*regexState
}

// maxCachedStates bounds the states a pattern remembers.
const maxCachedStates = 4096

// regexState is where a pattern stands in a string: the instructions
// reachable after the runes so far (empty-width assertions that wait for
// the end of the string included). It is immutable.
type regexState struct {
	pcs []uint32
	// atStart is set before the first rune.
	atStart bool
	// next caches transitions by rune (nil: no match can follow); guarded
	// by the pattern's mu.
	next map[rune]*regexState
}

// compilePattern compiles a JSON schema pattern. As JSON schema says, it
// matches anywhere in the string unless anchored with ^ and $; its syntax
// is RE2's, which shares the common ECMA-262 forms. Word boundaries are
// refused.
func compilePattern(expr string) (*pattern, error) {
	re, err := syntax.Parse(`(?s:.*?)(?:`+expr+`)(?s:.*)`, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	for _, in := range prog.Inst {
		if in.Op == syntax.InstEmptyWidth && syntax.EmptyOp(in.Arg)&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0 {
			return nil, fmt.Errorf("word boundaries (\\b) are not supported")
		}
	}
	p := &pattern{prog: prog, live: reaching(prog, false), liveLater: reaching(prog, true), states: map[string]*regexState{}}
	return p, nil
}

// reaching marks the instructions from which Match can be reached, going
// backwards from it until nothing changes; laterOnly blocks the way
// through ^ assertions.
func reaching(prog *syntax.Prog, laterOnly bool) []bool {
	live := make([]bool, len(prog.Inst))
	for changed := true; changed; {
		changed = false
		for pc, in := range prog.Inst {
			if live[pc] || in.Op == syntax.InstFail {
				continue
			}
			if laterOnly && in.Op == syntax.InstEmptyWidth && syntax.EmptyOp(in.Arg)&(syntax.EmptyBeginText|syntax.EmptyBeginLine) != 0 {
				continue
			}
			if in.Op == syntax.InstMatch || live[in.Out] || (in.Op == syntax.InstAlt || in.Op == syntax.InstAltMatch) && live[in.Arg] {
				live[pc], changed = true, true
			}
		}
	}
	return live
}

// start returns the state before the first rune.
func (p *pattern) start() *regexState {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.states["start"]; ok {
		return st
	}
	st := p.close([]uint32{uint32(p.prog.Start)}, true, false)
	st.atStart = true
	p.states["start"] = st
	return st
}

// close follows empty transitions from pcs: alternatives, captures, and
// empty-width assertions that hold (^ at the start, $ at the end). Pending
// assertions stay in the set.
func (p *pattern) close(pcs []uint32, atStart, atEnd bool) *regexState {
	seen := map[uint32]bool{}
	var out []uint32
	var visit func(pc uint32)
	visit = func(pc uint32) {
		if seen[pc] || !p.live[pc] || !atStart && !p.liveLater[pc] {
			return
		}
		seen[pc] = true
		in := &p.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			visit(in.Out)
			visit(in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			visit(in.Out)
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			ok := true
			if op&(syntax.EmptyBeginText|syntax.EmptyBeginLine) != 0 && !atStart {
				ok = false
			}
			if op&(syntax.EmptyEndText|syntax.EmptyEndLine) != 0 && !atEnd {
				ok = false
			}
			if ok {
				visit(in.Out)
			}
			out = append(out, pc) // kept: it may hold at the end
		default:
			out = append(out, pc)
		}
	}
	for _, pc := range pcs {
		visit(pc)
	}
	slices.Sort(out)
	return &regexState{pcs: out}
}

// step returns the state after rune r, or nil when no match can follow.
func (p *pattern) step(s *regexState, r rune) *regexState {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n, ok := s.next[r]; ok {
		return n
	}
	n := p.advance(s, r)
	if n != nil {
		key := fmt.Sprint(n.pcs)
		if known, ok := p.states[key]; ok {
			n = known
		} else if len(p.states) < maxCachedStates {
			p.states[key] = n
		}
	}
	if len(p.states) < maxCachedStates {
		if s.next == nil {
			s.next = map[rune]*regexState{}
		}
		s.next[r] = n
	}
	return n
}

// advance computes the state after rune r.
func (p *pattern) advance(s *regexState, r rune) *regexState {
	var next []uint32
	for _, pc := range s.pcs {
		in := &p.prog.Inst[pc]
		ok := false
		switch in.Op {
		case syntax.InstRune:
			ok = in.MatchRune(r)
		case syntax.InstRune1:
			ok = r == in.Rune[0]
		case syntax.InstRuneAny:
			ok = true
		case syntax.InstRuneAnyNotNL:
			ok = r != '\n'
		}
		if ok {
			next = append(next, in.Out)
		}
	}
	if next == nil {
		return nil
	}
	st := p.close(next, false, false)
	if len(st.pcs) == 0 {
		return nil
	}
	return st
}

// matched reports whether the string may end in state s (nil: before its
// first rune).
func (p *pattern) matched(s *regexState) bool {
	if s == nil {
		s = p.start()
	}
	end := p.close(s.pcs, s.atStart, true)
	for _, pc := range end.pcs {
		if p.prog.Inst[pc].Op == syntax.InstMatch {
			return true
		}
	}
	return false
}

// acceptsRange reports whether some rune in [lo, hi] can come next in
// state s (nil: before the first rune), so that a multi-byte character is
// refused at its first byte when none it could become fits.
func (p *pattern) acceptsRange(s *regexState, lo, hi rune) bool {
	if s == nil {
		s = p.start()
	}
	for _, pc := range s.pcs {
		in := &p.prog.Inst[pc]
		if !p.liveLater[in.Out] {
			continue // after a rune, ^ no longer holds: a dead way
		}
		switch in.Op {
		case syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			return true
		case syntax.InstRune1:
			if in.Rune[0] >= lo && in.Rune[0] <= hi {
				return true
			}
		case syntax.InstRune:
			if len(in.Rune) == 1 || syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
				// A folded or single rune: try the folds in range.
				for r := lo; r <= hi && r-lo < 0x800; r++ {
					if in.MatchRune(r) {
						return true
					}
				}
				continue
			}
			for i := 0; i+1 < len(in.Rune); i += 2 {
				if in.Rune[i] <= hi && in.Rune[i+1] >= lo {
					return true
				}
			}
		}
	}
	return false
}
