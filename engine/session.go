package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"runner/onnx"
)

// Errors returned by sessions. Each is wrapped with the model and detail.
var (
	// ErrClosed is returned when a session is used after Close.
	ErrClosed = errors.New("session closed")
	// ErrBadInput is returned when a run's inputs do not fit the model:
	// a missing or unknown input, a wrong element type or shape.
	ErrBadInput = errors.New("invalid model input")
	// ErrBadModel is returned when a model file cannot be loaded.
	ErrBadModel = errors.New("cannot load model")
)

// Optimization is ONNX Runtime's graph optimisation level.
type Optimization string

// Graph optimisation levels; the zero value means OptimizeAll.
const (
	OptimizeDisable  Optimization = "disable"
	OptimizeBasic    Optimization = "basic"
	OptimizeExtended Optimization = "extended"
	OptimizeAll      Optimization = "all"
)

func (o Optimization) ort() (ort.GraphOptimizationLevel, error) {
	switch o {
	case OptimizeDisable:
		return ort.GraphOptimizationLevelDisableAll, nil
	case OptimizeBasic:
		return ort.GraphOptimizationLevelEnableBasic, nil
	case OptimizeExtended:
		return ort.GraphOptimizationLevelEnableExtended, nil
	case OptimizeAll, "":
		return ort.GraphOptimizationLevelEnableAll, nil
	}
	return 0, fmt.Errorf("unknown graph optimisation level %q (want disable, basic, extended or all)", o)
}

// SessionOptions configure a Session. The zero value runs on the CPU with
// ONNX Runtime's default threading and every graph optimisation.
type SessionOptions struct {
	// Device is where the model runs: cpu (default), cuda, coreml,
	// directml or auto. A device that cannot be used falls back to the CPU
	// with one log line.
	Device Device
	// DeviceID selects the GPU for cuda and directml.
	DeviceID int
	// IntraOpThreads and InterOpThreads size ONNX Runtime's thread pools;
	// 0 lets ONNX Runtime choose (one intra-op thread per physical core).
	IntraOpThreads, InterOpThreads int
	// Optimization is the graph optimisation level.
	Optimization Optimization
	// DisableMemArena turns off ONNX Runtime's CPU memory arena, trading
	// speed for a smaller resident size between runs.
	DisableMemArena bool
	// Logger receives fallback notices; nil means the runtime's logger.
	Logger *slog.Logger
}

// Session is a loaded model. It is safe for concurrent use; Close waits for
// runs in flight.
type Session struct {
	path   string
	info   *onnx.Info
	device Device
	ins    []string
	outs   []string
	inSpec map[string]onnx.ValueInfo

	mu     sync.RWMutex // held for reading by each Run, for writing by Close
	ort    *ort.DynamicAdvancedSession
	closed bool
	rt     *Runtime
}

// NewSession loads the ONNX model at path. External data files
// (model.onnx_data) are found beside the model, so pass the path inside its
// directory, not a resolved symlink target.
func (r *Runtime) NewSession(ctx context.Context, path string, opts SessionOptions) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = r.log
	}
	info, err := onnx.ReadInfo(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadModel, path, err)
	}
	s := &Session{path: path, info: info, inSpec: map[string]onnx.ValueInfo{}, rt: r}
	for _, v := range info.Inputs {
		if v.Kind != "tensor" {
			return nil, fmt.Errorf("%w %s: input %q is a %s; only tensor inputs are supported", ErrBadModel, path, v.Name, v.Kind)
		}
		s.ins = append(s.ins, v.Name)
		s.inSpec[v.Name] = v
	}
	for _, v := range info.Outputs {
		s.outs = append(s.outs, v.Name)
	}
	if len(s.ins) == 0 || len(s.outs) == 0 {
		return nil, fmt.Errorf("%w %s: the graph has no inputs or no outputs", ErrBadModel, path)
	}

	device, err := ResolveDevice(opts.Device, r.lib)
	if err != nil {
		return nil, err
	}
	sess, err := r.createSession(path, s.ins, s.outs, opts, device)
	if err != nil && device != CPU {
		log.Warn("execution provider unavailable, running on CPU", "device", device, "model", path, "error", err)
		device = CPU
		sess, err = r.createSession(path, s.ins, s.outs, opts, CPU)
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadModel, path, err)
	}
	s.ort, s.device = sess, device
	r.track(1)
	return s, nil
}

// createSession makes the ONNX Runtime session on one device, destroying its
// options whatever happens.
func (r *Runtime) createSession(path string, ins, outs []string, opts SessionOptions, device Device) (_ *ort.DynamicAdvancedSession, err error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer func() { err = errors.Join(err, so.Destroy()) }()
	level, err := opts.Optimization.ort()
	if err != nil {
		return nil, err
	}
	if err := so.SetGraphOptimizationLevel(level); err != nil {
		return nil, fmt.Errorf("set optimisation level: %w", err)
	}
	if opts.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("set intra-op threads: %w", err)
		}
	}
	if opts.InterOpThreads > 0 {
		if err := so.SetInterOpNumThreads(opts.InterOpThreads); err != nil {
			return nil, fmt.Errorf("set inter-op threads: %w", err)
		}
	}
	if opts.DisableMemArena {
		if err := so.SetCpuMemArena(false); err != nil {
			return nil, fmt.Errorf("disable memory arena: %w", err)
		}
	}
	if err := appendProvider(so, device, opts.DeviceID); err != nil {
		return nil, err
	}
	sess, err := ort.NewDynamicAdvancedSession(path, ins, outs, so)
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// Path returns the model file the session was loaded from.
func (s *Session) Path() string { return s.path }

// Name returns a short name for the model, for logs and errors.
func (s *Session) Name() string { return filepath.Base(s.path) }

// Info returns the model's interface and summary.
func (s *Session) Info() *onnx.Info { return s.info }

// Device returns the device the session actually runs on.
func (s *Session) Device() Device { return s.device }

// HasInput reports whether the model has an input of that name (for
// example token_type_ids, which only some BERT exports take).
func (s *Session) HasInput(name string) bool {
	_, ok := s.inSpec[name]
	return ok
}

// HasOutput reports whether the model has an output of that name.
func (s *Session) HasOutput(name string) bool { return s.hasOutput(name) }

// InputNames returns the model's input names in graph order.
func (s *Session) InputNames() []string { return s.ins }

// OutputNames returns the model's output names in graph order.
func (s *Session) OutputNames() []string { return s.outs }

// Close destroys the session after runs in flight have returned. It is
// idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.rt.track(-1)
	if err := s.ort.Destroy(); err != nil {
		return fmt.Errorf("destroy session %s: %w", s.path, err)
	}
	return nil
}
