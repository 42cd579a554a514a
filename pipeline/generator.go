package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"runner/engine"
	"runner/pipeline/sampling"
)

// generator runs a decoder's sequences with continuous batching: one
// goroutine owns the batch's KV cache; new sequences are prefilled on their
// own and join the batch between decode steps, and finished or cancelled
// ones leave it at once. Each decode step runs every active sequence in one
// ONNX Runtime call.
type generator struct {
	dec      *engine.Decoder
	eos      map[int]bool
	maxBatch int
	maxQueue int
	log      *slog.Logger

	join    chan *genSeq
	stop    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
	queued  atomic.Int64

	// counters for /metrics
	tokens, promptTokens, steps, shifts atomic.Int64
}

// genSeq is one sequence being generated. The generator goroutine writes
// its results under mu; the requesting goroutine reads them when notified.
type genSeq struct {
	ctx     context.Context
	prompt  []int64
	sampler *sampling.Sampler
	history []int // prompt and generated tokens, for penalties
	maxNew  int   // 0: until EOS or the context is full
	maxLen  int   // the context length: prompt and generated tokens
	// format constrains the output; nil when it is free.
	format *formatState
	// shift lets a full context drop old tokens and go on instead of
	// ending; keep is how many tokens at the start it never drops.
	shift bool
	keep  int
	// reprefill marks a sequence whose context was just shifted: it
	// leaves the batch and is prefilled again from prompt.
	reprefill bool
	// cancel is set by the requester when it needs no more tokens.
	cancel atomic.Bool
	notify chan struct{}

	mu        sync.Mutex
	tokens    []int // generated, EOS excluded, not yet taken
	generated int
	done      bool
	reason    string
	err       error
	promptDur time.Duration
	evalDur   time.Duration
}

func newGenerator(dec *engine.Decoder, eos []int, maxQueue int, log *slog.Logger) *generator {
	g := &generator{
		dec:      dec,
		eos:      map[int]bool{},
		maxBatch: 16,
		maxQueue: maxQueue,
		log:      log,
		join:     make(chan *genSeq),
		stop:     make(chan struct{}),
	}
	if g.maxQueue <= 0 {
		g.maxQueue = 512
	}
	for _, id := range eos {
		g.eos[id] = true
	}
	g.wg.Add(1)
	go g.loop()
	return g
}

// close stops the generator; sequences still running end with
// ErrBatcherClosed.
func (g *generator) close() {
	g.stopped.Do(func() { close(g.stop) })
	g.wg.Wait()
}

// submit hands a sequence to the generator, waiting while the batch is full.
func (g *generator) submit(ctx context.Context, s *genSeq) error {
	if g.queued.Add(1) > int64(g.maxQueue) {
		g.queued.Add(-1)
		return engine.ErrQueueFull
	}
	select {
	case g.join <- s:
		return nil
	case <-g.stop:
		g.queued.Add(-1)
		return engine.ErrBatcherClosed
	case <-ctx.Done():
		g.queued.Add(-1)
		return ctx.Err()
	}
}

func (g *generator) loop() {
	defer g.wg.Done()
	batch := g.dec.NewCache()
	var active []*genSeq
	var tokens [][]int64
	for {
		// Wait for work when idle; take newcomers while there is room.
		if len(active) == 0 {
			select {
			case s := <-g.join:
				active = g.admit(s, batch, active)
			case <-g.stop:
				return
			}
		}
	admit:
		for len(active) < g.maxBatch {
			select {
			case s := <-g.join:
				active = g.admit(s, batch, active)
			case <-g.stop:
				for _, s := range active {
					g.finish(s, "", engine.ErrBatcherClosed)
				}
				return
			default:
				break admit
			}
		}
		if len(active) == 0 {
			continue
		}

		tokens = tokens[:0]
		for _, s := range active {
			tokens = append(tokens, []int64{int64(s.history[len(s.history)-1])})
		}
		start := time.Now()
		logits, err := g.step(batch, tokens)
		took := time.Since(start)
		g.steps.Add(1)
		if err != nil {
			for _, s := range active {
				g.finish(s, "", err)
			}
			active, batch = nil, g.dec.NewCache()
			continue
		}
		vocab := len(logits) / len(active)
		var leave []int
		for i, s := range active {
			s.mu.Lock()
			s.evalDur += took
			s.mu.Unlock()
			if g.ended(s) || g.next(s, logits[i*vocab:(i+1)*vocab]) {
				leave = append(leave, i)
			}
		}
		if len(leave) > 0 {
			batch.Remove(leave...)
			kept := active[:0]
			var shifted []*genSeq
			for i, s := range active {
				switch {
				case !slices.Contains(leave, i):
					kept = append(kept, s)
				case s.reprefill:
					shifted = append(shifted, s)
				}
			}
			clear(active[len(kept):])
			active = kept
			// Sequences whose context was shifted prefill what they kept
			// and rejoin.
			for _, s := range shifted {
				active = g.admit(s, batch, active)
			}
		}
	}
}

// step runs one decode step, turning a panic into an error.
func (g *generator) step(batch *engine.KVCache, tokens [][]int64) (logits []float32, err error) {
	defer func() {
		if p := recover(); p != nil {
			g.log.Error("panic in decode step", "panic", p, "stack", string(debug.Stack()))
			err = errors.New("internal error in decode step")
		}
	}()
	return g.dec.Step(context.Background(), batch, tokens)
}

