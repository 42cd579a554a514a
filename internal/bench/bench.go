// Package bench measures runner against its peers on the same models and
// inputs in one run, and prints ratios. `make bench` runs every suite.
//
// Machines are noisy: each measurement is repeated and reported as a median,
// and what matters is the ratio between runner and a peer measured moments
// apart on the same machine, never one absolute time.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Env is what suites need from the outside: fetched libraries and tools.
type Env struct {
	// ORTLibrary is the ONNX Runtime shared library.
	ORTLibrary string
	// NodeDir holds node_modules with the reference tools.
	NodeDir string
	// Fixtures is the directory of generated fixture models.
	Fixtures string
	// Tokenizers is the directory of fetched real tokenizer files.
	Tokenizers string
	// Runner is the built bin/runner binary.
	Runner string
	// Quick asks suites for fewer repetitions (smoke runs).
	Quick bool
}

// EnvFromEnviron fills an Env from the RUNNER_TEST_* variables the Makefile
// exports, and the runner binary path.
func EnvFromEnviron() Env {
	return Env{
		ORTLibrary: os.Getenv("RUNNER_TEST_ORT_LIB"),
		NodeDir:    os.Getenv("RUNNER_TEST_NODE_DIR"),
		Fixtures:   os.Getenv("RUNNER_TEST_FIXTURES"),
		Tokenizers: os.Getenv("RUNNER_TEST_TOKENIZERS"),
		Runner:     os.Getenv("RUNNER_BIN"),
		Quick:      os.Getenv("RUNNER_BENCH_QUICK") != "",
	}
}

// Suite is one group of comparisons, such as "tokenizer" or "embed".
type Suite struct {
	Name string
	Run  func(ctx context.Context, env Env, r *Report) error
}

// Report collects a suite's rows and prints them as a table.
type Report struct {
	w     io.Writer
	title string
	rows  [][]string
	notes []string
}

// NewReport starts a report that prints to w.
func NewReport(w io.Writer, title string) *Report { return &Report{w: w, title: title} }

// Row adds a row of cells; the first Row is the header.
func (r *Report) Row(cells ...string) { r.rows = append(r.rows, cells) }

// Note adds a line printed under the table.
func (r *Report) Note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// Flush prints the table and notes.
func (r *Report) Flush() {
	fmt.Fprintf(r.w, "\n== %s ==\n", r.title)
	tw := tabwriter.NewWriter(r.w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, row := range r.rows {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	for _, n := range r.notes {
		fmt.Fprintln(r.w, "  "+n)
	}
	r.rows, r.notes = nil, nil
}

// Median runs fn n times and returns the median duration.
func Median(n int, fn func() error) (time.Duration, error) {
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return MedianOf(ds), nil
}

// MedianOf returns the median of ds (which it sorts).
func MedianOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// Percentile returns the p-th percentile (0..100) of ds (which it sorts).
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(p / 100 * float64(len(ds)-1))
	return ds[i]
}

// Ratio formats a/b as "1.23x".
func Ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
