package pipeline

import (
	"fmt"
	"testing"

	"runner/tokenizer"
)

// encodingOf makes an encoding of body tokens 100, 101, ... between lead
// and trail special tokens.
func encodingOf(lead, body, trail int) *tokenizer.Encoding {
	e := &tokenizer.Encoding{}
	for i := range lead + body + trail {
		special := 0
		if i < lead || i >= lead+body {
			special = 1
		}
		e.IDs = append(e.IDs, 100+i)
		e.TypeIDs = append(e.TypeIDs, 0)
		e.SpecialTokensMask = append(e.SpecialTokensMask, special)
	}
	return e
}

// TestSplitWindows: windows fit the model, overlap by the stride, keep the
// special tokens, and give every body token its labels exactly once, from
// the window where it has the most context on its less-seen side.
func TestSplitWindows(t *testing.T) {
	for _, c := range []struct{ lead, body, trail, maxLen, stride int }{
		{1, 1000, 1, 128, 32}, {1, 1000, 1, 128, 0}, {1, 127, 1, 128, 16}, {1, 126, 1, 128, 16},
		{2, 300, 1, 64, 31}, {0, 50, 0, 10, 1}, {1, 10, 1, 12, 9}, {1, 0, 1, 128, 8},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			enc := encodingOf(c.lead, c.body, c.trail)
			ws, err := splitWindows(3, enc, c.maxLen, c.stride)
			if err != nil {
				t.Fatal(err)
			}
			n := enc.Len()
			if (n <= c.maxLen || c.stride == 0) != (len(ws) == 1) {
				t.Fatalf("%d windows for %d tokens", len(ws), n)
			}
			owners := make([]int, c.body)
			for k, w := range ws {
				we := w.encoding(enc)
				if w.text != 3 || (len(ws) > 1 && we.Len() > c.maxLen) {
					t.Fatalf("window %d: text %d, %d tokens", k, w.text, we.Len())
				}
				if k > 0 && w.start != ws[k-1].end-c.stride {
					t.Fatalf("window %d starts at %d; the one before ends at %d", k, w.start, ws[k-1].end)
				}
				for j := range we.Len() {
					p := w.position(j, n)
					if we.IDs[j] != enc.IDs[p] || we.SpecialTokensMask[j] != enc.SpecialTokensMask[p] {
						t.Fatalf("window %d token %d is %d, maps to %d (%d)", k, j, we.IDs[j], p, enc.IDs[p])
					}
					if w.owns(p) {
						if enc.SpecialTokensMask[p] != 0 {
							t.Fatalf("window %d owns special token %d", k, p)
						}
						owners[p-c.lead]++
					}
				}
			}
			// Context of body token q in a window: tokens seen on its
			// shorter side, unbounded at the text's own ends.
			context := func(w tokenWindow, q int) int {
				left, right := q-w.start, w.end-1-q
				if w.start == 0 {
					left = c.body
				}
				if w.end == c.body {
					right = c.body
				}
				return min(left, right)
			}
			for q, n := range owners {
				if n != 1 {
					t.Fatalf("body token %d labelled by %d windows", q, n)
				}
				best, owner := -1, -1
				for _, w := range ws {
					if q >= w.start && q < w.end && context(w, q) > best {
						best = context(w, q)
					}
					if w.owns(c.lead + q) {
						owner = context(w, q)
					}
				}
				if owner != best {
					t.Fatalf("body token %d: its window gives it %d tokens of context, another %d", q, owner, best)
				}
			}
		})
	}
	if _, err := splitWindows(0, encodingOf(1, 500, 1), 128, 126); err == nil {
		t.Fatal("a stride as long as the window was accepted")
	}
}
