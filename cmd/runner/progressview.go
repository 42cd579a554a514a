package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"runner/modelstore"
)

// progressView draws a pull's progress: on a terminal a bar per file and
// one overall, redrawn in place; elsewhere plain lines, one per step and per
// finished file.
type progressView struct {
	w       io.Writer
	tty     bool
	order   []string // digests in first-seen order
	files   map[string]modelstore.Progress
	done    map[string]bool
	status  string
	drawn   int // lines drawn last time (tty)
	last    time.Time
	started time.Time
}

func newProgressView(w io.Writer, tty bool) *progressView {
	return &progressView{w: w, tty: tty, files: map[string]modelstore.Progress{}, done: map[string]bool{}, started: time.Now()}
}

// update takes one progress event.
func (v *progressView) update(p modelstore.Progress) {
	if p.Digest == "" {
		v.status = p.Status
		if v.tty {
			v.draw(true)
		} else {
			fmt.Fprintln(v.w, p.Status)
		}
		return
	}
	if _, seen := v.files[p.Digest]; !seen {
		v.order = append(v.order, p.Digest)
	}
	v.files[p.Digest] = p
	if !v.tty {
		if p.Completed >= p.Total && !v.done[p.Digest] {
			v.done[p.Digest] = true
			fmt.Fprintf(v.w, "%s: %s\n", p.Status, humanBytes(p.Total))
		}
		return
	}
	v.draw(p.Completed >= p.Total)
}

// finish draws the final state.
func (v *progressView) finish() {
	if v.tty {
		v.draw(true)
	}
}

func (v *progressView) draw(force bool) {
	if !force && time.Since(v.last) < 100*time.Millisecond {
		return
	}
	v.last = time.Now()
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	lines := 0
	var total, completed int64
	for _, d := range v.order {
		p := v.files[d]
		total += p.Total
		completed += p.Completed
		fmt.Fprintf(&b, "\x1b[2K%s\n", bar(p.Status, p.Completed, p.Total, ""))
		lines++
	}
	if len(v.order) > 1 {
		rate := ""
		if secs := time.Since(v.started).Seconds(); secs > 0.5 && completed < total {
			rate = humanBytes(int64(float64(completed)/secs)) + "/s"
		}
		fmt.Fprintf(&b, "\x1b[2K%s\n", bar("total", completed, total, rate))
		lines++
	}
	if v.status != "" && (len(v.order) == 0 || !strings.HasPrefix(v.status, "pulling manifest")) {
		fmt.Fprintf(&b, "\x1b[2K%s\n", v.status)
		lines++
	}
	v.drawn = lines
	io.WriteString(v.w, b.String())
}

// bar renders "label  45% ▕█████     ▏ 12 MB/26 MB rate".
func bar(label string, done, total int64, rate string) string {
	const width = 25
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	fill := int(frac * width)
	return fmt.Sprintf("%-20s %3.0f%% ▕%s%s▏ %s/%s %s", label, frac*100,
		strings.Repeat("█", fill), strings.Repeat(" ", width-fill), humanBytes(done), humanBytes(total), rate)
}

// humanBytes formats a size in decimal units, as Ollama does.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, " KMGT"[i])
}
