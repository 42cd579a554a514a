package textstream

import "strings"

// Tags around a thinking block.
const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// ThinkSplitter separates a streamed answer's thinking block
// (<think>…</think> at its start) from its content, as the text arrives in
// pieces, so that clients get Ollama's message.thinking and
// message.content as they stream. Tags split across pieces are held back
// until they are whole. The whitespace around the tags is dropped.
type ThinkSplitter struct {
	state   thinkState
	pending string
}

type thinkState int

const (
	thinkStart   thinkState = iota // before any text but whitespace
	thinkInside                    // inside the block
	thinkAfter                     // right after it: whitespace is dropped
	thinkContent                   // the content
)

// NewThinkSplitter starts a split. open says the prompt has already
// opened the block (a template that ends its generation prompt with
// <think>), so the answer starts inside it.
func NewThinkSplitter(open bool) *ThinkSplitter {
	if open {
		return &ThinkSplitter{state: thinkInside}
	}
	return &ThinkSplitter{}
}

// PromptOpensThinking reports whether a rendered prompt leaves a thinking
// block open for the answer.
func PromptOpensThinking(prompt string) bool {
	return strings.HasSuffix(strings.TrimRight(prompt, " \t\r\n"), thinkOpen)
}

// Push adds a piece of the answer and returns what of it is thinking and
// what is content.
func (s *ThinkSplitter) Push(text string) (thinking, content string) {
	s.pending += text
	for {
		switch s.state {
		case thinkStart:
			rest := strings.TrimLeft(s.pending, " \t\r\n")
			switch {
			case rest == "":
				return thinking, content // only whitespace so far
			case strings.HasPrefix(rest, thinkOpen):
				s.state, s.pending = thinkInside, strings.TrimLeft(rest[len(thinkOpen):], " \t\r\n")
			case strings.HasPrefix(thinkOpen, rest):
				return thinking, content // maybe the tag, still arriving
			default:
				s.state = thinkContent
			}
		case thinkInside:
			if i := strings.Index(s.pending, thinkClose); i >= 0 {
				thinking += strings.TrimRight(s.pending[:i], " \t\r\n")
				s.state, s.pending = thinkAfter, s.pending[i+len(thinkClose):]
				continue
			}
			keep := partialSuffix(s.pending, thinkClose)
			thinking += s.pending[:len(s.pending)-keep]
			s.pending = s.pending[len(s.pending)-keep:]
			return thinking, content
		case thinkAfter:
			// Whitespace right after </think> is dropped.
			s.pending = strings.TrimLeft(s.pending, " \t\r\n")
			if s.pending == "" {
				return thinking, content
			}
			s.state = thinkContent
		case thinkContent:
			content += s.pending
			s.pending = ""
			return thinking, content
		}
	}
}

// Flush returns text still held back at the end of the answer.
func (s *ThinkSplitter) Flush() (thinking, content string) {
	defer func() { s.pending = "" }()
	switch s.state {
	case thinkInside:
		return s.pending, ""
	case thinkStart:
		return "", strings.TrimLeft(s.pending, " \t\r\n")
	case thinkAfter:
		return "", ""
	}
	return "", s.pending
}

// partialSuffix returns the length of the longest suffix of s that is a
// proper prefix of tag.
func partialSuffix(s, tag string) int {
	for n := min(len(s), len(tag)-1); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}
