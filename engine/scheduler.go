package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Model is something the Scheduler keeps loaded: a pipeline's model with
// its sessions, tokenizer and batcher.
type Model interface {
	// Close releases the model after the work in flight has finished.
	Close() error
}

// LoadFunc loads the model a name refers to and reports its size in bytes.
type LoadFunc func(ctx context.Context, name string) (Model, int64, error)

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	// Load loads a model on first use.
	Load LoadFunc
	// MaxLoaded is how many models may be loaded at once; to load another,
	// the least recently used idle one is unloaded. 0 means no limit.
	MaxLoaded int
	// KeepAlive is how long an idle model stays loaded when a request does
	// not say; negative keeps it for ever.
	KeepAlive time.Duration
	// FreeMemory, when set, reports the memory available to new models
	// (see AvailableMemory). Before a load, idle models are unloaded, least
	// recently used first, until the new model's Estimate fits; when the
	// models in use leave too little, the load goes ahead with a warning.
	// It is called with the scheduler's lock held, so it must not call
	// back into the scheduler.
	FreeMemory func() (int64, error)
	// Estimate returns the memory a model will take once loaded (its
	// files' size), before it is loaded; 0 means unknown. FreeMemory is
	// consulted only with an Estimate.
	Estimate func(ctx context.Context, name string) int64
	// Logger receives load and unload notices; nil means slog.Default().
	Logger *slog.Logger
}

// ErrSchedulerClosed is returned by Acquire after Close.
var ErrSchedulerClosed = errors.New("scheduler is shutting down")

// Scheduler loads models on first use, shares them between requests, and
// unloads them when idle past their keep-alive or when others need room.
// One load runs at a time per model; concurrent first requests wait for it.
type Scheduler struct {
	cfg SchedulerConfig
	log *slog.Logger
	now func() time.Time // test seam

	mu     sync.Mutex // guards the fields below
	models map[string]*loaded
	// unloading is the memory of models being unloaded, not yet given
	// back.
	unloading int64
	changed   chan struct{} // closed and replaced whenever a model goes idle or away
	closed    bool
}

// loaded is a model that is loading or loaded.
type loaded struct {
	name  string
	ready chan struct{} // closed when the load has finished
	err   error         // the load's error, once ready
	model Model
	size  int64

	refs      int
	lastUsed  time.Time
	keepAlive time.Duration
	// unloadWhenIdle is set by Unload while the model is busy.
	unloadWhenIdle bool
	expires        time.Time
	timer          *time.Timer
	loadedAt       time.Time
	loadTime       time.Duration
}

// NewScheduler makes a scheduler. It starts nothing until models are asked for.
func NewScheduler(cfg SchedulerConfig) *Scheduler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{cfg: cfg, log: log, now: time.Now, models: map[string]*loaded{}, changed: make(chan struct{})}
}

// Lease is a model lent to one request. Release it when the request is done.
type Lease struct {
	Model Model
	// LoadDuration is how long this request waited for the model to load
	// (0 when it was already loaded).
	LoadDuration time.Duration

	s    *Scheduler
	m    *loaded
	once sync.Once
}

// Release returns the model; keepAlive says how long it then stays loaded
// while idle (nil: the scheduler's default; 0: unload now; negative: for
// ever).
func (l *Lease) Release(keepAlive *time.Duration) {
	l.once.Do(func() { l.s.release(l.m, keepAlive) })
}

// Acquire returns the model called name, loading it first if needed.
func (s *Scheduler) Acquire(ctx context.Context, name string) (*Lease, error) {
	start := s.now()
	need := int64(-1) // the model's estimated size, once asked for
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrSchedulerClosed
		}
		m, ok := s.models[name]
		if !ok && need < 0 && s.cfg.FreeMemory != nil && s.cfg.Estimate != nil {
			s.mu.Unlock()
			need = max(s.cfg.Estimate(ctx, name), 0)
			continue
		}
		if !ok {
			if wait := s.makeRoomLocked(name, need); wait != nil {
				s.mu.Unlock()
				select {
				case <-wait:
					continue
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			m = &loaded{name: name, ready: make(chan struct{}), size: max(need, 0)}
			s.models[name] = m
			go s.load(m)
		}
		m.refs++
		m.unloadWhenIdle = false
		if m.timer != nil {
			m.timer.Stop()
			m.timer = nil
		}
		s.mu.Unlock()

		select {
		case <-m.ready:
		case <-ctx.Done():
			s.release(m, nil)
			return nil, ctx.Err()
		}
		if m.err != nil {
			s.release(m, nil)
			return nil, m.err
		}
		var waited time.Duration
		if m.loadedAt.After(start) {
			waited = s.now().Sub(start)
		}
		return &Lease{Model: m.model, LoadDuration: waited, s: s, m: m}, nil
	}
}

// load runs the LoadFunc for m; it is not tied to any one request, so a
// caller that gives up does not waste the load for the others.
func (s *Scheduler) load(m *loaded) {
	start := s.now()
	model, size, err := s.cfg.Load(context.Background(), m.name)
	s.mu.Lock()
	m.model, m.size, m.err = model, size, err
	m.loadedAt = s.now()
	m.loadTime = m.loadedAt.Sub(start)
	if err != nil {
		delete(s.models, m.name)
	}
	s.broadcastLocked()
	s.mu.Unlock()
	if err == nil {
		s.log.Info("model loaded", "model", m.name, "size", size, "duration", m.loadTime.Round(time.Millisecond))
	}
	close(m.ready)
}

