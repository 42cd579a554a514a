package textstream_test

import (
	"strings"
	"testing"

	"runner/pipeline"
	"runner/pipeline/textstream"
)

// split runs an answer through a ThinkSplitter in pieces of n bytes.
func split(answer string, open bool, n int) (thinking, content string) {
	s := textstream.NewThinkSplitter(open)
	var th, c strings.Builder
	for i := 0; i < len(answer); i += n {
		a, b := s.Push(answer[i:min(i+n, len(answer))])
		th.WriteString(a)
		c.WriteString(b)
	}
	a, b := s.Flush()
	th.WriteString(a)
	c.WriteString(b)
	return th.String(), c.String()
}

// The streamed split, in pieces of any size, agrees with SplitThinking on
// the whole answer.
func TestThinkSplitterAgreesWithWholeAnswer(t *testing.T) {
	for _, tc := range []struct {
		answer         string
		open           bool
		thinking, text string
	}{
		{"<think>\nLet me see: 2+2.\n</think>\n\nIt is 4.", false, "Let me see: 2+2.", "It is 4."},
		{"  <think>a<b</think>c", false, "a<b", "c"},
		{"<think></think>\n\n{\"ok\": true}", false, "", `{"ok": true}`},
		{"No thinking here, <think> is just text.", false, "", "No thinking here, <think> is just text."},
		{"Weighing it up.\n</think>\n\nYes.", true, "Weighing it up.", "Yes."},
		{"<think>unfinished", false, "unfinished", ""},
		{"", false, "", ""},
		{"<thin", false, "", "<thin"},
	} {
		if th, c := pipeline.SplitThinking(tc.answer, tc.open); th != tc.thinking || c != tc.text {
			t.Fatalf("SplitThinking(%q) = %q, %q; want %q, %q", tc.answer, th, c, tc.thinking, tc.text)
		}
		wantTh, wantC := tc.thinking, tc.text
		for n := 1; n <= len(tc.answer)+1; n++ {
			th, c := split(tc.answer, tc.open, n)
			if strings.TrimSpace(th) != wantTh || strings.TrimSpace(c) != wantC {
				t.Fatalf("%q in pieces of %d: thinking %q, content %q; want %q, %q", tc.answer, n, th, c, wantTh, wantC)
			}
		}
	}
}

func TestPromptOpensThinking(t *testing.T) {
	if !textstream.PromptOpensThinking("<|im_start|>assistant\n<think>\n") || textstream.PromptOpensThinking("<think>\n\n</think>\n\n") {
		t.Fatal("PromptOpensThinking")
	}
}