// admit prefills a sequence on its own (a new one, or one whose context
// was shifted), samples its next token and, unless that ends it, adds it to
// the batch.
func (g *generator) admit(s *genSeq, batch *engine.KVCache, active []*genSeq) []*genSeq {
	for {
		c := g.dec.NewCache()
		if err := c.AddEmptyRows(1); err != nil {
			g.finish(s, "", err)
			return active
		}
		start := time.Now()
		g.promptTokens.Add(int64(len(s.prompt)))
		logits, err := func() (l []float32, err error) {
			defer func() {
				if p := recover(); p != nil {
					g.log.Error("panic in prefill", "panic", p, "stack", string(debug.Stack()))
					err = errors.New("internal error in prefill")
				}
			}()
			return g.dec.Step(s.ctx, c, [][]int64{s.prompt})
		}()
		s.mu.Lock()
		if s.reprefill {
			s.evalDur += time.Since(start)
		} else {
			s.promptDur = time.Since(start)
		}
		s.mu.Unlock()
		s.reprefill = false
		if err != nil {
			g.finish(s, "", err)
			return active
		}
		if g.ended(s) || g.next(s, logits) {
			if s.reprefill {
				continue // the context filled at once: prefill what was kept
			}
			return active
		}
		batch.Append(c)
		return append(active, s)
	}
}

// ended finishes a sequence whose requester has gone or asked to stop.
func (g *generator) ended(s *genSeq) bool {
	switch {
	case s.cancel.Load():
		g.finish(s, "stop", nil)
	case s.ctx.Err() != nil:
		g.finish(s, "", s.ctx.Err())
	default:
		return false
	}
	return true
}

// next samples a sequence's next token from its logits and records it,
// reporting whether the sequence leaves the batch (see push). A panic in
// sampling or in the format's matcher ends that sequence with an error and
// leaves the others, and the server, running.
func (g *generator) next(s *genSeq, logits []float32) (leave bool) {
	defer func() {
		if p := recover(); p != nil {
			g.log.Error("panic while sampling", "panic", p, "stack", string(debug.Stack()))
			g.finish(s, "", errors.New("internal error while sampling"))
			s.reprefill, leave = false, true
		}
	}()
	return g.push(s, s.sampler.Sample(logits, s.history, s.constraint()))
}

// constraint returns the sequence's format for the sampler, nil when the
// output is free.
func (s *genSeq) constraint() sampling.Constraint {
	if s.format == nil {
		return nil
	}
	return s.format.constraint()
}

// push records a sampled token and reports whether the sequence leaves the
// batch: done (an end-of-sequence token, the requested number of tokens, a
// full context it may not shift, or a complete formatted value), or with
// its context shifted (reprefill set) to be prefilled again.
func (g *generator) push(s *genSeq, tok int) bool {
	if s.format != nil {
		err := errNoFormatToken
		if tok >= 0 {
			err = s.format.accept(tok)
		}
		if err != nil {
			g.finish(s, "", err)
			return true
		}
	}
	s.history = append(s.history, tok)
	g.tokens.Add(1)
	s.mu.Lock()
	s.generated++
	reason := ""
	switch {
	case g.eos[tok]:
		reason = "stop"
	case s.maxNew > 0 && s.generated >= s.maxNew:
		reason = "length"
	case len(s.history) >= s.maxLen:
		if s.shift {
			s.history = shiftContext(s.history, s.keep, s.maxLen)
			s.prompt = s.prompt[:0]
			for _, id := range s.history {
				s.prompt = append(s.prompt, int64(id))
			}
			s.reprefill = true
			g.shifts.Add(1)
		} else {
			reason = "length"
		}
	case s.format != nil && s.format.finished():
		reason = "stop"
	}
	if !g.eos[tok] {
		s.tokens = append(s.tokens, tok)
	}
	s.mu.Unlock()
	if reason != "" {
		g.finish(s, reason, nil)
		return true
	}
	s.wake()
	return s.reprefill
}

// shiftContext makes room in a full context as Ollama does: it keeps the
// first keep tokens (the start of the prompt, such as a system message),
// drops half of the rest, oldest first, and keeps the newest.
func shiftContext(history []int, keep, maxLen int) []int {
	keep = max(0, min(keep, len(history)-2))
	discard := max((maxLen-keep)/2, 1)
	discard = min(discard, len(history)-keep-1)
	return append(history[:keep:keep], history[keep+discard:]...)
}

// errNoFormatToken is the error of a sequence whose format no token of the
// vocabulary can continue.
var errNoFormatToken = fmt.Errorf("%w: no token of the model's vocabulary continues the requested format", ErrBadRequest)

// finish marks a sequence done and wakes its requester.
func (g *generator) finish(s *genSeq, reason string, err error) {
	s.mu.Lock()
	first := !s.done
	if first {
		s.done, s.reason, s.err = true, reason, err
	}
	s.mu.Unlock()
	if first {
		g.queued.Add(-1)
	}
	s.wake()
}

func (s *genSeq) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// take returns the tokens generated since the last call and whether the
// sequence is done.
func (s *genSeq) take() (tokens []int, done bool, reason string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tokens, s.tokens = s.tokens, nil
	return tokens, s.done, s.reason, s.err
}
