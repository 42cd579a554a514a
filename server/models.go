package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"runner/engine"
	"runner/modelstore"
	"runner/pipeline"
)

// ModelsConfig configures Models.
type ModelsConfig struct {
	// Store finds and pulls models.
	Store *modelstore.Store
	// Runtime runs them.
	Runtime *engine.Runtime
	// Session are the options of every model's sessions (device, threads).
	Session engine.SessionOptions
	// MaxLoaded, KeepAlive and MaxQueue: see RUNNER_MAX_LOADED_MODELS,
	// RUNNER_KEEP_ALIVE and RUNNER_MAX_QUEUE.
	MaxLoaded int
	KeepAlive time.Duration
	MaxQueue  int
	// MaxBatchTokens bounds encoder batches (0: the engine's default).
	MaxBatchTokens int
	// AutoPull lets a request for a model not yet pulled pull it first.
	AutoPull bool
	// FreeMemory, when set, reports the memory new models can take (see
	// engine.AvailableMemory); idle models are unloaded, least recently
	// used first, to make room for a model that would not fit.
	FreeMemory func() (int64, error)
	// Logger receives load, unload and pull notices.
	Logger *slog.Logger
}

// Models lends loaded models to requests: it resolves a reference through
// the store (pulling it first when allowed), and keeps the model loaded
// through the scheduler, keyed by its canonical name so that
// "org/name" and "org/name:q8" share one load.
type Models struct {
	cfg   ModelsConfig
	log   *slog.Logger
	sched *engine.Scheduler

	mu sync.Mutex // guards names
	// names remembers the canonical name each reference resolved to, so a
	// request for a loaded model touches no file; pulls and deletes forget.
	names map[string]string
}

// NewModels makes the model lender. It loads nothing until asked.
func NewModels(cfg ModelsConfig) *Models {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Models{cfg: cfg, log: cfg.Logger, names: map[string]string{}}
	m.sched = engine.NewScheduler(engine.SchedulerConfig{
		Load:       m.load,
		MaxLoaded:  cfg.MaxLoaded,
		KeepAlive:  cfg.KeepAlive,
		FreeMemory: cfg.FreeMemory,
		Estimate:   m.estimate,
		Logger:     cfg.Logger,
	})
	return m
}

// estimate is the scheduler's Estimate: the size of the model's files,
// which their tensors take once loaded (0 when unknown).
func (m *Models) estimate(ctx context.Context, name string) int64 {
	mod, err := m.cfg.Store.Resolve(ctx, name, modelstore.ResolveOptions{})
	if err != nil {
		return 0
	}
	return mod.Size
}

// Store returns the model store.
func (m *Models) Store() *modelstore.Store { return m.cfg.Store }

// loadedModel is what the scheduler keeps: the pipeline's model and the
// files it was loaded from.
type loadedModel struct {
	*pipeline.Model
	ref *modelstore.Model
}

// loan is a loaded model lent to one request.
type loan struct {
	*loadedModel
	lease *engine.Lease
}

// release returns the model with the request's keep-alive (nil: default).
func (l *loan) release(keepAlive *time.Duration) { l.lease.Release(keepAlive) }

// resolve finds the model on disk, pulling it when it is missing and
// AutoPull allows.
func (m *Models) resolve(ctx context.Context, ref string) (*modelstore.Model, error) {
	if ref == "" {
		return nil, badRequest("model is required")
	}
	mod, err := m.cfg.Store.Resolve(ctx, ref, modelstore.ResolveOptions{})
	if err == nil || !errors.Is(err, modelstore.ErrNotPulled) || !m.cfg.AutoPull {
		return mod, err
	}
	m.log.Info("model not pulled yet: pulling it from the Hub first", "model", ref)
	return m.cfg.Store.Resolve(ctx, ref, modelstore.ResolveOptions{Pull: true})
}

// acquire resolves ref and lends its loaded model.
func (m *Models) acquire(ctx context.Context, ref string) (*loan, error) {
	m.mu.Lock()
	name, known := m.names[ref]
	m.mu.Unlock()
	if !known {
		mod, err := m.resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		name = mod.Name
	}
	lease, err := m.sched.Acquire(ctx, name)
	if err != nil {
		if known {
			m.forget(ref)
		}
		return nil, err
	}
	if !known {
		m.mu.Lock()
		m.names[ref] = name
		m.mu.Unlock()
	}
	return &loan{loadedModel: lease.Model.(*loadedModel), lease: lease}, nil
}

// forget drops what a reference resolved to (after a pull or a delete).
func (m *Models) forget(ref string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.names, ref)
	for r, name := range m.names {
		if name == ref {
			delete(m.names, r)
		}
	}
}

// acquireFor lends the model for a task, or answers which tasks it does.
func (m *Models) acquireFor(ctx context.Context, ref string, task pipeline.Task) (*loan, error) {
	l, err := m.acquire(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := l.Need(task); err != nil {
		l.release(nil)
		return nil, err
	}
	return l, nil
}

// load is the scheduler's LoadFunc: name is a canonical reference already
// in the cache.
func (m *Models) load(ctx context.Context, name string) (engine.Model, int64, error) {
	mod, err := m.cfg.Store.Resolve(ctx, name, modelstore.ResolveOptions{})
	if err != nil {
		return nil, 0, err
	}
	if mod.Graph() == "" {
		return nil, 0, fmt.Errorf("%s: %w", name, modelstore.ErrNoONNX)
	}
	pm, err := pipeline.Load(ctx, pipeline.LoadConfig{
		Name:    mod.Name,
		Dir:     mod.ConfigDir,
		Graphs:  mod.Graphs,
		Runtime: m.cfg.Runtime,
		Session: m.cfg.Session,
		Batch:   engine.BatchConfig{MaxQueue: m.cfg.MaxQueue, MaxBatchTokens: m.cfg.MaxBatchTokens, Logger: m.log},
		Logger:  m.log,
	})
	if err != nil {
		return nil, 0, err
	}
	return &loadedModel{Model: pm, ref: mod}, mod.Size, nil
}

// unload unloads a model now (keep_alive 0 with no input); it reports
// whether it was loaded.
func (m *Models) unload(ctx context.Context, ref string) (bool, error) {
	mod, err := m.cfg.Store.Resolve(ctx, ref, modelstore.ResolveOptions{})
	if err != nil {
		return false, err
	}
	m.forget(ref)
	m.forget(mod.Name)
	return m.sched.Unload(mod.Name), nil
}

// Close unloads every model after the requests in flight.
func (m *Models) Close(ctx context.Context) error { return m.sched.Close(ctx) }
