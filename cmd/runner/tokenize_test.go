package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func runApp(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := newApp(strings.NewReader(stdin), &out, &errOut).run(t.Context(), args)
	return out.String(), err
}

func TestTokenize(t *testing.T) {
	bpe := filepath.Join("..", "..", "tokenizer", "testdata", "tiny", "bpe.json")
	wordpiece := filepath.Join("..", "..", "tokenizer", "testdata", "tiny", "wordpiece.json")
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  []tokenizeOutput
	}{
		{"args", "", []string{"tokenize", "--no-special", bpe, "Hello the world", "東"},
			[]tokenizeOutput{
				{IDs: []int{267, 258, 263}, Tokens: []string{"Hello", "Ġthe", "Ġworld"}, Offsets: [][2]int{{0, 5}, {5, 9}, {9, 15}}},
				{IDs: []int{230, 157, 177}, Tokens: []string{"æ", "Ŀ", "±"}, Offsets: [][2]int{{0, 1}, {0, 1}, {0, 1}}},
			}},
		{"stdin lines", "the\nworld\n", []string{"tokenize", wordpiece},
			[]tokenizeOutput{
				{IDs: []int{2, 5, 3}, Tokens: []string{"[CLS]", "the", "[SEP]"}, Offsets: [][2]int{{0, 0}, {0, 3}, {0, 0}}},
				{IDs: []int{2, 6, 3}, Tokens: []string{"[CLS]", "world", "[SEP]"}, Offsets: [][2]int{{0, 0}, {0, 5}, {0, 0}}},
			}},
		{"pair from stdin", "is it?\tthe world\n", []string{"tokenize", "--pair", wordpiece},
			[]tokenizeOutput{{IDs: []int{2, 11, 12, 13, 3, 5, 6, 3}, Tokens: []string{"[CLS]", "is", "it", "?", "[SEP]", "the", "world", "[SEP]"},
				Offsets: [][2]int{{0, 0}, {0, 2}, {3, 5}, {5, 6}, {0, 0}, {0, 3}, {4, 9}, {0, 0}}, TypeIDs: []int{0, 0, 0, 0, 0, 1, 1, 1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runApp(t, tc.stdin, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(tc.want), out)
			}
			for i, line := range lines {
				var got tokenizeOutput
				if err := json.Unmarshal([]byte(line), &got); err != nil {
					t.Fatal(err)
				}
				w := tc.want[i]
				if !slices.Equal(got.IDs, w.IDs) || !slices.Equal(got.Tokens, w.Tokens) || !slices.Equal(got.Offsets, w.Offsets) || !slices.Equal(got.TypeIDs, w.TypeIDs) {
					t.Errorf("line %d: got %+v, want %+v", i, got, w)
				}
			}
		})
	}
}

func TestTokenizeDecode(t *testing.T) {
	bpe := filepath.Join("..", "..", "tokenizer", "testdata", "tiny", "bpe.json")
	out, err := runApp(t, "[267, 258, 263]\n230 157 177 269\n", "tokenize", "--decode", "--no-special", bpe)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"text\":\"Hello the world\"}\n{\"text\":\"東\"}\n"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if _, err := runApp(t, "", "tokenize", "--decode", bpe, "1 x"); err == nil {
		t.Error("decode of a non-number: no error")
	}
	if _, err := runApp(t, "", "tokenize"); err == nil {
		t.Error("no tokenizer: no error")
	}
	if _, err := runApp(t, "", "tokenize", "--pair", bpe, "one"); err == nil {
		t.Error("odd number of pair texts: no error")
	}
}
