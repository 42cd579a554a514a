package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"runner/engine"
	"runner/pipeline/constrain"
	"runner/pipeline/sampling"
	"runner/pipeline/textstream"
	"runner/tokenizer"
)

// GenerateOptions adjust one generation.
type GenerateOptions struct {
	Sampling sampling.Options
	// MaxTokens bounds the tokens generated (Ollama's num_predict); 0 or
	// less runs until an end-of-sequence token or a full context.
	MaxTokens int
	// Stop strings end generation; they are never emitted.
	Stop []string
	// Truncate keeps the end of a prompt too long for the context instead
	// of refusing it.
	Truncate bool
	// Shift lets a generation that fills the context go on: it drops the
	// older half of the tokens after the first Keep and continues, as
	// Ollama's shift does. Without it a full context ends generation with
	// DoneReason "length". MaxTokens is then at most ten contexts' worth.
	Shift bool
	// Keep is how many tokens at the start of the prompt a shift keeps
	// (Ollama's num_keep).
	Keep int
	// ContextLength caps the tokens (prompt and generated) this generation
	// holds at once (Ollama's num_ctx); 0, or more than the model's, is
	// the model's context length.
	ContextLength int
	// Format, when not nil, constrains the output to a grammar (Ollama's
	// format: any JSON value, or one matching a JSON schema). Generation
	// stops, with DoneReason "stop", as soon as the value is complete.
	Format *constrain.Grammar
	// FormatAfterThinking lets a thinking model (one whose tokenizer has
	// <think> and </think> tokens) think first, freely, when its answer
	// opens with <think> or its prompt leaves the block open; Format then
	// applies after </think>.
	FormatAfterThinking bool
}

// GenerateStats describe a finished generation, with Ollama's counts and
// durations.
type GenerateStats struct {
	PromptTokens   int
	PromptDuration time.Duration
	Tokens         int
	EvalDuration   time.Duration
	// DoneReason is "stop" (end-of-sequence token or stop string) or
	// "length" (MaxTokens or the context length reached).
	DoneReason string
	// Context is the prompt's and the generated tokens' ids, for
	// /api/generate's context field.
	Context []int
}

// EncodePrompt tokenises a prompt. Rendered chat templates carry their own
// special tokens, so addSpecial is false for them and true for raw prompts.
func (m *Model) EncodePrompt(text string, addSpecial bool) ([]int, error) {
	var opts []tokenizer.EncodeOption
	if !addSpecial {
		opts = append(opts, tokenizer.WithoutSpecialTokens())
	}
	opts = append(opts, tokenizer.WithTruncationOption(nil), tokenizer.WithPaddingOption(nil))
	enc, err := m.tok.Encode(text, opts...)
	if err != nil {
		return nil, fmt.Errorf("tokenize prompt: %w", err)
	}
	return enc.IDs, nil
}

