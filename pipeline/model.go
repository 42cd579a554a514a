// Package pipeline turns requests into model runs and model outputs into
// answers, one file per task: embed, classify, rerank, tokens (NER) and
// generate. A Model is one loaded model with its tokenizer, ONNX Runtime
// session and batcher.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"runner/chattemplate"
	"runner/engine"
	"runner/onnx"
	"runner/pipeline/constrain"
	"runner/tokenizer"
)

// ErrBadRequest is returned (wrapped with detail) when a request's input
// cannot be served: empty text, text too long with truncation off, an
// unknown prompt name, impossible dimensions.
var ErrBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

// LoadConfig says what to load and how.
type LoadConfig struct {
	// Name is the model's canonical reference, for errors and logs.
	Name string
	// Dir is the repo directory with config.json and tokenizer.json.
	Dir string
	// Graphs are the ONNX files, the main one first.
	Graphs []string
	// Runtime runs the sessions.
	Runtime *engine.Runtime
	// Session configures every session of the model.
	Session engine.SessionOptions
	// Batch configures the encoder batcher.
	Batch engine.BatchConfig
	// Logger receives notices; nil means slog.Default().
	Logger *slog.Logger
}

// Model is a loaded model. It is safe for concurrent use.
type Model struct {
	name   string
	dir    string
	cfg    *ModelConfig
	st     *SentenceConfig
	tasks  []Task
	tok    *tokenizer.Tokenizer
	sess   *engine.Session
	log    *slog.Logger
	labels []string

	// maxLen is the longest input in tokens, special tokens included.
	maxLen int
	// batcher runs encoder tasks; nil for decoders.
	batcher *engine.Batcher
	// gen runs generation for decoders; nil for encoders.
	gen       *generator
	genCfg    *generationConfig
	templates *chattemplate.Set
	// bos is the beginning-of-sequence id, or -1.
	bos int
	// eos are the end-of-sequence ids.
	eos []int
	// vocab is the tokens' bytes for constrained output, built on first
	// use.
	vocab     *constrain.Vocabulary
	vocabOnce sync.Once
}

// Load loads a model: its configuration, tokenizer and main graph, and
// starts what its task needs (a batcher for encoders).
func Load(ctx context.Context, cfg LoadConfig) (_ *Model, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Graphs) == 0 {
		return nil, fmt.Errorf("%s: no ONNX graph", cfg.Name)
	}
	m := &Model{name: cfg.Name, dir: cfg.Dir, log: cfg.Logger}
	if m.cfg, err = ReadModelConfig(cfg.Dir); err != nil {
		return nil, fmt.Errorf("load %s: %w", cfg.Name, err)
	}
	if m.st, err = ReadSentenceConfig(cfg.Dir); err != nil {
		return nil, fmt.Errorf("load %s: %w", cfg.Name, err)
	}
	if m.labels, err = m.cfg.Labels(); err != nil {
		return nil, fmt.Errorf("load %s: %w", cfg.Name, err)
	}
	if m.tok, err = tokenizer.LoadDir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("load %s: tokenizer: %w", cfg.Name, err)
	}
	if m.sess, err = cfg.Runtime.NewSession(ctx, cfg.Graphs[0], cfg.Session); err != nil {
		return nil, fmt.Errorf("load %s: %w", cfg.Name, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, m.Close())
		}
	}()
	m.tasks = DetectTasks(m.cfg, m.st, m.sess.InputNames(), m.sess.OutputNames())
	if len(m.tasks) == 0 {
		return nil, fmt.Errorf("load %s: cannot tell what the model does from its config.json (architectures %v) and graph outputs %v", cfg.Name, m.cfg.Architectures, m.sess.OutputNames())
	}
	m.maxLen = m.maxInputLength()
	if m.tasks[0] == TaskGenerate {
		if err = m.loadDecoder(cfg); err != nil {
			return nil, fmt.Errorf("load %s: %w", cfg.Name, err)
		}
	} else {
		bc := cfg.Batch
		bc.PadID = int64(m.padID())
		if m.batcher, err = engine.NewBatcher(m.sess, bc); err != nil {
			return nil, fmt.Errorf("load %s: %w", cfg.Name, err)
		}
	}
	return m, nil
}

// maxInputLength is the longest input the model takes, as
// sentence-transformers decides it: max_seq_length, else the tokenizer's
// model_max_length, never beyond the position embeddings.
func (m *Model) maxInputLength() int {
	n := m.st.MaxSeqLength
	if n <= 0 {
		n = m.tok.Config().ModelMaxLength
	}
	if p := m.cfg.MaxPositionEmbeddings; p > 0 && (n <= 0 || n > p) {
		n = p
		if m.cfg.ModelType == "roberta" || m.cfg.ModelType == "xlm-roberta" || m.cfg.ModelType == "camembert" {
			n = p - 2 // positions start after the padding index
		}
	}
	if n <= 0 {
		n = 512
	}
	return n
}

// padID is the token used to pad encoder batches.
func (m *Model) padID() int {
	if p := m.tok.Padding(); p != nil {
		return p.ID
	}
	if ids := tokenIDs(m.cfg.PadTokenID); len(ids) > 0 {
		return ids[0]
	}
	return 0
}

// Name returns the model's canonical reference.
func (m *Model) Name() string { return m.name }

// Tasks returns what the model can do, best first.
func (m *Model) Tasks() []Task { return m.tasks }

