package pipeline

import (
	"context"
	"fmt"

	"runner/engine"
)

// EmbedOptions adjust one embedding request.
type EmbedOptions struct {
	// Truncate cuts inputs longer than the model takes; when false such
	// input is an error.
	Truncate bool
	// Dimensions, when above 0, keeps the first Dimensions values of each
	// vector and renormalises it (Matryoshka embeddings).
	Dimensions int
	// PromptName picks one of the repo's named prompts
	// (config_sentence_transformers.json), prepended to every input; empty
	// means the default prompt, if the repo names one.
	PromptName string
}

// Embeddings are the vectors of one request.
type Embeddings struct {
	Vectors [][]float32
	// Tokens is the number of input tokens, special tokens included.
	Tokens int
}

// Embed turns texts into vectors, pooled and normalised as the repo's
// sentence-transformers files say. Requests are batched with other
// requests to the same model.
func (m *Model) Embed(ctx context.Context, texts []string, opts EmbedOptions) (*Embeddings, error) {
	if err := m.Need(TaskEmbed); err != nil {
		return nil, err
	}
	prompt := m.st.DefaultPrompt
	if opts.PromptName != "" {
		p, ok := m.st.Prompts[opts.PromptName]
		if !ok {
			return nil, badRequest("model %s has no prompt named %q (it has %v)", m.name, opts.PromptName, m.st.PromptNames())
		}
		prompt = p
	}
	if prompt != "" {
		prefixed := make([]string, len(texts))
		for i, t := range texts {
			prefixed[i] = prompt + t
		}
		texts = prefixed
	}
	seqs, tokens, err := m.encode(ctx, texts, nil, opts.Truncate)
	if err != nil {
		return nil, err
	}
	out := &Embeddings{Vectors: make([][]float32, len(texts)), Tokens: tokens}
	pooled := m.sess.HasOutput("sentence_embedding")
	err = m.batcher.Submit(ctx, seqs, func(i int, row engine.Row) error {
		var vec []float32
		if pooled {
			data, _, err := row.Output("sentence_embedding")
			if err != nil {
				return err
			}
			vec = append([]float32(nil), data...)
		} else {
			data, shape, err := row.Output("last_hidden_state")
			if err != nil {
				return err
			}
			if len(shape) != 2 {
				return fmt.Errorf("last_hidden_state row of shape %v, want [tokens, hidden]", shape)
			}
			vec = make([]float32, shape[1])
			if err := pool(m.st.Pooling, data, int(shape[1]), row.Len, vec); err != nil {
				return err
			}
		}
		if m.st.Normalize {
			normalize(vec)
		}
		out.Vectors[i] = vec
		return nil
	})
	if err != nil {
		return nil, err
	}
	if d := opts.Dimensions; d > 0 && len(out.Vectors) > 0 {
		if full := len(out.Vectors[0]); d > full {
			return nil, badRequest("dimensions %d is more than the model's %d", d, full)
		}
		for i, v := range out.Vectors {
			v = v[:d:d]
			normalize(v)
			out.Vectors[i] = v
		}
	}
	return out, nil
}
