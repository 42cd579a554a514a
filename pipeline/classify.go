package pipeline

import (
	"context"
	"fmt"

	"runner/engine"
)

// ClassifyOptions adjust one text-classification request.
type ClassifyOptions struct {
	// TopK keeps the best TopK labels of each text; 0 keeps all.
	TopK int
	// Function turns logits into scores; ScoreDefault follows the model's
	// config as transformers does.
	Function ScoreFunction
	// Truncate cuts inputs longer than the model takes; when false such
	// input is an error.
	Truncate bool
}

// Classification holds, for each input, its labels with scores, best first.
type Classification struct {
	Results [][]LabelScore
	// Tokens is the number of input tokens, special tokens included.
	Tokens int
}

// defaultScoreFunction is transformers' choice for text classification:
// sigmoid for multi-label problems and single-logit models, softmax
// otherwise.
func (m *Model) defaultScoreFunction() ScoreFunction {
	if m.cfg.ProblemType == "multi_label_classification" || m.cfg.NumLabels == 1 {
		return ScoreSigmoid
	}
	return ScoreSoftmax
}

// Classify labels each text with a sequence classifier
// (*ForSequenceClassification), as transformers' text-classification
// pipeline does. Requests are batched with other requests to the model.
func (m *Model) Classify(ctx context.Context, texts []string, opts ClassifyOptions) (*Classification, error) {
	if err := m.Need(TaskClassify); err != nil {
		return nil, err
	}
	if opts.TopK < 0 {
		return nil, badRequest("top_k must not be negative")
	}
	fn := opts.Function
	if fn == ScoreDefault {
		fn = m.defaultScoreFunction()
	}
	seqs, tokens, err := m.encode(ctx, texts, nil, opts.Truncate)
	if err != nil {
		return nil, err
	}
	out := &Classification{Results: make([][]LabelScore, len(texts)), Tokens: tokens}
	err = m.batcher.Submit(ctx, seqs, func(i int, row engine.Row) error {
		logits, err := sequenceLogits(row)
		if err != nil {
			return err
		}
		labels, err := m.classLabels(len(logits))
		if err != nil {
			return err
		}
		out.Results[i] = rankLabels(labels, applyScore(fn, logits), opts.TopK)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sequenceLogits returns one sequence's logits ([labels]) from a row.
func sequenceLogits(row engine.Row) ([]float32, error) {
	data, shape, err := row.Output("logits")
	if err != nil {
		return nil, err
	}
	if len(shape) != 1 || shape[0] < 1 {
		return nil, fmt.Errorf("logits row of shape %v, want [labels]", shape)
	}
	return data, nil
}
