package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"runner/onnx/onnxpb"
)

// Errors of reading and writing whole models.
var (
	// ErrExternalData is returned when a tensor's external data reference
	// is malformed, leaves the model's directory or lies outside its file.
	ErrExternalData = errors.New("bad external data reference")
	// ErrTooLarge is returned by Save when the model file itself would pass
	// protobuf's 2 GiB limit; a lower ExternalDataThreshold fixes it.
	ErrTooLarge = errors.New("model over protobuf's 2 GiB limit")
)

// maxProtoSize is the largest serialised message protobuf readers accept.
const maxProtoSize = 1<<31 - 1

// externalAlign aligns each tensor in an external data file, so that
// runtimes can map the file and use the weights in place.
const externalAlign = 4096

// Read parses the ONNX model at path. Weights stored in external data files
// stay references; LoadExternalData or Load brings them in.
func Read(path string) (*onnxpb.ModelProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotONNX, err)
	}
	if m.GetGraph() == nil {
		return nil, fmt.Errorf("%s: %w: no graph", path, ErrNotONNX)
	}
	return m, nil
}

// Load reads the ONNX model at path together with its external data (files
// named by the tensors, relative to the model's directory), so the model in
// memory is self-contained.
func Load(path string) (*onnxpb.ModelProto, error) {
	m, err := Read(path)
	if err != nil {
		return nil, err
	}
	if err := LoadExternalData(m, filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// LoadExternalData reads every tensor of m stored externally (initializers
// and attribute tensors, subgraphs included) from its file under dir into
// raw data, and marks it as stored inline. Locations must stay inside dir.
func LoadExternalData(m *onnxpb.ModelProto, dir string) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	return walkTensors(m.GetGraph(), func(t *onnxpb.TensorProto) error {
		if t.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			return nil
		}
		return loadTensor(t, dir, files)
	})
}

func loadTensor(t *onnxpb.TensorProto, dir string, files map[string]*os.File) error {
	var location string
	offset, length := int64(0), int64(-1)
	for _, e := range t.GetExternalData() {
		var err error
		switch e.GetKey() {
		case "location":
			location = e.GetValue()
		case "offset":
			offset, err = strconv.ParseInt(e.GetValue(), 10, 64)
		case "length":
			length, err = strconv.ParseInt(e.GetValue(), 10, 64)
		}
		if err != nil {
			return fmt.Errorf("tensor %q: %w: %s=%q", t.GetName(), ErrExternalData, e.GetKey(), e.GetValue())
		}
	}
	if location == "" || !filepath.IsLocal(location) {
		return fmt.Errorf("tensor %q: %w: location %q", t.GetName(), ErrExternalData, location)
	}
	f, ok := files[location]
	if !ok {
		var err error
		if f, err = os.Open(filepath.Join(dir, location)); err != nil {
			return fmt.Errorf("tensor %q: %w", t.GetName(), err)
		}
		files[location] = f
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	if length < 0 {
		length = st.Size() - offset
	}
	if offset < 0 || length < 0 || offset+length > st.Size() {
		return fmt.Errorf("tensor %q: %w: bytes [%d, %d) of %s, which has %d", t.GetName(), ErrExternalData, offset, offset+length, location, st.Size())
	}
	if size := ElemType(t.GetDataType()).Size(); size > 0 {
		if want := NumElements(t.GetDims()) * int64(size); want != length {
			return fmt.Errorf("tensor %q: %w: %d bytes for %d elements of %d bytes", t.GetName(), ErrExternalData, length, want/int64(size), size)
		}
	}
	raw := make([]byte, length)
	if _, err := f.ReadAt(raw, offset); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return fmt.Errorf("tensor %q: read %s: %w", t.GetName(), location, err)
	}
	t.RawData = raw
	t.ExternalData = nil
	t.DataLocation = nil
	return nil
}

