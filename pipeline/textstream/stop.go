// Package textstream shapes generated text on its way to the client: it
// holds back text that may be the start of a stop string, so a stop string
// is never emitted, even when it arrives split across tokens, and it
// separates a thinking block (<think>…</think>) from the content as both
// stream.
package textstream

import "strings"

// StopFilter passes text through until one of its stop strings appears.
// The zero value (no stop strings) passes everything.
type StopFilter struct {
	stops   []string
	pending strings.Builder
	stopped bool
}

// NewStopFilter makes a filter for the given stop strings (empty ones are
// ignored).
func NewStopFilter(stops []string) *StopFilter {
	f := &StopFilter{}
	for _, s := range stops {
		if s != "" {
			f.stops = append(f.stops, s)
		}
	}
	return f
}

// Push adds newly generated text. It returns the text that is safe to emit
// and whether a stop string was found (the text before it is emitted, the
// stop string and anything after it never are).
func (f *StopFilter) Push(text string) (emit string, stopped bool) {
	if f.stopped {
		return "", true
	}
	if len(f.stops) == 0 {
		return text, false
	}
	f.pending.WriteString(text)
	buf := f.pending.String()
	cut := -1
	for _, s := range f.stops {
		if i := strings.Index(buf, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		f.stopped = true
		f.pending.Reset()
		return buf[:cut], true
	}
	// Hold back the longest tail that could begin a stop string.
	hold := 0
	for _, s := range f.stops {
		for n := min(len(s)-1, len(buf)); n > hold; n-- {
			if strings.HasSuffix(buf, s[:n]) {
				hold = n
				break
			}
		}
	}
	f.pending.Reset()
	f.pending.WriteString(buf[len(buf)-hold:])
	return buf[:len(buf)-hold], false
}

// Flush returns the text held back, at the end of generation.
func (f *StopFilter) Flush() string {
	if f.stopped {
		return ""
	}
	s := f.pending.String()
	f.pending.Reset()
	return s
}
