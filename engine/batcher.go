package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Batcher.Submit.
var (
	// ErrQueueFull is returned at once when a model's queue is full.
	ErrQueueFull = errors.New("server busy, please try again: maximum pending requests exceeded")
	// ErrBatcherClosed is returned when the model is unloading.
	ErrBatcherClosed = errors.New("model is unloading")
)

// Sequence is one tokenised input of an encoder model.
type Sequence struct {
	IDs []int64
	// TypeIDs are the token type (segment) ids; nil means all zero.
	TypeIDs []int64
}

// BatchConfig configures a Batcher. Zero fields take the defaults.
type BatchConfig struct {
	// MaxBatchTokens bounds a batch's padded size: sequences × longest
	// sequence. A sequence longer than this runs alone. The default is 1024
	// on a CPU, where small batches of similar length waste least work on
	// padding and attention (measured with make bench), and 16384 on a GPU.
	MaxBatchTokens int
	// MaxBatchSize bounds the sequences in one batch (default 128).
	MaxBatchSize int
	// MaxQueue bounds the requests waiting or running (default 512); more
	// are refused at once with ErrQueueFull.
	MaxQueue int
	// PadID is the token id used for padding (the tokenizer's pad token).
	PadID int64
	// Logger receives recovered panics; nil means slog.Default().
	Logger *slog.Logger
}

func (c *BatchConfig) defaults(device Device) {
	if c.MaxBatchTokens <= 0 {
		c.MaxBatchTokens = 16384
		if device == CPU {
			c.MaxBatchTokens = 1024
		}
	}
	if c.MaxBatchSize <= 0 {
		c.MaxBatchSize = 128
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 512
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// RowFunc receives one sequence's outputs: i is the sequence's index in the
// request. The row is valid only during the call.
type RowFunc func(i int, row Row) error

// Batcher runs an encoder model's requests in batches across requests. One
// goroutine owns the queue and forms batches by a token budget, grouping
// sequences of similar length to cut padding; a second runs them, so the
// next batch is formed while one runs. A lone request on an idle model runs
// at once. Close stops both.
type Batcher struct {
	sess *Session
	cfg  BatchConfig

	submit  chan *request
	batches chan *batch
	stop    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
	queued  atomic.Int64

	bufs  batchBuffers // owned by the run goroutine
	stats batchCounters
}

// request is one Submit call.
type request struct {
	ctx       context.Context
	fn        RowFunc
	items     []*item // handed to the queue goroutine with the request
	remaining atomic.Int64
	done      chan struct{}

	mu        sync.Mutex // guards err and cancelled; held while fn runs
	err       error
	cancelled bool
}

// item is one sequence of a request, waiting in the queue.
type item struct {
	req *request
	idx int
	seq Sequence
}

// finish records the outcome of one of the request's sequences.
func (r *request) finish(err error) {
	if err != nil {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
	}
	if r.remaining.Add(-1) == 0 {
		close(r.done)
	}
}

// NewBatcher starts a batcher for an encoder session whose inputs are
// input_ids and attention_mask (and optionally token_type_ids and
// position_ids), each [batch, sequence].
func NewBatcher(sess *Session, cfg BatchConfig) (*Batcher, error) {
	cfg.defaults(sess.Device())
	for _, name := range sess.InputNames() {
		switch name {
		case "input_ids", "attention_mask", "token_type_ids", "position_ids":
		default:
			return nil, fmt.Errorf("%w: model %s takes input %q, which an encoder batch cannot fill", ErrBadModel, sess.Name(), name)
		}
	}
	if !sess.HasInput("input_ids") {
		return nil, fmt.Errorf("%w: model %s has no input_ids input", ErrBadModel, sess.Name())
	}
	b := &Batcher{
		sess:    sess,
		cfg:     cfg,
		submit:  make(chan *request),
		batches: make(chan *batch),
		stop:    make(chan struct{}),
	}
	b.bufs.init(sess)
	b.wg.Add(2)
	go b.queueLoop()
	go b.runLoop()
	return b, nil
}

// Submit queues the sequences and calls fn once per sequence with its
// outputs, from the batcher's goroutine, before returning. It returns
// ErrQueueFull at once when the queue is full, and ctx.Err() as soon as ctx
// ends (fn is never called after Submit has returned).
func (b *Batcher) Submit(ctx context.Context, seqs []Sequence, fn RowFunc) error {
	if len(seqs) == 0 {
		return nil
	}
	for i, s := range seqs {
		if len(s.IDs) == 0 {
			return fmt.Errorf("%w: sequence %d is empty", ErrBadInput, i)
		}
		if s.TypeIDs != nil && len(s.TypeIDs) != len(s.IDs) {
			return fmt.Errorf("%w: sequence %d has %d type ids for %d tokens", ErrBadInput, i, len(s.TypeIDs), len(s.IDs))
		}
	}
	if b.queued.Add(1) > int64(b.cfg.MaxQueue) {
		b.queued.Add(-1)
		b.stats.rejected.Add(1)
		return ErrQueueFull
	}
	defer b.queued.Add(-1)

	r := &request{ctx: ctx, fn: fn, done: make(chan struct{})}
	r.remaining.Store(int64(len(seqs)))
	r.items = make([]*item, len(seqs))
	for i, s := range seqs {
		r.items[i] = &item{req: r, idx: i, seq: s}
	}
	select {
	case b.submit <- r:
	case <-b.stop:
		return ErrBatcherClosed
	case <-ctx.Done():
		return ctx.Err()
	}

	select {
	case <-r.done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.err
	case <-ctx.Done():
		r.mu.Lock()
		r.cancelled = true
		r.mu.Unlock()
		return ctx.Err()
	}
}

// Close stops the batcher: requests still queued fail with
// ErrBatcherClosed; a batch already running finishes. Close is idempotent.
func (b *Batcher) Close() error {
	b.stopped.Do(func() { close(b.stop) })
	b.wg.Wait()
	return nil
}

// Queued returns the number of requests waiting or running.
func (b *Batcher) Queued() int { return int(b.queued.Load()) }

// BatchStats are a batcher's counters since it started.
type BatchStats struct {
	Batches, Sequences, Tokens, PaddedTokens, Rejected int64
	RunTime                                            time.Duration
}

// Stats returns the batcher's counters.
func (b *Batcher) Stats() BatchStats {
	return BatchStats{
		Batches:      b.stats.batches.Load(),
		Sequences:    b.stats.sequences.Load(),
		Tokens:       b.stats.tokens.Load(),
		PaddedTokens: b.stats.padded.Load(),
		Rejected:     b.stats.rejected.Load(),
		RunTime:      time.Duration(b.stats.runNanos.Load()),
	}
}

type batchCounters struct {
	batches, sequences, tokens, padded, rejected, runNanos atomic.Int64
}

// panicError logs a panic recovered in model code or a row callback and
// turns it into an error, so one bad request never takes the server down.
func (b *Batcher) panicError(what string, p any) error {
	b.cfg.Logger.Error("panic in "+what, "model", b.sess.Name(), "panic", p, "stack", string(debug.Stack()))
	return fmt.Errorf("internal error in %s: %v", what, p)
}