// walkTensors calls fn for every tensor of g: initializers, sparse
// initializers and node attribute tensors, in subgraphs too.
func walkTensors(g *onnxpb.GraphProto, fn func(*onnxpb.TensorProto) error) error {
	if g == nil {
		return nil
	}
	for _, t := range g.GetInitializer() {
		if err := fn(t); err != nil {
			return err
		}
	}
	for _, s := range g.GetSparseInitializer() {
		for _, t := range []*onnxpb.TensorProto{s.GetValues(), s.GetIndices()} {
			if t == nil {
				continue
			}
			if err := fn(t); err != nil {
				return err
			}
		}
	}
	for _, n := range g.GetNode() {
		for _, a := range n.GetAttribute() {
			ts := a.GetTensors()
			if a.GetT() != nil {
				ts = append([]*onnxpb.TensorProto{a.GetT()}, ts...)
			}
			for _, t := range ts {
				if err := fn(t); err != nil {
					return err
				}
			}
			gs := a.GetGraphs()
			if a.GetG() != nil {
				gs = append([]*onnxpb.GraphProto{a.GetG()}, gs...)
			}
			for _, sub := range gs {
				if err := walkTensors(sub, fn); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// SaveOptions says how Save lays a model out on disk.
type SaveOptions struct {
	// ExternalDataThreshold moves every main-graph initializer whose raw
	// data has at least this many bytes into an external data file beside
	// the model. Zero keeps all weights inside the model file.
	ExternalDataThreshold int
	// ExternalDataName names the external data file, relative to the
	// model's directory; empty means the model's file name plus "_data"
	// ("model.onnx_data"), as the Hub's ONNX repos name it.
	ExternalDataName string
	// MaxExternalFileSize starts a new external data file once the current
	// one would pass this many bytes; files after the first take the
	// suffixes "_1", "_2"... ("model.onnx_data_1"), the names transformers.js
	// looks for. Zero means one file of any size.
	MaxExternalFileSize int64
}

// Save writes m to path, moving large initializers into external data files
// as opts says. The files are written next to each other and renamed into
// place, so a reader never sees half a model. Save leaves m as it was, but
// changes it during the call: m must not be used concurrently.
func Save(m *onnxpb.ModelProto, path string, opts SaveOptions) (err error) {
	if m.GetGraph() == nil {
		return fmt.Errorf("save %s: %w: no graph", path, ErrNotONNX)
	}
	if opts.ExternalDataName == "" {
		opts.ExternalDataName = filepath.Base(path) + "_data"
	}
	if !filepath.IsLocal(opts.ExternalDataName) {
		return fmt.Errorf("save %s: %w: external data name %q", path, ErrExternalData, opts.ExternalDataName)
	}
	for _, t := range m.GetGraph().GetInitializer() {
		if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			return fmt.Errorf("save %s: tensor %q: %w: data not loaded (use Load)", path, t.GetName(), ErrExternalData)
		}
	}
	dir := filepath.Dir(path)
	var written []string // temporary files, renamed at the end
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(p + ".tmp")
			}
		}
	}()
	if opts.ExternalDataThreshold > 0 {
		restore, files, err := writeExternal(m.GetGraph(), dir, opts)
		defer restore()
		written = append(written, files...)
		if err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
	}
	if size := proto.Size(m); size > maxProtoSize {
		return fmt.Errorf("save %s: %w: %d bytes", path, ErrTooLarge, size)
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	written = append(written, path)
	if err := os.WriteFile(path+".tmp", data, 0o644); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	for _, p := range written {
		if err := os.Rename(p+".tmp", p); err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
	}
	return nil
}

// writeExternal writes the large initializers of g to external data files
// (as NAME.tmp, for the caller to rename) and points the tensors at them.
// restore puts the tensors back as they were.
func writeExternal(g *onnxpb.GraphProto, dir string, opts SaveOptions) (restore func(), files []string, err error) {
	type saved struct {
		t   *onnxpb.TensorProto
		raw []byte
	}
	var undo []saved
	restore = func() {
		for _, s := range undo {
			s.t.RawData = s.raw
			s.t.ExternalData = nil
			s.t.DataLocation = nil
		}
	}
	var (
		f      *os.File
		name   string
		offset int64
	)
	closeFile := func() error {
		if f == nil {
			return nil
		}
		err := f.Close()
		f = nil
		return err
	}
	defer func() { err = errors.Join(err, closeFile()) }()
	for _, t := range g.GetInitializer() {
		raw := t.GetRawData()
		if len(raw) < opts.ExternalDataThreshold {
			continue
		}
		start := (offset + externalAlign - 1) / externalAlign * externalAlign
		full := opts.MaxExternalFileSize > 0 && offset > 0 && start+int64(len(raw)) > opts.MaxExternalFileSize
		if f == nil || full {
			if err := closeFile(); err != nil {
				return restore, files, err
			}
			name = opts.ExternalDataName
			if len(files) > 0 {
				name += "_" + strconv.Itoa(len(files))
			}
			p := filepath.Join(dir, name)
			if f, err = os.Create(p + ".tmp"); err != nil {
				return restore, files, err
			}
			files = append(files, p)
			offset, start = 0, 0
		}
		if _, err := f.WriteAt(raw, start); err != nil {
			return restore, files, fmt.Errorf("write %s: %w", name, err)
		}
		undo = append(undo, saved{t, raw})
		t.RawData = nil
		t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		t.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: ptr("location"), Value: ptr(name)},
			{Key: ptr("offset"), Value: ptr(strconv.FormatInt(start, 10))},
			{Key: ptr("length"), Value: ptr(strconv.Itoa(len(raw)))},
		}
		offset = start + int64(len(raw))
	}
	return restore, files, nil
}
