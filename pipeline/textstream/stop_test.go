package textstream

import (
	"strings"
	"testing"
)

func run(stops []string, chunks ...string) (string, bool) {
	f := NewStopFilter(stops)
	var out strings.Builder
	for _, c := range chunks {
		emit, stopped := f.Push(c)
		out.WriteString(emit)
		if stopped {
			return out.String(), true
		}
	}
	out.WriteString(f.Flush())
	return out.String(), false
}

func TestStopFilter(t *testing.T) {
	cases := map[string]struct {
		stops   []string
		chunks  []string
		want    string
		stopped bool
	}{
		"no stops":            {nil, []string{"a", "b"}, "ab", false},
		"whole stop":          {[]string{"END"}, []string{"hello ", "END", " more"}, "hello ", true},
		"split across chunks": {[]string{"</s>"}, []string{"hi <", "/", "s> tail"}, "hi ", true},
		"false start":         {[]string{"</s>"}, []string{"a <", "b"}, "a <b", false},
		"earliest wins":       {[]string{"bb", "a"}, []string{"xbba"}, "x", true},
		"held tail flushed":   {[]string{"STOP"}, []string{"ST"}, "ST", false},
		"multibyte":           {[]string{"日本"}, []string{"こん", "日", "本語"}, "こん", true},
		"stop inside a chunk": {[]string{"\n\n"}, []string{"line\n", "\nnext"}, "line", true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, stopped := run(c.stops, c.chunks...)
			if got != c.want || stopped != c.stopped {
				t.Fatalf("got %q (stopped %v), want %q (stopped %v)", got, stopped, c.want, c.stopped)
			}
		})
	}
}

// Whatever the chunking, the output is the text up to the first stop.
func FuzzStopFilter(f *testing.F) {
	f.Add("hello world</s>tail", "</s>", 3)
	f.Fuzz(func(t *testing.T, text, stop string, size int) {
		if size <= 0 || size > 16 || stop == "" {
			return
		}
		var chunks []string
		for i := 0; i < len(text); i += size {
			chunks = append(chunks, text[i:min(i+size, len(text))])
		}
		got, stopped := run([]string{stop}, chunks...)
		want := text
		if i := strings.Index(text, stop); i >= 0 {
			want = text[:i]
		}
		if got != want || stopped != strings.Contains(text, stop) {
			t.Fatalf("text %q stop %q size %d: got %q (stopped %v), want %q", text, stop, size, got, stopped, want)
		}
	})
}
