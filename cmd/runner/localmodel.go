package main

import (
	"context"
	"errors"
	"fmt"

	"runner/engine"
	"runner/envconfig"
	"runner/modelstore"
	"runner/pipeline"
)

// loadLocal loads a model into this process for verbs that work without a
// server: it resolves ref through the store (pulling it first when it is
// missing, unless offline), opens ONNX Runtime and loads the model. close
// unloads both.
func (a *app) loadLocal(ctx context.Context, ref string, f *engineFlags) (m *pipeline.Model, close func() error, err error) {
	device, err := f.deviceChoice()
	if err != nil {
		return nil, nil, usageError{err}
	}
	store, err := a.openStore(device)
	if err != nil {
		return nil, nil, err
	}
	log := a.logger()
	mod, err := store.Resolve(ctx, ref, modelstore.ResolveOptions{})
	if errors.Is(err, modelstore.ErrNotPulled) && !envconfig.HFOffline() {
		log.Info("model not pulled yet: pulling it from the Hub first", "model", ref)
		mod, err = store.Resolve(ctx, ref, modelstore.ResolveOptions{Pull: true})
	}
	if err != nil {
		return nil, nil, err
	}
	if mod.Graph() == "" {
		return nil, nil, fmt.Errorf("%s: %w", mod.Name, modelstore.ErrNoONNX)
	}
	rt, err := a.openRuntime(f)
	if err != nil {
		return nil, nil, err
	}
	m, err = pipeline.Load(ctx, pipeline.LoadConfig{
		Name:    mod.Name,
		Dir:     mod.Dir,
		Graphs:  mod.Graphs,
		Runtime: rt,
		Session: engine.SessionOptions{Device: device, Logger: log},
		Logger:  log,
	})
	if err != nil {
		return nil, nil, errors.Join(err, rt.Close())
	}
	return m, func() error { return errors.Join(m.Close(), rt.Close()) }, nil
}
