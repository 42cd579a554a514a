// Package sampling picks the next token from a decoder's logits: greedy,
// or random after penalties, top-k, temperature, top-p and min-p, with the
// option names and defaults Ollama users know.
//
// # Order
//
// Penalties (repeat, presence, frequency) apply to the raw logits of tokens
// seen in the last RepeatLastN tokens; then temperature 0 picks the largest
// logit; otherwise top-k keeps the k largest, temperature scales them,
// softmax makes them probabilities, top-p keeps the smallest set whose mass
// reaches p, min-p drops those below min-p times the best, and one is drawn.
package sampling

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Options are the sampling settings of one request.
type Options struct {
	// Temperature scales logits; 0 means greedy.
	Temperature float32
	// TopK keeps the k most likely tokens; 0 keeps all.
	TopK int
	// TopP keeps the most likely tokens up to this probability mass; 0 or
	// 1 keeps all.
	TopP float32
	// MinP drops tokens less likely than MinP times the most likely.
	MinP float32
	// RepeatPenalty divides positive (multiplies negative) logits of
	// recently seen tokens; 1 or 0 is off.
	RepeatPenalty float32
	// RepeatLastN is how many recent tokens the penalties look at;
	// negative means all.
	RepeatLastN int
	// PresencePenalty is subtracted once from each seen token's logit.
	PresencePenalty float32
	// FrequencyPenalty is subtracted per occurrence.
	FrequencyPenalty float32
	// Seed makes random sampling repeatable; nil draws a fresh seed.
	Seed *int64
}

// Defaults returns Ollama's default sampling options.
func Defaults() Options {
	return Options{Temperature: 0.8, TopK: 40, TopP: 0.9, RepeatPenalty: 1.1, RepeatLastN: 64}
}

// Sampler picks tokens for one sequence. It is not safe for concurrent use;
// each sequence has its own.
type Sampler struct {
	opts Options
	rng  *rand.Rand

	// scratch, reused between calls
	cands  []candidate
	counts map[int]int
	mask   []bool
}

type candidate struct {
	id    int
	logit float32
	p     float64
}

// New makes a sampler.
func New(opts Options) *Sampler {
	var seed uint64
	if opts.Seed != nil {
		seed = uint64(*opts.Seed)
	} else {
		seed = rand.Uint64()
	}
	return &Sampler{opts: opts, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), counts: map[int]int{}}
}

// Constraint limits which tokens may come next, for output that must
// follow a format.
type Constraint interface {
	// Allows reports whether token id may come next.
	Allows(id int) bool
	// Mask sets mask[id] for every token that may come next, clears the
	// rest, and reports whether any may.
	Mask(mask []bool) bool
}

// maxRefusals is how many of the sampler's picks a constraint may refuse,
// each taken out and the pick redone, before the sampler asks it for every
// allowed token instead.
const maxRefusals = 8

// Sample returns the next token id given the logits of the last position
// (modified in place: penalties, and refused tokens set to -Inf) and the
// tokens so far (prompt and generated) for the penalties. A constraint,
// when not nil, limits the choice to tokens it allows; -1 means it allows
// none.
//
// Under a constraint the sampler picks as usual and asks whether the pick
// is allowed, which is cheap and almost always true for a model that
// follows its prompt; after a few refusals it computes the whole set of
// allowed tokens and picks among them.
func (s *Sampler) Sample(logits []float32, history []int, c Constraint) int {
	s.penalise(logits, history)
	if c == nil {
		return s.pick(logits, nil)
	}
	for range maxRefusals {
		id := s.pick(logits, nil)
		if c.Allows(id) {
			return id
		}
		logits[id] = float32(math.Inf(-1))
	}
	if cap(s.mask) < len(logits) {
		s.mask = make([]bool, len(logits))
	}
	mask := s.mask[:len(logits)]
	if !c.Mask(mask) {
		return -1
	}
	return s.pick(logits, func(id int) bool { return mask[id] })
}

