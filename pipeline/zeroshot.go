package pipeline

import (
	"context"
	"fmt"
	"strings"

	"runner/engine"
	"runner/tokenizer"
)

// DefaultHypothesisTemplate is transformers' hypothesis for zero-shot
// classification; {} stands for the candidate label.
const DefaultHypothesisTemplate = "This example is {}."

// ZeroShotOptions adjust one zero-shot classification request.
type ZeroShotOptions struct {
	// HypothesisTemplate turns a label into the hypothesis paired with the
	// text; it must contain {}. Empty means DefaultHypothesisTemplate.
	HypothesisTemplate string
	// MultiLabel scores each label on its own (softmax of its entailment
	// and contradiction logits) instead of softmax of the entailment
	// logits across labels. A single label is always scored on its own.
	MultiLabel bool
	// TopK keeps the best TopK labels of each text; 0 keeps all.
	TopK int
	// Truncate cuts pairs longer than the model takes, from the text
	// first; when false such a pair is an error.
	Truncate bool
}

// ZeroShot classifies texts into candidate labels the model was never
// trained on, with a natural-language-inference model: each (text,
// hypothesis) pair is scored for entailment, exactly as transformers'
// zero-shot-classification pipeline does.
func (m *Model) ZeroShot(ctx context.Context, texts, labels []string, opts ZeroShotOptions) (*Classification, error) {
	if err := m.Need(TaskZeroShot); err != nil {
		return nil, err
	}
	if len(labels) == 0 {
		return nil, badRequest("zero-shot classification needs at least one candidate label")
	}
	if opts.TopK < 0 {
		return nil, badRequest("top_k must not be negative")
	}
	tmpl := opts.HypothesisTemplate
	if tmpl == "" {
		tmpl = DefaultHypothesisTemplate
	}
	if !strings.Contains(tmpl, "{}") {
		return nil, badRequest("hypothesis template %q has no {} for the label", tmpl)
	}
	entail := entailmentLabel(m.cfg)
	// transformers takes the first class as contradiction, or the last when
	// entailment is the first.
	contra := 0
	if entail == 0 {
		contra = m.cfg.NumLabels - 1
	}
	n := len(labels)
	premises := make([]string, 0, len(texts)*n)
	hypotheses := make([]string, 0, len(texts)*n)
	for _, t := range texts {
		for _, l := range labels {
			premises = append(premises, t)
			hypotheses = append(hypotheses, strings.Replace(tmpl, "{}", l, 1))
		}
	}
	// transformers truncates the text, never the hypothesis.
	encs, err := m.tokenize(ctx, premises, hypotheses, opts.Truncate, tokenizer.OnlyFirst)
	if err != nil {
		return nil, err
	}
	seqs, tokens, err := m.sequences(encs)
	if err != nil {
		return nil, err
	}
	// pair[k] holds the contradiction and entailment logits of pair k.
	pair := make([][2]float64, len(seqs))
	err = m.batcher.Submit(ctx, seqs, func(i int, row engine.Row) error {
		logits, err := sequenceLogits(row)
		if err != nil {
			return err
		}
		if entail >= len(logits) || contra >= len(logits) {
			return fmt.Errorf("model %s gives %d logits, fewer than its labels", m.name, len(logits))
		}
		pair[i] = [2]float64{float64(logits[contra]), float64(logits[entail])}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &Classification{Results: make([][]LabelScore, len(texts)), Tokens: tokens}
	each := opts.MultiLabel || n == 1
	for t := range texts {
		scores := make([]float64, n)
		for j := range n {
			p := pair[t*n+j]
			if each {
				two := []float64{p[0], p[1]}
				softmax64(two)
				scores[j] = two[1]
			} else {
				scores[j] = p[1]
			}
		}
		if !each {
			softmax64(scores)
		}
		out.Results[t] = rankLabels(labels, scores, opts.TopK)
	}
	return out, nil
}
