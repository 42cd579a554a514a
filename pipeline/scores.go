package pipeline

import (
	"fmt"
	"math"
	"slices"
)

// ScoreFunction turns a classifier's logits into scores.
type ScoreFunction string

// Score functions, as transformers' function_to_apply names them.
const (
	// ScoreDefault lets the model's config decide: sigmoid for
	// multi-label problems and single-logit models, softmax otherwise.
	ScoreDefault ScoreFunction = ""
	ScoreSoftmax ScoreFunction = "softmax"
	ScoreSigmoid ScoreFunction = "sigmoid"
	// ScoreNone returns the raw logits.
	ScoreNone ScoreFunction = "none"
)

// ParseScoreFunction checks a function_to_apply value ("" is the default).
func ParseScoreFunction(s string) (ScoreFunction, error) {
	switch f := ScoreFunction(s); f {
	case ScoreDefault, ScoreSoftmax, ScoreSigmoid, ScoreNone:
		return f, nil
	}
	return "", badRequest("unknown score function %q: want softmax, sigmoid or none", s)
}

// LabelScore is one class and its score.
type LabelScore struct {
	Label string
	Score float64
}

// softmax writes the softmax of logits into dst (same length), computed in
// float64 with the maximum subtracted.
func softmax(logits []float32, dst []float64) {
	if len(logits) == 0 {
		return
	}
	hi := float64(slices.Max(logits))
	var sum float64
	for i, v := range logits {
		dst[i] = math.Exp(float64(v) - hi)
		sum += dst[i]
	}
	for i := range dst {
		dst[i] /= sum
	}
}

// softmax64 is softmax over float64 values, in place.
func softmax64(v []float64) {
	if len(v) == 0 {
		return
	}
	hi := slices.Max(v)
	var sum float64
	for i, x := range v {
		v[i] = math.Exp(x - hi)
		sum += v[i]
	}
	for i := range v {
		v[i] /= sum
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// argmax returns the index of the largest value, the first one on ties.
func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// applyScore turns logits into scores with fn (not ScoreDefault).
func applyScore(fn ScoreFunction, logits []float32) []float64 {
	out := make([]float64, len(logits))
	switch fn {
	case ScoreSoftmax:
		softmax(logits, out)
	case ScoreSigmoid:
		for i, v := range logits {
			out[i] = sigmoid(float64(v))
		}
	default:
		for i, v := range logits {
			out[i] = float64(v)
		}
	}
	return out
}

// rankLabels pairs scores with labels, best first (ties keep class order),
// keeping the best topK (all when topK <= 0).
func rankLabels(labels []string, scores []float64, topK int) []LabelScore {
	out := make([]LabelScore, len(scores))
	for i, s := range scores {
		out[i] = LabelScore{Label: labels[i], Score: s}
	}
	slices.SortStableFunc(out, func(a, b LabelScore) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if topK > 0 && topK < len(out) {
		out = out[:topK]
	}
	return out
}

// classLabels returns the model's label names for n classes: id2label, or
// LABEL_i where config.json names none.
func (m *Model) classLabels(n int) ([]string, error) {
	if len(m.labels) == 0 {
		labels := make([]string, n)
		for i := range labels {
			labels[i] = fmt.Sprintf("LABEL_%d", i)
		}
		return labels, nil
	}
	if len(m.labels) != n {
		return nil, fmt.Errorf("model %s gives %d logits but config.json names %d labels", m.name, n, len(m.labels))
	}
	return m.labels, nil
}