// pick chooses a token from penalised logits, among those allowed accepts
// when it is not nil.
func (s *Sampler) pick(logits []float32, allowed func(id int) bool) int {
	if s.opts.Temperature <= 0 {
		return argmax(logits, allowed)
	}
	c := s.candidates(logits, allowed)
	if len(c) == 0 {
		return argmax(logits, allowed)
	}
	if k := s.opts.TopK; k > 0 && k < len(c) {
		c = topK(c, k)
	} else {
		sort.Slice(c, func(i, j int) bool { return c[i].logit > c[j].logit })
	}
	// Softmax at the temperature, in float64 for stability.
	t := float64(s.opts.Temperature)
	maxL := float64(c[0].logit)
	var sum float64
	for i := range c {
		c[i].p = math.Exp((float64(c[i].logit) - maxL) / t)
		sum += c[i].p
	}
	for i := range c {
		c[i].p /= sum
	}
	if p := float64(s.opts.TopP); p > 0 && p < 1 {
		var mass float64
		for i := range c {
			mass += c[i].p
			if mass >= p {
				c = c[:i+1]
				break
			}
		}
	}
	if m := float64(s.opts.MinP); m > 0 {
		floor := m * c[0].p
		n := 1
		for n < len(c) && c[n].p >= floor {
			n++
		}
		c = c[:n]
	}
	var total float64
	for _, x := range c {
		total += x.p
	}
	r := s.rng.Float64() * total
	for _, x := range c {
		r -= x.p
		if r < 0 {
			return x.id
		}
	}
	return c[len(c)-1].id
}

// penalise applies repeat, presence and frequency penalties in place.
func (s *Sampler) penalise(logits []float32, history []int) {
	o := s.opts
	rep := o.RepeatPenalty != 0 && o.RepeatPenalty != 1
	if !rep && o.PresencePenalty == 0 && o.FrequencyPenalty == 0 {
		return
	}
	recent := history
	if n := o.RepeatLastN; n >= 0 && n < len(recent) {
		recent = recent[len(recent)-n:]
	}
	clear(s.counts)
	for _, id := range recent {
		if id >= 0 && id < len(logits) {
			s.counts[id]++
		}
	}
	for id, n := range s.counts {
		l := logits[id]
		if rep {
			if l > 0 {
				l /= o.RepeatPenalty
			} else {
				l *= o.RepeatPenalty
			}
		}
		l -= float32(n)*o.FrequencyPenalty + o.PresencePenalty
		logits[id] = l
	}
}

func (s *Sampler) candidates(logits []float32, allowed func(int) bool) []candidate {
	c := s.cands[:0]
	for id, l := range logits {
		if allowed != nil && !allowed(id) {
			continue
		}
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), -1) {
			continue
		}
		c = append(c, candidate{id: id, logit: l})
	}
	s.cands = c
	return c
}

// topK moves the k largest candidates to the front, sorted, and returns them.
func topK(c []candidate, k int) []candidate {
	// Partial selection: keep a sorted window of the best k.
	best := c[:0:0]
	best = append(best, c[:k]...)
	sort.Slice(best, func(i, j int) bool { return best[i].logit > best[j].logit })
	for _, x := range c[k:] {
		if x.logit <= best[k-1].logit {
			continue
		}
		i := sort.Search(k, func(i int) bool { return best[i].logit < x.logit })
		copy(best[i+1:], best[i:k-1])
		best[i] = x
	}
	return best
}

// argmax returns the allowed id with the largest logit (the lowest id on
// ties, as transformers' greedy search does).
func argmax(logits []float32, allowed func(int) bool) int {
	best, bestID := float32(math.Inf(-1)), -1
	for id, l := range logits {
		if allowed != nil && !allowed(id) {
			continue
		}
		if bestID < 0 || l > best {
			best, bestID = l, id
		}
	}
	if bestID < 0 {
		return 0
	}
	return bestID
}
