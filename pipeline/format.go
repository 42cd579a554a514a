package pipeline

import (
	"runner/pipeline/constrain"
	"runner/pipeline/sampling"
	"runner/tokenizer"
)

// formatPhase is where a formatted output is.
type formatPhase int

const (
	// formatStart: the value, or a thinking block first where allowed.
	formatStart formatPhase = iota
	// formatThinking: inside a thinking block, free until it closes.
	formatThinking
	// formatValue: the value, constrained to the grammar.
	formatValue
)

// formatState constrains one output to a grammar, letting a thinking
// model think first: where thinking is allowed, the output may open with a
// <think> token, is free until </think>, and only then must be the value.
type formatState struct {
	phase formatPhase
	value *constrain.Tokens
	// open and close are the <think> and </think> token ids; -1 when the
	// output may not think first.
	open, close int
}

var _ sampling.Constraint = (*formatState)(nil)

// thinkingTokens returns the ids of <think> and </think> when the
// tokenizer has each as one token, else -1, -1.
func thinkingTokens(tok *tokenizer.Tokenizer) (open, close int) {
	o, ok1 := tok.TokenToID("<think>")
	c, ok2 := tok.TokenToID("</think>")
	if !ok1 || !ok2 {
		return -1, -1
	}
	return o, c
}

// newFormatState starts a formatted output over a model's tokenizer and
// vocabulary. With thinking allowed (and the tokenizer having <think> and
// </think> tokens) the output may think first; a prompt that ends inside
// an open thinking block (a template that opens it) starts there.
func newFormatState(tok *tokenizer.Tokenizer, vocab *constrain.Vocabulary, g *constrain.Grammar, thinking bool, prompt []int) *formatState {
	f := &formatState{value: vocab.Constrain(g), open: -1, close: -1}
	if !thinking {
		return f
	}
	f.open, f.close = thinkingTokens(tok)
	if f.open < 0 {
		return f
	}
	// Skip whitespace tokens back from the end of the prompt.
	for i := len(prompt) - 1; i >= 0; i-- {
		if prompt[i] == f.open {
			f.phase = formatThinking
			break
		}
		if !isSpaceToken(tok.TokenBytes(prompt[i])) {
			break
		}
	}
	return f
}

func isSpaceToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// constraint returns what limits the next token: nothing while thinking.
func (f *formatState) constraint() sampling.Constraint {
	if f.phase == formatThinking {
		return nil
	}
	return f
}

// Allows reports whether id may come next.
func (f *formatState) Allows(id int) bool {
	if f.phase == formatStart && f.open >= 0 && id == f.open {
		return true
	}
	return f.value.Allows(id)
}

// Mask sets the tokens that may come next.
func (f *formatState) Mask(mask []bool) bool {
	any := f.value.Mask(mask)
	if f.phase == formatStart && f.open >= 0 && f.open < len(mask) {
		mask[f.open], any = true, true
	}
	return any
}

// accept moves past token id.
func (f *formatState) accept(id int) error {
	switch {
	case f.phase == formatStart && f.open >= 0 && id == f.open:
		f.phase = formatThinking
		return nil
	case f.phase == formatThinking:
		if id == f.close {
			f.phase = formatValue
		}
		return nil
	}
	f.phase = formatValue
	return f.value.Accept(id)
}

// finished reports whether the value is complete and nothing may follow.
func (f *formatState) finished() bool { return f.phase == formatValue && f.value.Finished() }
