package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ollama/ollama/api"
)

const replHelp = `Commands:
  /set parameter NAME VALUE  set a model option (temperature, top_k, top_p, num_predict, seed, stop...)
  /set system TEXT           set the system message
  /set format json|SCHEMA    answer in JSON, or JSON following a schema
  /set noformat              answer in free text again
  /set verbose | quiet       show or hide timings after each answer
  /set think | nothink       let a thinking model think, or not
  /set hidethinking | showthinking
  /show parameters | system | format
  /clear                     forget the conversation
  /bye                       leave
  """                        start and end a multi-line message`

// repl reads prompts from the terminal until /bye or end of input.
func (s *chatSession) repl(ctx context.Context) error {
	in := bufio.NewScanner(s.app.stdin)
	in.Buffer(make([]byte, 0, 64<<10), 16<<20)
	fmt.Fprintln(s.app.stdout, `Type a message; /? for help, /bye to leave, """ for several lines.`)
	for {
		fmt.Fprint(s.app.stdout, ">>> ")
		if !in.Scan() {
			fmt.Fprintln(s.app.stdout)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		if rest, ok := strings.CutPrefix(line, `"""`); ok {
			lines := []string{rest}
			for in.Scan() {
				l := in.Text()
				if before, done := strings.CutSuffix(l, `"""`); done {
					lines = append(lines, before)
					break
				}
				lines = append(lines, l)
			}
			line = strings.TrimSpace(strings.Join(lines, "\n"))
		}
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "/") {
			quit, err := s.command(line)
			if quit {
				return nil
			}
			if err != nil {
				fmt.Fprintln(s.app.stderr, "Error:", err)
			}
			continue
		}
		if err := s.ask(ctx, line); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintln(s.app.stderr, "Error:", err)
		}
	}
}

// command runs a REPL command, as `ollama run` names them, and reports
// whether it asks to leave.
func (s *chatSession) command(line string) (quit bool, err error) {
	fields := strings.Fields(line)
	out := s.app.stdout
	switch fields[0] {
	case "/bye", "/exit", "/quit":
		return true, nil
	case "/clear":
		s.history = slices.DeleteFunc(s.history, func(m api.Message) bool { return m.Role != "system" })
		fmt.Fprintln(out, "Cleared the conversation.")
	case "/?", "/help":
		fmt.Fprintln(out, replHelp)
	case "/set":
		return false, s.set(fields[1:], line)
	case "/show":
		return false, s.show(fields[1:])
	default:
		return false, fmt.Errorf("unknown command %s (/? lists them)", fields[0])
	}
	return false, nil
}

// set handles /set; line is the whole command, for values with spaces.
func (s *chatSession) set(args []string, line string) error {
	if len(args) == 0 {
		return fmt.Errorf("/set what? (/? lists the settings)")
	}
	// rest is the text after "/set WHAT ", spaces kept.
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(line, "/set")), args[0]))
	switch args[0] {
	case "parameter":
		if len(args) < 3 {
			return fmt.Errorf("usage: /set parameter NAME VALUE")
		}
		if s.options == nil {
			s.options = map[string]any{}
		}
		s.options[args[1]] = parameterValue(args[1], args[2:])
		fmt.Fprintf(s.app.stdout, "Set parameter %s to %v.\n", args[1], s.options[args[1]])
	case "system":
		s.history = slices.DeleteFunc(s.history, func(m api.Message) bool { return m.Role == "system" })
		if rest != "" {
			s.history = slices.Insert(s.history, 0, api.Message{Role: "system", Content: rest})
		}
		fmt.Fprintln(s.app.stdout, "Set system message.")
	case "format":
		f, err := readFormat(rest)
		if err != nil {
			return err
		}
		s.format = f
		fmt.Fprintln(s.app.stdout, "Set format.")
	case "noformat":
		s.format = nil
		fmt.Fprintln(s.app.stdout, "Answers are free text.")
	case "verbose", "quiet":
		s.verbose = args[0] == "verbose"
	case "think", "nothink":
		s.think = &api.ThinkValue{Value: args[0] == "think"}
	case "hidethinking", "showthinking":
		s.hideThinking = args[0] == "hidethinking"
	default:
		return fmt.Errorf("unknown setting %q (/? lists them)", args[0])
	}
	return nil
}

// parameterValue reads a /set parameter value: stop takes every word given;
// numbers and booleans become JSON numbers and booleans.
func parameterValue(name string, words []string) any {
	if name == "stop" {
		out := make([]any, len(words))
		for i, w := range words {
			out[i] = w
		}
		return out
	}
	v := strings.Join(words, " ")
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return v
}

func (s *chatSession) show(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("/show what? parameters, system or format")
	}
	out := s.app.stdout
	switch args[0] {
	case "parameters":
		names := make([]string, 0, len(s.options))
		for k := range s.options {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			b, _ := json.Marshal(s.options[k])
			fmt.Fprintf(out, "%-20s %s\n", k, b)
		}
		if len(names) == 0 {
			fmt.Fprintln(out, "No parameters set; the model's defaults apply.")
		}
	case "system":
		for _, m := range s.history {
			if m.Role == "system" {
				fmt.Fprintln(out, m.Content)
				return nil
			}
		}
		fmt.Fprintln(out, "No system message.")
	case "format":
		if s.format == nil {
			fmt.Fprintln(out, "Free text.")
		} else {
			fmt.Fprintln(out, string(s.format))
		}
	default:
		return fmt.Errorf("unknown: /show %s", args[0])
	}
	return nil
}
