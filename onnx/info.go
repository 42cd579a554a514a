// Package onnx reads ONNX model files without ONNX Runtime.
//
// # Reading a model's interface
//
// [ReadInfo] walks the protobuf of a .onnx file in place: it decodes the
// graph's inputs and outputs (with symbolic dimension names such as
// "batch_size"), the opsets, the metadata and a census of operators and
// weights, and skips over weight data without reading it, so a model of
// several gigabytes costs a few milliseconds and no memory.
package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// ElemType is an ONNX tensor element type (TensorProto.DataType).
type ElemType int32

// The element types runner handles; the numbers are ONNX's.
const (
	Undefined ElemType = 0
	Float     ElemType = 1
	Uint8     ElemType = 2
	Int8      ElemType = 3
	Uint16    ElemType = 4
	Int16     ElemType = 5
	Int32     ElemType = 6
	Int64     ElemType = 7
	String    ElemType = 8
	Bool      ElemType = 9
	Float16   ElemType = 10
	Double    ElemType = 11
	Uint32    ElemType = 12
	Uint64    ElemType = 13
	BFloat16  ElemType = 16
)

var elemTypeNames = map[ElemType]string{
	Undefined: "undefined", Float: "float32", Uint8: "uint8", Int8: "int8",
	Uint16: "uint16", Int16: "int16", Int32: "int32", Int64: "int64",
	String: "string", Bool: "bool", Float16: "float16", Double: "float64",
	Uint32: "uint32", Uint64: "uint64", BFloat16: "bfloat16",
}

func (t ElemType) String() string {
	if s, ok := elemTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", int32(t))
}

// Size returns the size in bytes of one element, or 0 when not fixed.
func (t ElemType) Size() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16, BFloat16:
		return 2
	case Float, Int32, Uint32:
		return 4
	case Int64, Uint64, Double:
		return 8
	}
	return 0
}

// Dim is one dimension of a tensor shape: a fixed size, or a symbolic name
// (Param) when the size is chosen at run time. Neither set means unknown.
type Dim struct {
	Value int64
	Param string
}

// Fixed reports whether the dimension has a known size.
func (d Dim) Fixed() bool { return d.Param == "" && d.Value > 0 }

func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value > 0:
		return fmt.Sprint(d.Value)
	}
	return "?"
}

// ValueInfo describes a graph input or output.
type ValueInfo struct {
	Name string
	// Kind is "tensor", "sequence", "map", "optional" or "sparse_tensor".
	Kind  string
	Elem  ElemType
	Shape []Dim
	// HasShape is false when the model gives no shape at all (any rank).
	HasShape bool
}

func (v ValueInfo) String() string {
	if v.Kind != "tensor" {
		return fmt.Sprintf("%s: %s", v.Name, v.Kind)
	}
	if !v.HasShape {
		return fmt.Sprintf("%s: %s[...]", v.Name, v.Elem)
	}
	dims := make([]string, len(v.Shape))
	for i, d := range v.Shape {
		dims[i] = d.String()
	}
	return fmt.Sprintf("%s: %s[%s]", v.Name, v.Elem, strings.Join(dims, ","))
}

// Opset is an operator set the model imports; Domain "" is the default ONNX one.
type Opset struct {
	Domain  string
	Version int64
}

// Info is what ReadInfo learns of a model.
type Info struct {
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	GraphName       string
	Opsets          []Opset
	// Metadata is the model's metadata_props, in file order.
	Metadata []MetadataEntry
	Inputs   []ValueInfo
	Outputs  []ValueInfo
	// Ops counts graph nodes by operator ("MatMul", "com.microsoft.MatMulNBits").
	Ops map[string]int
	// Weights summarises the initializers.
	Weights WeightStats
}

// MetadataEntry is one key/value pair of the model's metadata_props.
type MetadataEntry struct{ Key, Value string }

// WeightStats summarises a model's initializers.
type WeightStats struct {
	Count int
	// Params is the total number of weight elements.
	Params int64
	// Bytes is the total size of the weights when stored densely.
	Bytes int64
	// ByType counts elements per element type.
	ByType map[ElemType]int64
	// External reports whether any weight lives in an external data file.
	External bool
}

// Opset returns the version of the default ONNX operator set, or 0.
func (i *Info) Opset() int64 {
	for _, o := range i.Opsets {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			return o.Version
		}
	}
	return 0
}

// Input returns the input with the given name.
func (i *Info) Input(name string) (ValueInfo, bool) { return find(i.Inputs, name) }

// Output returns the output with the given name.
func (i *Info) Output(name string) (ValueInfo, bool) { return find(i.Outputs, name) }

func find(vs []ValueInfo, name string) (ValueInfo, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v, true
		}
	}
	return ValueInfo{}, false
}

