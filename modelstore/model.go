package modelstore

import (
	"path/filepath"
	"time"

	"runner/quant"
)

// Model is one variant of one model revision on disk: in the hub cache, or
// a local directory.
type Model struct {
	// Name is the canonical reference: ORG/NAME:VARIANT[@REVISION], or the
	// directory:VARIANT.
	Name string
	// Repo is the Hub repository id ("" for a local directory).
	Repo string
	// Revision is the revision asked for (main by default).
	Revision string
	// Commit is the 40-hex commit of the snapshot ("" for a local directory).
	Commit string
	// Variant is the variant in use.
	Variant quant.Variant
	// VariantChosen is set when no variant was asked for and runner chose it
	// for the device.
	VariantChosen bool
	// Dir is the snapshot (or local) directory. Give ONNX Runtime paths under
	// it, never their realpath, so external data files resolve beside the
	// graph.
	Dir string
	// ConfigDir holds the model's configuration and tokenizer: Dir, or the
	// variant's folder in a repository laid out as onnxruntime-genai does.
	ConfigDir string
	// Graphs are the variant's ONNX files, absolute paths under Dir, the main
	// graph first.
	Graphs []string
	// Files are the model's files, slash paths relative to Dir.
	Files []string
	// Size is the total size of Files in bytes.
	Size int64
	// FromCache is set when a pull was served from the cache because the
	// Hub could not be reached or offline mode is on.
	FromCache bool
	// Downloaded is how many bytes a pull fetched.
	Downloaded int64

	// The fields below are filled by List and Show.

	// ModifiedAt is when the model's files were last written to the cache.
	ModifiedAt time.Time
	// Digest is the SHA-256 (hex) that identifies the model: its main
	// graph's, where the cache knows it.
	Digest string
	// Details are the model's format, family, size and quantisation.
	Details Details
}

// Graph returns the main ONNX graph's path, or "" when there is none.
func (m *Model) Graph() string {
	if len(m.Graphs) == 0 {
		return ""
	}
	return m.Graphs[0]
}

// Local reports whether the model is a local directory rather than a cached
// Hub repository.
func (m *Model) Local() bool { return m.Repo == "" }

// newModel describes a selection in dir.
func newModel(ref Ref, commit, dir string, sel selection) *Model {
	m := &Model{
		Name:          ref.WithVariant(sel.variant).String(),
		Repo:          ref.Repo,
		Commit:        commit,
		Variant:       sel.variant,
		VariantChosen: sel.chosen,
		Dir:           dir,
		ConfigDir:     filepath.Join(dir, filepath.FromSlash(sel.folder)),
	}
	if !ref.Local() {
		m.Revision = ref.Rev()
	}
	for _, g := range sel.graphs {
		m.Graphs = append(m.Graphs, filepath.Join(dir, filepath.FromSlash(g)))
	}
	for _, f := range sel.files {
		m.Files = append(m.Files, f.Path)
		m.Size += f.Size
	}
	return m
}