// Supports reports whether the model can do the task.
func (m *Model) Supports(t Task) bool { return slices.Contains(m.tasks, t) }

// Need returns a TaskError, which says what the model does support, unless
// the model supports t.
func (m *Model) Need(t Task) error {
	if m.Supports(t) {
		return nil
	}
	return &TaskError{Model: m.name, Want: t, Supported: m.tasks}
}

// ContextLength returns the longest input in tokens.
func (m *Model) ContextLength() int { return m.maxLen }

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// Info returns the main graph's interface.
func (m *Model) Info() *onnx.Info { return m.sess.Info() }

// BatchStats returns the encoder batcher's counters, if the model has one.
func (m *Model) BatchStats() (engine.BatchStats, bool) {
	if m.batcher == nil {
		return engine.BatchStats{}, false
	}
	return m.batcher.Stats(), true
}

// GeneratorStats are a decoder's counters since it loaded.
type GeneratorStats struct {
	Tokens, PromptTokens, Steps int64
	// Shifts counts full contexts shifted to go on generating.
	Shifts int64
	// Queued is the number of sequences generating or waiting.
	Queued int
}

// GenerateStats returns the generator's counters, if the model generates.
func (m *Model) GenerateStats() (GeneratorStats, bool) {
	if m.gen == nil {
		return GeneratorStats{}, false
	}
	return GeneratorStats{
		Tokens:       m.gen.tokens.Load(),
		PromptTokens: m.gen.promptTokens.Load(),
		Steps:        m.gen.steps.Load(),
		Shifts:       m.gen.shifts.Load(),
		Queued:       int(m.gen.queued.Load()),
	}, true
}

// Queued returns the requests waiting or running on the model.
func (m *Model) Queued() int {
	if m.batcher != nil {
		return m.batcher.Queued()
	}
	if m.gen != nil {
		return int(m.gen.queued.Load())
	}
	return 0
}

// Close stops the batcher and destroys the sessions, after the work in
// flight.
func (m *Model) Close() error {
	var errs []error
	if m.batcher != nil {
		errs = append(errs, m.batcher.Close())
	}
	if m.gen != nil {
		m.gen.close()
	}
	if m.sess != nil {
		errs = append(errs, m.sess.Close())
	}
	return errors.Join(errs...)
}

// encode tokenises texts (or pairs, when seconds is not nil) for an encoder,
// truncating to the model's length when truncate is set and refusing
// over-long input otherwise. A pair loses tokens from its second text first
// (the document).
func (m *Model) encode(ctx context.Context, firsts, seconds []string, truncate bool) ([]engine.Sequence, int, error) {
	encs, err := m.tokenize(ctx, firsts, seconds, truncate, tokenizer.OnlySecond)
	if err != nil {
		return nil, 0, err
	}
	return m.sequences(encs)
}

// tokenize encodes texts (or pairs, when seconds is not nil) without
// padding. With truncate, encodings longer than the model takes are cut:
// pairs by strategy, falling back to the longest text first when the text
// strategy picks is too short; single texts at the end.
func (m *Model) tokenize(ctx context.Context, firsts, seconds []string, truncate bool, strategy tokenizer.TruncationStrategy) ([]*tokenizer.Encoding, error) {
	var encs []*tokenizer.Encoding
	var err error
	trunc := &tokenizer.Truncation{MaxLength: m.maxLen, Strategy: tokenizer.LongestFirst}
	if seconds != nil {
		trunc.Strategy = strategy
	}
	opt := tokenizer.WithTruncationOption(nil)
	if truncate {
		opt = tokenizer.WithTruncationOption(trunc)
	}
	noPad := tokenizer.WithPaddingOption(nil)
	if seconds == nil {
		encs, err = m.tok.EncodeBatch(ctx, firsts, opt, noPad)
	} else {
		pairs := make([][2]string, len(firsts))
		for i := range firsts {
			pairs[i] = [2]string{firsts[i], seconds[i]}
		}
		encs, err = m.tok.EncodePairBatch(ctx, pairs, opt, noPad)
		if err != nil && truncate && errors.Is(err, tokenizer.ErrSequenceTooShort) {
			trunc.Strategy = tokenizer.LongestFirst
			encs, err = m.tok.EncodePairBatch(ctx, pairs, tokenizer.WithTruncationOption(trunc), noPad)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	return encs, nil
}

// sequences turns encodings into the batcher's sequences (with token type
// ids where the graph takes them) and counts their tokens. It refuses empty
// encodings and ones longer than the model takes.
func (m *Model) sequences(encs []*tokenizer.Encoding) ([]engine.Sequence, int, error) {
	seqs := make([]engine.Sequence, len(encs))
	total := 0
	for i, e := range encs {
		if e.Len() == 0 {
			return nil, 0, badRequest("input %d is empty after tokenization", i)
		}
		if e.Len() > m.maxLen {
			return nil, 0, badRequest("input %d is %d tokens, longer than the model's limit of %d (set truncate to true to cut it)", i, e.Len(), m.maxLen)
		}
		total += e.Len()
		s := engine.Sequence{IDs: make([]int64, e.Len())}
		for j, id := range e.IDs {
			s.IDs[j] = int64(id)
		}
		if m.sess.HasInput("token_type_ids") {
			s.TypeIDs = make([]int64, e.Len())
			for j, id := range e.TypeIDs {
				s.TypeIDs[j] = int64(id)
			}
		}
		seqs[i] = s
	}
	return seqs, total, nil
}