// Generate continues prompt (token ids) and calls emit with each piece of
// new text as it is generated: whole UTF-8 characters, never part of a stop
// string. Concurrent generations on one model share its decode steps.
func (m *Model) Generate(ctx context.Context, prompt []int, opts GenerateOptions, emit func(text string) error) (*GenerateStats, error) {
	if err := m.Need(TaskGenerate); err != nil {
		return nil, err
	}
	if len(prompt) == 0 {
		return nil, badRequest("the prompt is empty")
	}
	maxLen := m.maxLen
	if opts.ContextLength > 0 && opts.ContextLength < maxLen {
		maxLen = max(opts.ContextLength, 2)
	}
	if limit := maxLen - 1; len(prompt) > limit {
		if !opts.Truncate {
			return nil, badRequest("the prompt is %d tokens; the context is %d", len(prompt), maxLen)
		}
		// Keep the end of the prompt, and the leading BOS if there is one.
		keep := append([]int(nil), prompt[len(prompt)-limit:]...)
		if m.bos >= 0 && prompt[0] == m.bos {
			keep[0] = m.bos
		}
		prompt = keep
	}
	s := &genSeq{
		ctx:     ctx,
		prompt:  make([]int64, len(prompt)),
		sampler: sampling.New(opts.Sampling),
		history: append(make([]int, 0, len(prompt)+64), prompt...),
		maxNew:  opts.MaxTokens,
		notify:  make(chan struct{}, 1),
		shift:   opts.Shift,
		keep:    opts.Keep,
		maxLen:  maxLen,
	}
	if limit := 10 * maxLen; s.shift && (s.maxNew <= 0 || s.maxNew > limit) {
		s.maxNew = limit
	}
	for i, id := range prompt {
		s.prompt[i] = int64(id)
	}
	if opts.Format != nil {
		s.format = newFormatState(m.tok, m.vocabulary(), opts.Format, opts.FormatAfterThinking, prompt)
	}
	if err := m.gen.submit(ctx, s); err != nil {
		return nil, err
	}
	// The generator owns s until it is done; stop it early on any return.
	defer s.cancel.Store(true)

	stats := &GenerateStats{PromptTokens: len(prompt)}
	dec := m.tok.NewStreamDecoder(true)
	stops := textstream.NewStopFilter(opts.Stop)
	var all []int
	for {
		select {
		case <-s.notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		tokens, done, reason, err := s.take()
		for _, tok := range tokens {
			all = append(all, tok)
			piece, err := dec.Next(tok)
			if err != nil {
				return nil, fmt.Errorf("decode token %d: %w", tok, err)
			}
			text, stopped := stops.Push(piece)
			if text != "" {
				if err := emit(text); err != nil {
					return nil, err
				}
			}
			if stopped {
				s.cancel.Store(true)
				done, reason, err = true, "stop", nil
				break
			}
		}
		if err != nil {
			return nil, err
		}
		if done {
			if rest := stops.Flush(); rest != "" {
				if err := emit(rest); err != nil {
					return nil, err
				}
			}
			s.mu.Lock()
			stats.PromptDuration, stats.EvalDuration = s.promptDur, s.evalDur
			s.mu.Unlock()
			stats.Tokens, stats.DoneReason = len(all), reason
			stats.Context = append(append([]int(nil), prompt...), all...)
			return stats, nil
		}
	}
}

// loadDecoder prepares generation for a decoder model.
func (m *Model) loadDecoder(cfg LoadConfig) error {
	heads := m.cfg.NumKeyValueHeads
	if heads == 0 {
		heads = m.cfg.NumAttentionHeads
	}
	headDim := m.cfg.HeadDim
	if headDim == 0 && m.cfg.NumAttentionHeads > 0 {
		headDim = m.cfg.HiddenSize / m.cfg.NumAttentionHeads
	}
	spec, err := engine.InspectDecoder(m.sess, heads, headDim)
	if err != nil {
		return err
	}
	gc, err := readGenerationConfig(m.dir)
	if err != nil {
		return err
	}
	m.genCfg = gc
	if err := m.loadTemplates(); err != nil {
		return err
	}
	eos := tokenIDs(gc.EOSTokenID)
	if len(eos) == 0 {
		eos = tokenIDs(m.cfg.EOSTokenID)
	}
	if name := m.tok.Config().EOSToken; name != "" {
		if id, ok := m.tok.TokenToID(name); ok {
			eos = append(eos, id)
		}
	}
	m.eos = eos
	m.bos = -1
	if ids := tokenIDs(m.cfg.BOSTokenID); len(ids) > 0 {
		m.bos = ids[0]
	}
	m.gen = newGenerator(engine.NewDecoder(m.sess, spec), eos, cfg.Batch.MaxQueue, m.log)
	return nil
}

// vocabulary returns the model's tokens as bytes for constrained output,
// building it on first use.
func (m *Model) vocabulary() *constrain.Vocabulary {
	m.vocabOnce.Do(func() {
		tokens := make([][]byte, m.tok.VocabSize())
		for id := range tokens {
			tokens[id] = m.tok.TokenBytes(id)
		}
		m.vocab = constrain.NewVocabulary(tokens, m.eos)
	})
	return m.vocab
}

// generationConfig is what generate reads from generation_config.json:
// the end-of-sequence ids and the sampling settings the model's authors
// recommend.
type generationConfig struct {
	EOSTokenID        json.RawMessage `json:"eos_token_id"`
	DoSample          *bool           `json:"do_sample"`
	Temperature       *float32        `json:"temperature"`
	TopK              *int            `json:"top_k"`
	TopP              *float32        `json:"top_p"`
	MinP              *float32        `json:"min_p"`
	RepetitionPenalty *float32        `json:"repetition_penalty"`
}

// readGenerationConfig reads dir/generation_config.json, or, when there
// is none, the search settings of genai_config.json.
func readGenerationConfig(dir string) (*generationConfig, error) {
	var gc generationConfig
	ok, err := readJSON(dir, "generation_config.json", &gc)
	if err != nil {
		return nil, err
	}
	if !ok {
		g, err := readGenAIConfig(dir)
		if err != nil {
			return nil, err
		}
		if g != nil {
			return g.generationConfig(), nil
		}
	}
	return &gc, nil
}

// SamplingDefaults returns Ollama's default sampling options overridden by
// what the model's generation_config.json recommends; requests override
// these in turn.
func (m *Model) SamplingDefaults() sampling.Options {
	o := sampling.Defaults()
	gc := m.genCfg
	if gc == nil {
		return o
	}
	if gc.DoSample != nil && !*gc.DoSample {
		o.Temperature = 0
	} else if gc.Temperature != nil {
		o.Temperature = *gc.Temperature
	}
	if gc.TopK != nil {
		o.TopK = *gc.TopK
	}
	if gc.TopP != nil {
		o.TopP = *gc.TopP
	}
	if gc.MinP != nil {
		o.MinP = *gc.MinP
	}
	if gc.RepetitionPenalty != nil {
		o.RepeatPenalty = *gc.RepetitionPenalty
	}
	return o
}
