package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// runCmd chats with a model: one answer to a prompt, or a conversation on a
// terminal.
type runCmd struct {
	app          *app
	engine       engineFlags
	verbose      bool
	system       string
	format       string
	think        string
	hideThinking bool
}

func (c *runCmd) Name() string { return "run" }
func (c *runCmd) Synopsis() string {
	return "Chat with a model: answer a prompt, or talk on a terminal"
}

func (c *runCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "MODEL [PROMPT...]")
	c.engine.register(fs)
	fs.BoolVar(&c.verbose, "verbose", false, "print timings and tokens/s after each answer")
	fs.StringVar(&c.system, "system", "", "system prompt")
	fs.StringVar(&c.format, "format", "", `answer format: "json", a JSON schema, or @FILE holding one`)
	fs.StringVar(&c.think, "think", "", "thinking models: true or false (default: the model's own)")
	fs.BoolVar(&c.hideThinking, "hidethinking", false, "do not show a thinking model's thinking")
	if err := parse(fs, args); err != nil {
		return err
	}
	format, err := readFormat(c.format)
	if err != nil {
		return usageError{err}
	}
	think, err := readThink(c.think)
	if err != nil {
		return usageError{err}
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError{errors.New("run needs a model")}
	}
	name, prompt := fs.Arg(0), strings.Join(fs.Args()[1:], " ")

	conn, err := c.app.connect(ctx, &c.engine)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := c.app.ensurePulled(ctx, conn, name); err != nil {
		return err
	}
	show, err := conn.Show(ctx, &api.ShowRequest{Model: name})
	if err != nil {
		return err
	}
	if !slices.Contains(show.Capabilities, model.CapabilityCompletion) {
		return fmt.Errorf("%s does not generate text (it supports %v); try `runner embed` or `runner classify`", name, show.Capabilities)
	}
	s := &chatSession{app: c.app, conn: conn, model: name, verbose: c.verbose, raw: show.Template == "", format: format,
		think: think, hideThinking: c.hideThinking}
	if c.system != "" {
		s.history = append(s.history, api.Message{Role: "system", Content: c.system})
	}

	stdinTTY := isTerminal(os.Stdin) && c.app.stdin == os.Stdin
	if prompt == "" && !stdinTTY {
		b, err := io.ReadAll(c.app.stdin)
		if err != nil {
			return err
		}
		prompt = strings.TrimSpace(string(b))
	}
	if prompt != "" {
		return s.ask(ctx, prompt)
	}
	return s.repl(ctx)
}

// chatSession is a conversation with one model.
type chatSession struct {
	app     *app
	conn    *connection
	model   string
	verbose bool
	// raw models have no chat template: prompts go to /api/generate as is.
	raw    bool
	format json.RawMessage
	// options are the model options set with /set parameter.
	options map[string]any
	// think is sent with each turn (nil: the model's default);
	// hideThinking keeps a thinking block off the screen.
	think        *api.ThinkValue
	hideThinking bool
	history      []api.Message
}

// readFormat turns --format into a request's format field: "json", a JSON
// schema given inline, or @PATH naming a file that holds one.
func readFormat(flag string) (json.RawMessage, error) {
	switch {
	case flag == "":
		return nil, nil
	case flag == "json":
		return json.RawMessage(`"json"`), nil
	case strings.HasPrefix(flag, "@"):
		b, err := os.ReadFile(flag[1:])
		if err != nil {
			return nil, fmt.Errorf("--format: %w", err)
		}
		flag = string(b)
	}
	if !json.Valid([]byte(flag)) || !strings.HasPrefix(strings.TrimSpace(flag), "{") {
		return nil, fmt.Errorf(`--format must be "json", a JSON schema object, or @FILE holding one`)
	}
	return json.RawMessage(flag), nil
}

// readThink reads --think: empty for the model's default, else true or
// false.
func readThink(flag string) (*api.ThinkValue, error) {
	if flag == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(flag)
	if err != nil {
		return nil, fmt.Errorf("--think must be true or false, not %q", flag)
	}
	return &api.ThinkValue{Value: b}, nil
}

// ask sends one user turn and streams the answer to stdout.
func (s *chatSession) ask(ctx context.Context, prompt string) error {
	var answer strings.Builder
	var m api.Metrics
	var err error
	if s.raw {
		err = s.conn.Generate(ctx, &api.GenerateRequest{Model: s.model, Prompt: prompt, Raw: true, Format: s.format, Options: s.options}, func(r api.GenerateResponse) error {
			fmt.Fprint(s.app.stdout, r.Response)
			answer.WriteString(r.Response)
			m = r.Metrics
			return nil
		})
	} else {
		msgs := append(slices.Clone(s.history), api.Message{Role: "user", Content: prompt})
		thinking := false
		err = s.conn.Chat(ctx, &api.ChatRequest{Model: s.model, Messages: msgs, Format: s.format, Options: s.options, Think: s.think}, func(r api.ChatResponse) error {
			// Thinking shows as `ollama run` shows it, unless hidden.
			if r.Message.Thinking != "" && !s.hideThinking {
				if !thinking {
					fmt.Fprintln(s.app.stdout, "Thinking...")
					thinking = true
				}
				fmt.Fprint(s.app.stdout, r.Message.Thinking)
			}
			if r.Message.Content != "" && thinking {
				fmt.Fprint(s.app.stdout, "\n...done thinking.\n\n")
				thinking = false
			}
			fmt.Fprint(s.app.stdout, r.Message.Content)
			answer.WriteString(r.Message.Content)
			m = r.Metrics
			return nil
		})
		if err == nil {
			s.history = append(msgs, api.Message{Role: "assistant", Content: answer.String()})
		}
	}
	fmt.Fprintln(s.app.stdout)
	if err != nil {
		return err
	}
	if s.verbose {
		printMetrics(s.app.stderr, m)
	}
	return nil
}

// printMetrics prints timings as `ollama run --verbose` does.
func printMetrics(w io.Writer, m api.Metrics) {
	rate := func(n int, d time.Duration) string {
		if d <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f tokens/s", float64(n)/d.Seconds())
	}
	fmt.Fprintf(w, "total duration:       %v\n", m.TotalDuration)
	fmt.Fprintf(w, "load duration:        %v\n", m.LoadDuration)
	fmt.Fprintf(w, "prompt eval count:    %d token(s)\n", m.PromptEvalCount)
	fmt.Fprintf(w, "prompt eval duration: %v\n", m.PromptEvalDuration)
	fmt.Fprintf(w, "prompt eval rate:     %s\n", rate(m.PromptEvalCount, m.PromptEvalDuration))
	fmt.Fprintf(w, "eval count:           %d token(s)\n", m.EvalCount)
	fmt.Fprintf(w, "eval duration:        %v\n", m.EvalDuration)
	fmt.Fprintf(w, "eval rate:            %s\n", rate(m.EvalCount, m.EvalDuration))
}