// makeRoomLocked makes room to load name, of estimated size need (negative
// or 0: unknown): it unloads the least recently used idle model when the
// count limit is reached, and idle models until need fits in memory. It
// returns a channel to wait on when the count limit is reached and every
// loaded model is busy.
func (s *Scheduler) makeRoomLocked(name string, need int64) <-chan struct{} {
	if s.cfg.MaxLoaded > 0 && len(s.models) >= s.cfg.MaxLoaded {
		victim := s.idlestLocked()
		if victim == nil {
			return s.changed
		}
		s.unloadLocked(victim, "making room")
	}
	if need <= 0 || s.cfg.FreeMemory == nil {
		return nil
	}
	free, err := s.cfg.FreeMemory()
	if err != nil {
		return nil // unknown: the count limit alone applies
	}
	// Memory still to be taken by loads in flight and to be given back by
	// unloads in flight counts as if they had finished.
	free += s.unloading
	for _, m := range s.models {
		if !isReady(m) {
			free -= m.size
		}
	}
	for free < need {
		victim := s.idlestLocked()
		if victim == nil {
			s.log.Warn("loading a model that may not fit in the memory available; no idle model is left to unload",
				"model", name, "size", need, "available", max(free, 0))
			return nil
		}
		free += victim.size
		s.unloadLocked(victim, "making room in memory")
	}
	return nil
}

// idlestLocked returns the least recently used loaded model nobody is
// using, or nil.
func (s *Scheduler) idlestLocked() *loaded {
	var victim *loaded
	for _, m := range s.models {
		if m.refs > 0 || !isReady(m) {
			continue
		}
		if victim == nil || m.lastUsed.Before(victim.lastUsed) {
			victim = m
		}
	}
	return victim
}

func isReady(m *loaded) bool {
	select {
	case <-m.ready:
		return true
	default:
		return false
	}
}

func (s *Scheduler) release(m *loaded, keepAlive *time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.refs--
	m.lastUsed = s.now()
	m.keepAlive = s.cfg.KeepAlive
	if keepAlive != nil {
		m.keepAlive = *keepAlive
	}
	if m.refs > 0 || m.err != nil || s.models[m.name] != m {
		return
	}
	s.broadcastLocked()
	switch {
	case m.keepAlive == 0 || m.unloadWhenIdle:
		s.unloadLocked(m, "keep_alive 0")
	case m.keepAlive < 0 || m.keepAlive > 100*365*24*time.Hour:
		m.expires = time.Time{}
	default:
		m.expires = m.lastUsed.Add(m.keepAlive)
		m.timer = time.AfterFunc(m.keepAlive, func() { s.expire(m) })
	}
}

// expire unloads m if it is still idle and past its keep-alive.
func (s *Scheduler) expire(m *loaded) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.refs == 0 && s.models[m.name] == m && !m.expires.IsZero() && !s.now().Before(m.expires) {
		s.unloadLocked(m, "idle")
	}
}

// unloadLocked removes m and closes it in the background.
func (s *Scheduler) unloadLocked(m *loaded, why string) {
	delete(s.models, m.name)
	if m.timer != nil {
		m.timer.Stop()
	}
	s.unloading += m.size
	s.broadcastLocked()
	go func() {
		err := m.model.Close()
		s.mu.Lock()
		s.unloading -= m.size
		s.mu.Unlock()
		if err != nil {
			s.log.Error("unload model", "model", m.name, "error", err)
			return
		}
		s.log.Info("model unloaded", "model", m.name, "reason", why)
	}()
}

func (s *Scheduler) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Unload unloads the model now if it is idle, or as soon as its requests
// finish. It reports whether the model was loaded.
func (s *Scheduler) Unload(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[name]
	if !ok {
		return false
	}
	m.unloadWhenIdle = true
	if m.refs == 0 && isReady(m) && m.err == nil {
		s.unloadLocked(m, "requested")
	}
	return true
}

// Status describes one loaded model, for /api/ps.
type Status struct {
	Name      string
	Size      int64
	LoadedAt  time.Time
	LoadTime  time.Duration
	ExpiresAt time.Time // zero: never, or in use
	InUse     int
	Model     Model
}

// Loaded lists the loaded models, most recently used first.
func (s *Scheduler) Loaded() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Status
	for _, m := range s.models {
		if !isReady(m) || m.err != nil {
			continue
		}
		exp := m.expires
		if m.refs > 0 {
			exp = time.Time{}
		}
		out = append(out, Status{Name: m.name, Size: m.size, LoadedAt: m.loadedAt, LoadTime: m.loadTime, ExpiresAt: exp, InUse: m.refs, Model: m.model})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LoadedAt.After(out[j].LoadedAt) })
	return out
}

// Close refuses new requests, waits (until ctx ends) for requests in flight
// to release their models, then unloads every model.
func (s *Scheduler) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for {
		s.mu.Lock()
		busy, wait := 0, s.changed
		for _, m := range s.models {
			if m.refs > 0 || !isReady(m) {
				busy++
			}
		}
		if busy == 0 {
			models := make([]*loaded, 0, len(s.models))
			for _, m := range s.models {
				models = append(models, m)
				if m.timer != nil {
					m.timer.Stop()
				}
			}
			s.models = map[string]*loaded{}
			s.mu.Unlock()
			var errs []error
			for _, m := range models {
				if m.err == nil {
					if err := m.model.Close(); err != nil {
						errs = append(errs, fmt.Errorf("unload %s: %w", m.name, err))
					}
				}
			}
			return errors.Join(errs...)
		}
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("scheduler close: %d models still busy: %w", busy, ctx.Err())
		}
	}
}
