// Command runbench runs runner's benchmark suites (make bench) and prints
// their tables. Name suites as arguments to run only those.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"

	"runner/internal/bench"
)

func suites() []bench.Suite {
	return []bench.Suite{
		bench.EngineSuite(),
		bench.EmbedSuite(),
		bench.GenerateSuite(),
		bench.PullSuite(),
		bench.TokenizerSuite(),
		bench.QuantSuite(),
		bench.RerankSuite(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	env := bench.EnvFromEnviron()
	failed := false
	for _, s := range suites() {
		if len(os.Args) > 1 && !slices.Contains(os.Args[1:], s.Name) {
			continue
		}
		r := bench.NewReport(os.Stdout, s.Name)
		if err := s.Run(ctx, env, r); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", s.Name, err)
			failed = true
		}
		r.Flush()
	}
	if failed {
		os.Exit(1)
	}
}