// OpNames returns the operators used, sorted.
func (i *Info) OpNames() []string {
	names := make([]string, 0, len(i.Ops))
	for k := range i.Ops {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ErrNotONNX is returned when a file is not a valid ONNX model.
var ErrNotONNX = errors.New("not a valid ONNX model")

// ReadInfo reads the interface and summary of the ONNX model at path.
func ReadInfo(path string) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	info, err := Decode(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// Decode reads a model's Info from r, which holds size bytes of a
// serialised ModelProto.
func Decode(r io.ReaderAt, size int64) (*Info, error) {
	if size == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrNotONNX)
	}
	w := newWire(r, size)
	info := &Info{Ops: map[string]int{}, Weights: WeightStats{ByType: map[ElemType]int64{}}}
	sawGraph := false
	err := w.fields(0, size, func(num int32, f field) error {
		var err error
		switch num {
		case 1:
			info.IRVersion = int64(f.varint)
		case 2:
			info.ProducerName, err = w.str(f)
		case 3:
			info.ProducerVersion, err = w.str(f)
		case 4:
			info.Domain, err = w.str(f)
		case 5:
			info.ModelVersion = int64(f.varint)
		case 6:
			info.DocString, err = w.str(f)
		case 7:
			sawGraph = true
			err = w.graph(f, info)
		case 8:
			var o Opset
			err = w.fields(f.off, f.off+f.n, func(num int32, g field) error {
				var err error
				switch num {
				case 1:
					o.Domain, err = w.str(g)
				case 2:
					o.Version = int64(g.varint)
				}
				return err
			})
			info.Opsets = append(info.Opsets, o)
		case 14:
			var e MetadataEntry
			err = w.fields(f.off, f.off+f.n, func(num int32, g field) error {
				var err error
				switch num {
				case 1:
					e.Key, err = w.str(g)
				case 2:
					e.Value, err = w.str(g)
				}
				return err
			})
			info.Metadata = append(info.Metadata, e)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotONNX, err)
	}
	if !sawGraph || info.IRVersion == 0 {
		return nil, fmt.Errorf("%w: no graph or IR version", ErrNotONNX)
	}
	return info, nil
}

func (w *wire) graph(g field, info *Info) error {
	initializers := map[string]bool{}
	var inputs []ValueInfo
	err := w.fields(g.off, g.off+g.n, func(num int32, f field) error {
		switch num {
		case 1: // node
			return w.node(f, info)
		case 2:
			name, err := w.str(f)
			info.GraphName = name
			return err
		case 5: // initializer
			name, err := w.tensor(f, &info.Weights)
			initializers[name] = true
			return err
		case 11, 12: // input, output
			v, err := w.valueInfo(f)
			if err != nil {
				return err
			}
			if num == 11 {
				inputs = append(inputs, v)
			} else {
				info.Outputs = append(info.Outputs, v)
			}
		}
		return nil
	})
	// Before IR 4, initializers were also listed as inputs; they are not
	// inputs a caller must feed.
	for _, v := range inputs {
		if !initializers[v.Name] {
			info.Inputs = append(info.Inputs, v)
		}
	}
	return err
}

func (w *wire) node(f field, info *Info) error {
	var op, domain string
	err := w.fields(f.off, f.off+f.n, func(num int32, g field) error {
		var err error
		switch num {
		case 4:
			op, err = w.str(g)
		case 7:
			domain, err = w.str(g)
		}
		return err
	})
	if domain != "" && domain != "ai.onnx" {
		op = domain + "." + op
	}
	info.Ops[op]++
	return err
}

// tensor reads an initializer's name, dims and type, skipping its data.
func (w *wire) tensor(f field, stats *WeightStats) (string, error) {
	var name string
	var dtype ElemType
	elems := int64(1)
	err := w.fields(f.off, f.off+f.n, func(num int32, g field) error {
		var err error
		switch num {
		case 1: // dims, packed or not
			if g.wire == wireBytes {
				err = w.packedVarints(g, func(v uint64) { elems *= int64(v) })
			} else {
				elems *= int64(g.varint)
			}
		case 2:
			dtype = ElemType(g.varint)
		case 8:
			name, err = w.str(g)
		case 14:
			if g.varint == 1 {
				stats.External = true
			}
		}
		return err
	})
	stats.Count++
	stats.Params += elems
	stats.Bytes += elems * int64(dtype.Size())
	stats.ByType[dtype] += elems
	return name, err
}

func (w *wire) valueInfo(f field) (ValueInfo, error) {
	v := ValueInfo{Kind: "tensor"}
	err := w.fields(f.off, f.off+f.n, func(num int32, g field) error {
		var err error
		switch num {
		case 1:
			v.Name, err = w.str(g)
		case 2:
			err = w.typeProto(g, &v)
		}
		return err
	})
	return v, err
}

func (w *wire) typeProto(f field, v *ValueInfo) error {
	return w.fields(f.off, f.off+f.n, func(num int32, g field) error {
		switch num {
		case 1:
			v.Kind = "tensor"
			return w.tensorType(g, v)
		case 4:
			v.Kind = "sequence"
		case 5:
			v.Kind = "map"
		case 8:
			v.Kind = "sparse_tensor"
			return w.tensorType(g, v)
		case 9:
			v.Kind = "optional"
		}
		return nil
	})
}

func (w *wire) tensorType(f field, v *ValueInfo) error {
	return w.fields(f.off, f.off+f.n, func(num int32, g field) error {
		switch num {
		case 1:
			v.Elem = ElemType(g.varint)
		case 2:
			v.HasShape = true
			return w.fields(g.off, g.off+g.n, func(num int32, d field) error {
				if num != 1 {
					return nil
				}
				var dim Dim
				err := w.fields(d.off, d.off+d.n, func(num int32, e field) error {
					var err error
					switch num {
					case 1:
						dim.Value = int64(e.varint)
					case 2:
						dim.Param, err = w.str(e)
					}
					return err
				})
				v.Shape = append(v.Shape, dim)
				return err
			})
		}
		return nil
	})
}
