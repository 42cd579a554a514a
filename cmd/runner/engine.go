package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"runner/engine"
	"runner/envconfig"
)

// engineFlags are the flags of verbs that load ONNX Runtime.
type engineFlags struct {
	ortLib string
	device string
}

func (f *engineFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.ortLib, "ort-lib", "", "path to the ONNX Runtime shared library (overrides RUNNER_ORT_LIB)")
	fs.StringVar(&f.device, "device", "", "execution device: cpu, cuda or auto (default RUNNER_DEVICE, else auto)")
}

// librarySources lists where ONNX Runtime may be, in the order tried: the
// flag, the environment, then where `make deps` put it (recorded at build
// time, or beside the binary in the source tree).
func (f *engineFlags) librarySources() []engine.LibrarySource {
	sources := []engine.LibrarySource{
		{Origin: "--ort-lib", Path: f.ortLib},
		{Origin: "RUNNER_ORT_LIB", Path: envconfig.ORTLibrary()},
		{Origin: engine.DefaultOrigin, Path: defaultORTLibrary},
	}
	if exe, err := os.Executable(); err == nil {
		// bin/runner in the source tree: ../.deps/onnxruntime/*/*/libonnxruntime.so.1
		matches, _ := filepath.Glob(filepath.Join(filepath.Dir(exe), "..", ".deps", "onnxruntime", "*", "*", "libonnxruntime*"))
		for _, m := range matches {
			sources = append(sources, engine.LibrarySource{Origin: engine.DefaultOrigin, Path: m})
		}
	}
	return sources
}

// openRuntime loads ONNX Runtime for a verb.
func (a *app) openRuntime(f *engineFlags) (*engine.Runtime, error) {
	lib, err := engine.FindLibrary(f.librarySources()...)
	if err != nil {
		return nil, err
	}
	return engine.Open(engine.Config{LibraryPath: lib, Logger: a.logger()})
}

// deviceChoice returns the device the flags or RUNNER_DEVICE ask for.
func (f *engineFlags) deviceChoice() (engine.Device, error) {
	if f.device != "" {
		return engine.ParseDevice(f.device)
	}
	return engine.ParseDevice(envconfig.Device())
}
