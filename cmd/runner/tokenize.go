package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"runner/modelstore"
	"runner/tokenizer"
)

// tokenizeCmd encodes text with a model's tokenizer, or decodes ids.
type tokenizeCmd struct{ app *app }

func (c *tokenizeCmd) Name() string { return "tokenize" }
func (c *tokenizeCmd) Synopsis() string {
	return "Encode text to token ids with a tokenizer (or decode ids with --decode)"
}

// tokenizeOutput is one line of `runner tokenize` output.
type tokenizeOutput struct {
	IDs     []int    `json:"ids"`
	Tokens  []string `json:"tokens"`
	Offsets [][2]int `json:"offsets"`
	TypeIDs []int    `json:"type_ids,omitempty"`
}

func (c *tokenizeCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "MODEL|DIR|tokenizer.json [TEXT...]")
	pair := fs.Bool("pair", false, "encode pairs of texts: TEXT arguments two by two, or stdin lines as FIRST<TAB>SECOND")
	noSpecial := fs.Bool("no-special", false, "leave out special tokens (on decode: skip them)")
	decode := fs.Bool("decode", false, "decode: each argument or stdin line is a list of ids (JSON array, or separated by spaces or commas)")
	byteOffsets := fs.Bool("byte-offsets", false, "print byte offsets instead of character offsets")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return usageError{errors.New("tokenize needs a model, a tokenizer directory or a tokenizer.json")}
	}
	tk, err := c.loadTokenizer(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	inputs := fs.Args()[1:]
	next := argsInput(inputs)
	if len(inputs) == 0 {
		next = linesInput(c.app.stdin)
	}
	enc := json.NewEncoder(c.app.stdout)
	enc.SetEscapeHTML(false)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if *decode {
			ids, err := parseIDs(line)
			if err != nil {
				return usageError{err}
			}
			text, err := tk.Decode(ids, *noSpecial)
			if err != nil {
				return err
			}
			if err := enc.Encode(map[string]string{"text": text}); err != nil {
				return err
			}
			continue
		}
		var opts []tokenizer.EncodeOption
		if *noSpecial {
			opts = append(opts, tokenizer.WithoutSpecialTokens())
		}
		var e *tokenizer.Encoding
		texts := []string{line}
		if *pair {
			second, ok, err := pairSecond(line, len(inputs) > 0, next)
			if err != nil {
				return err
			}
			if !ok {
				return usageError{errors.New("--pair needs an even number of texts")}
			}
			if len(inputs) == 0 {
				line, _, _ = strings.Cut(line, "\t")
			}
			texts = []string{line, second}
			e, err = tk.EncodePair(line, second, opts...)
			if err != nil {
				return err
			}
		} else if e, err = tk.Encode(line, opts...); err != nil {
			return err
		}
		if err := enc.Encode(outputOf(e, texts, *byteOffsets, *pair)); err != nil {
			return err
		}
	}
}

// loadTokenizer loads a tokenizer directory or a tokenizer.json file.
// loadTokenizer loads a tokenizer from a directory, a tokenizer.json, or a
// model reference (pulled first if it is not in the cache).
func (c *tokenizeCmd) loadTokenizer(ctx context.Context, ref string) (*tokenizer.Tokenizer, error) {
	if st, err := os.Stat(ref); err == nil {
		if st.IsDir() {
			return tokenizer.LoadDir(ref)
		}
		return tokenizer.LoadFile(ref)
	}
	store, err := c.app.newStore()
	if err != nil {
		return nil, err
	}
	m, err := store.Resolve(ctx, ref, modelstore.ResolveOptions{Pull: true})
	if err != nil {
		return nil, err
	}
	return tokenizer.LoadDir(m.Dir)
}

func outputOf(e *tokenizer.Encoding, texts []string, byteOffsets, pair bool) tokenizeOutput {
	out := tokenizeOutput{IDs: e.IDs, Tokens: e.Tokens, Offsets: make([][2]int, len(e.Offsets))}
	for i, o := range e.Offsets {
		if seq := e.SequenceIDs[i]; !byteOffsets && seq >= 0 {
			o = tokenizer.RuneOffsets(texts[seq], []tokenizer.Offset{o})[0]
		}
		out.Offsets[i] = [2]int{o.Start, o.End}
	}
	if pair {
		out.TypeIDs = e.TypeIDs
	}
	return out
}

// pairSecond returns the second text of a pair: the next argument, or the
// part of a stdin line after its tab.
func pairSecond(line string, fromArgs bool, next func() (string, bool, error)) (string, bool, error) {
	if fromArgs {
		return next()
	}
	_, second, ok := strings.Cut(line, "\t")
	return second, ok, nil
}

// argsInput yields the arguments one by one.
func argsInput(args []string) func() (string, bool, error) {
	i := 0
	return func() (string, bool, error) {
		if i >= len(args) {
			return "", false, nil
		}
		i++
		return args[i-1], true, nil
	}
}

// linesInput yields the lines of r, without their line endings.
func linesInput(r io.Reader) func() (string, bool, error) {
	br := bufio.NewReader(r)
	return func() (string, bool, error) {
		line, err := br.ReadString('\n')
		if err == io.EOF && line == "" {
			return "", false, nil
		}
		if err != nil && err != io.EOF {
			return "", false, fmt.Errorf("read stdin: %w", err)
		}
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\r")
		return line, true, nil
	}
}

// parseIDs reads ids as a JSON array or separated by spaces or commas.
func parseIDs(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	var ids []int
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &ids); err != nil {
			return nil, fmt.Errorf("ids %q: %w", s, err)
		}
		return ids, nil
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		id, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("id %q: %w", f, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
