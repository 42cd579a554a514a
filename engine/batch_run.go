package engine

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"time"
)

// batch is a group of sequences run together, padded to the longest.
type batch struct {
	items  []*item
	maxLen int
}

// queueLoop owns the queue: it takes requests in, forms the next batch from
// what is waiting (again whenever a request arrives, so a batch grows while
// the model is busy), and hands it to runLoop when that is free.
func (b *Batcher) queueLoop() {
	defer b.wg.Done()
	defer close(b.batches)
	var pending []*item // in arrival order
	var next *batch
	var arrivals uint64
	order := map[*item]uint64{}
	for {
		if next == nil {
			next = b.form(&pending)
		}
		var out chan *batch
		if next != nil {
			out = b.batches
		}
		select {
		case r := <-b.submit:
			if next != nil {
				// Re-form with the newcomer: return next's items to the
				// queue in arrival order.
				pending = append(pending, next.items...)
				sort.SliceStable(pending, func(i, j int) bool { return order[pending[i]] < order[pending[j]] })
				next = nil
			}
			for _, it := range r.items {
				arrivals++
				order[it] = arrivals
				pending = append(pending, it)
			}
		case out <- next:
			for _, it := range next.items {
				delete(order, it)
			}
			next = nil
		case <-b.stop:
			if next != nil {
				pending = append(pending, next.items...)
			}
			for _, it := range pending {
				it.req.finish(ErrBatcherClosed)
			}
			return
		}
	}
}

// form takes the next batch out of pending: the oldest sequence plus the
// waiting sequences closest to it in length, as many as the token budget and
// batch size allow. Sequences of requests that have ended are dropped.
func (b *Batcher) form(pending *[]*item) *batch {
	live := (*pending)[:0]
	for _, it := range *pending {
		if err := it.req.ended(); err != nil {
			it.req.finish(err)
			continue
		}
		live = append(live, it)
	}
	*pending = live
	if len(live) == 0 {
		return nil
	}

	byLen := make([]int, len(live))
	for i := range byLen {
		byLen[i] = i
	}
	sort.SliceStable(byLen, func(i, j int) bool { return len(live[byLen[i]].seq.IDs) < len(live[byLen[j]].seq.IDs) })
	pos := 0
	for p, i := range byLen {
		if i == 0 {
			pos = p
			break
		}
	}
	length := func(p int) int { return len(live[byLen[p]].seq.IDs) }
	lo, hi, maxLen := pos, pos, length(pos)
	for hi-lo+1 < b.cfg.MaxBatchSize {
		n := hi - lo + 1
		// The padding each neighbour would add: a shorter one pads itself
		// to maxLen; a longer one pads every sequence already chosen.
		bestCost, pick := -1, 0
		if lo > 0 && (n+1)*maxLen <= b.cfg.MaxBatchTokens {
			bestCost, pick = maxLen-length(lo-1), -1
		}
		if hi+1 < len(byLen) {
			l := length(hi + 1)
			if (n+1)*l <= b.cfg.MaxBatchTokens {
				if c := n * (l - maxLen); bestCost < 0 || c < bestCost {
					bestCost, pick = c, 1
				}
			}
		}
		if bestCost < 0 {
			break
		}
		if pick < 0 {
			lo--
		} else {
			hi++
			maxLen = length(hi)
		}
	}

	chosen := make(map[int]bool, hi-lo+1)
	bt := &batch{maxLen: maxLen}
	for p := lo; p <= hi; p++ {
		chosen[byLen[p]] = true
		bt.items = append(bt.items, live[byLen[p]])
	}
	rest := live[:0]
	for i, it := range live {
		if !chosen[i] {
			rest = append(rest, it)
		}
	}
	for i := len(rest); i < len(live); i++ {
		live[i] = nil
	}
	*pending = rest
	return bt
}

// ended returns the request's error once its caller has gone.
func (r *request) ended() error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancelled {
		return context.Canceled
	}
	return nil
}

// runLoop runs batches one at a time.
func (b *Batcher) runLoop() {
	defer b.wg.Done()
	for bt := range b.batches {
		b.run(bt)
	}
}

// run pads a batch into the reused input buffers, runs the model, and hands
// each sequence its rows.
func (b *Batcher) run(bt *batch) {
	start := time.Now()
	ctx, cancel := b.batchContext(bt)
	defer cancel()

	B, T := len(bt.items), bt.maxLen
	res, err := func() (res map[string]*Tensor, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = b.panicError("model run", p)
			}
		}()
		in, err := b.bufs.inputs(bt, b.cfg.PadID)
		if err != nil {
			return nil, err
		}
		return b.sess.Run(ctx, in, b.bufs.outputs(B, T))
	}()

	tokens := 0
	out := &batchResult{out: res, batch: B}
	for i, it := range bt.items {
		tokens += len(it.seq.IDs)
		if err != nil {
			it.req.finish(err)
			continue
		}
		it.req.finish(b.deliver(it, Row{Len: len(it.seq.IDs), index: i, res: out}))
	}
	b.stats.batches.Add(1)
	b.stats.sequences.Add(int64(B))
	b.stats.tokens.Add(int64(tokens))
	b.stats.padded.Add(int64(B * T))
	b.stats.runNanos.Add(int64(time.Since(start)))
}

// deliver calls the request's row function unless the caller has gone.
func (b *Batcher) deliver(it *item, row Row) (err error) {
	r := it.req
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancelled {
		return context.Canceled
	}
	defer func() {
		if p := recover(); p != nil {
			err = b.panicError("row callback", p)
		}
	}()
	return r.fn(it.idx, row)
}

// batchContext returns a context that ends when every request in the batch
// has ended, so a batch nobody waits for stops early.
func (b *Batcher) batchContext(bt *batch) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	seen := map[*request]bool{}
	for _, it := range bt.items {
		seen[it.req] = true
	}
	var live atomic.Int64
	live.Store(int64(len(seen)))
	stops := make([]func() bool, 0, len(seen))
	for r := range seen {
		stops = append(stops, context.AfterFunc(r.ctx, func() {
			if live.Add(-1) == 0 {
				cancel()
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// Row is one sequence's share of a batch's outputs.
type Row struct {
	// Len is the sequence's length in tokens; outputs with a sequence
	// dimension are padded beyond it.
	Len   int
	index int
	res   *batchResult
}

// batchResult holds a batch's outputs while rows are handed out.
type batchResult struct {
	out   map[string]*Tensor
	batch int
	f32   map[string][]float32 // float16 outputs converted once
}

// Output returns the sequence's slice of a floating-point output and its
// shape without the batch dimension: [sequence, hidden] for
// last_hidden_state, [labels] for sequence logits. The slice is a view into
// the batch's buffer, valid only during the RowFunc call.
func (r Row) Output(name string) ([]float32, []int64, error) {
	t := r.res.out[name]
	if t == nil {
		return nil, nil, fmt.Errorf("model has no output %q", name)
	}
	data := Data[float32](t)
	if data == nil {
		if d, ok := r.res.f32[name]; ok {
			data = d
		} else {
			d, err := t.Float32s()
			if err != nil {
				return nil, nil, fmt.Errorf("output %q: %w", name, err)
			}
			if r.res.f32 == nil {
				r.res.f32 = map[string][]float32{}
			}
			r.res.f32[name], data = d, d
		}
	}
	shape := t.Shape()
	if len(shape) == 0 || shape[0] != int64(r.res.batch) {
		return nil, nil, fmt.Errorf("output %q of shape %v is not batched", name, shape)
	}
	stride := len(data) / r.res.batch
	return data[r.index*stride : (r.index+1)*stride], shape[1:], nil
}
