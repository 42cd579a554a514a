package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibrarySource is one place the ONNX Runtime library may be named, in the
// order [FindLibrary] tries them.
type LibrarySource struct {
	// Origin says where the path came from, for error messages:
	// "--ort-lib", "RUNNER_ORT_LIB", "make deps".
	Origin string
	// Path is the library's path; "" means this source names none.
	Path string
}

// ErrLibraryNotFound is returned by FindLibrary when no source names an
// existing ONNX Runtime library.
var ErrLibraryNotFound = errors.New("ONNX Runtime library not found: run `make deps` in runner's source tree to fetch it, or set RUNNER_ORT_LIB (or --ort-lib) to the path of libonnxruntime")

// FindLibrary returns the first library path named by sources. A source that
// names a path which does not exist is an error (the user asked for it); a
// missing default ("make deps") falls through to the next source.
func FindLibrary(sources ...LibrarySource) (string, error) {
	for _, s := range sources {
		if s.Path == "" {
			continue
		}
		st, err := os.Stat(s.Path)
		switch {
		case err == nil && !st.IsDir():
			return s.Path, nil
		case s.Origin == DefaultOrigin:
			continue
		case err == nil:
			return "", fmt.Errorf("%s=%s is a directory, want the libonnxruntime file", s.Origin, s.Path)
		default:
			return "", fmt.Errorf("%s=%s: %w", s.Origin, s.Path, err)
		}
	}
	return "", ErrLibraryNotFound
}

// DefaultOrigin marks the location `make deps` installs to; a missing default
// is not an error by itself.
const DefaultOrigin = "make deps"

// Config configures Open.
type Config struct {
	// LibraryPath is the ONNX Runtime shared library to load (see FindLibrary).
	LibraryPath string
	// Logger receives the runtime's diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Runtime is the loaded ONNX Runtime. Close it when done.
type Runtime struct {
	lib     string
	version string
	log     *slog.Logger
	once    sync.Once

	mu       sync.Mutex // guards sessions
	sessions int        // sessions open on this runtime
}

// track counts sessions opening (+1) and closing (-1).
func (r *Runtime) track(delta int) {
	r.mu.Lock()
	r.sessions += delta
	r.mu.Unlock()
}

// environment is ONNX Runtime's process-wide state, shared by every Runtime
// of the process: the one piece of global state in runner, forced by ONNX
// Runtime itself. mu guards the fields.
var environment struct {
	mu   sync.Mutex
	refs int
	lib  string
}

// Open loads ONNX Runtime from cfg.LibraryPath and initialises its
// environment, or shares the one already loaded by this process.
func Open(cfg Config) (*Runtime, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.LibraryPath == "" {
		return nil, ErrLibraryNotFound
	}
	lib, err := filepath.Abs(cfg.LibraryPath)
	if err != nil {
		return nil, fmt.Errorf("onnx runtime library %s: %w", cfg.LibraryPath, err)
	}
	if _, err := os.Stat(lib); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (%s does not exist)", ErrLibraryNotFound, lib)
		}
		return nil, fmt.Errorf("onnx runtime library: %w", err)
	}

	environment.mu.Lock()
	defer environment.mu.Unlock()
	if environment.refs > 0 {
		if environment.lib != lib {
			return nil, fmt.Errorf("onnx runtime already loaded from %s; cannot also load %s in one process", environment.lib, lib)
		}
	} else {
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			return nil, fmt.Errorf("load onnx runtime from %s: %w", lib, err)
		}
		environment.lib = lib
	}
	environment.refs++
	return &Runtime{lib: lib, version: ort.GetVersion(), log: log}, nil
}

// Version returns the version of the ONNX Runtime library actually loaded.
func (r *Runtime) Version() string { return r.version }

// LibraryPath returns the absolute path of the loaded library.
func (r *Runtime) LibraryPath() string { return r.lib }

// Close releases this handle; the last one destroys ONNX Runtime's
// environment. Sessions must be closed first. Close is idempotent.
func (r *Runtime) Close() error {
	r.mu.Lock()
	open := r.sessions
	r.mu.Unlock()
	if open > 0 {
		return fmt.Errorf("close onnx runtime: %d sessions still open", open)
	}
	var err error
	r.once.Do(func() {
		environment.mu.Lock()
		defer environment.mu.Unlock()
		environment.refs--
		if environment.refs == 0 {
			if e := ort.DestroyEnvironment(); e != nil {
				err = fmt.Errorf("destroy onnx runtime environment: %w", e)
			}
			environment.lib = ""
		}
	})
	return err
}
