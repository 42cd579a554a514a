package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"runner/envconfig"
)

// Set at build time with -ldflags -X.
var (
	version           = "dev"
	defaultORTLibrary = ""
)

// verb is one subcommand: `runner NAME ARGS...`.
type verb interface {
	// Name is the word users type.
	Name() string
	// Synopsis is the one-line description in `runner help`.
	Synopsis() string
	// Run parses args (without the verb itself) and does the work.
	Run(ctx context.Context, args []string) error
}

// app holds what every verb shares: the standard streams and a logger.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr}
}

// verbs lists the subcommands, one file each.
func (a *app) verbs() []verb {
	return []verb{
		&versionCmd{app: a},
		&showCmd{app: a},
		&serveCmd{app: a},
		&runCmd{app: a},
		&embedCmd{app: a},
		&psCmd{app: a},
		&pullCmd{app: a},
		&listCmd{app: a},
		&rmCmd{app: a},
		&mirrorCmd{app: a},
		&tokenizeCmd{app: a},
		&quantizeCmd{app: a},
		&rerankCmd{app: a},
		&classifyCmd{app: a},
	}
}

// usageError is a mistake in how runner was called; it exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func (a *app) run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return a.run(ctx, []string{args[1], "--help"})
		}
		a.usage(a.stdout)
		return nil
	}
	if args[0] == "--version" || args[0] == "-v" {
		args = []string{"version"}
	}
	for _, v := range a.verbs() {
		if v.Name() == args[0] {
			return v.Run(ctx, args[1:])
		}
	}
	a.usage(a.stderr)
	return usageError{fmt.Errorf("unknown command %q", args[0])}
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintln(w, "runner: small ONNX models from the Hugging Face Hub, served over the Ollama API")
	fmt.Fprintln(w, "\nUsage:\n  runner COMMAND [ARGS]\n\nCommands:")
	vs := a.verbs()
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name() < vs[j].Name() })
	for _, v := range vs {
		fmt.Fprintf(w, "  %-10s %s\n", v.Name(), v.Synopsis())
	}
	fmt.Fprintln(w, "\nRun `runner COMMAND --help` for a command's flags.")
}

// flagSet returns a flag set for a verb whose --help prints its usage line.
func (a *app) flagSet(v verb, usage string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(v.Name(), pflag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "%s\n\nUsage:\n  runner %s %s\n\nFlags:\n", v.Synopsis(), v.Name(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning mistakes into usage errors.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// logger returns the logger verbs use for diagnostics (stderr).
func (a *app) logger() *slog.Logger {
	level := slog.LevelInfo
	if envconfig.Debug() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
}

// envHelp describes the environment variables, for serve --help.
func envHelp() string {
	var b strings.Builder
	b.WriteString("Environment variables:\n")
	for _, e := range envconfig.All() {
		fmt.Fprintf(&b, "  %-26s %s\n", e.Name, e.Description)
	}
	return b.String()
}

func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.Is(err, context.Canceled):
		return 130
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "Error:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
}

// isTerminal reports whether w is a terminal (for progress bars and colour).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
