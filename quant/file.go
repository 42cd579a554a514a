package quant

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"runner/onnx"
	"runner/onnx/onnxpb"
)

// inlineLimit is the largest model Save writes as one file; above it the
// weights go to external data, since protobuf cannot read a message of
// 2 GiB or more. The margin leaves room for the graph itself.
const inlineLimit = 1<<31 - 64<<20

// maxExternalFile bounds each external data file, as ONNX Runtime Web and
// transformers.js expect (model.onnx_data, model.onnx_data_1...).
const maxExternalFile = 1<<31 - 1

// externalThreshold is the smallest initializer moved to external data.
const externalThreshold = 1024

// QuantizeFile quantises the ONNX model at src (with its external data)
// into the variant opts names and writes it to dst. The result keeps the
// source's opsets, metadata and graph interface; its weights go to an
// external data file (dst + "_data") only when it would pass protobuf's
// 2 GiB limit. dst may not be src.
func QuantizeFile(ctx context.Context, src, dst string, opts Options) (*Report, error) {
	if same, err := samePath(src, dst); err != nil {
		return nil, err
	} else if same {
		return nil, fmt.Errorf("%w: %s would overwrite its source", ErrBadOptions, dst)
	}
	m, err := onnx.Load(src)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep, err := Quantize(m, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if rep.ExternalData, err = save(m, dst, inlineLimit); err != nil {
		return nil, err
	}
	rep.Path = dst
	return rep, nil
}

// save writes m to dst, with external data when it is larger than limit
// bytes, and reports the external data files written.
func save(m *onnxpb.ModelProto, dst string, limit int) ([]string, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("save %s: %w", dst, err)
	}
	opts := onnx.SaveOptions{}
	external := proto.Size(m) > limit
	if external {
		opts.ExternalDataThreshold = externalThreshold
		opts.MaxExternalFileSize = maxExternalFile
	}
	// Data files of an earlier run under this name would be misleading.
	stale, _ := filepath.Glob(dst + "_data*")
	for _, p := range stale {
		if err := os.Remove(p); err != nil {
			return nil, fmt.Errorf("save %s: %w", dst, err)
		}
	}
	if err := onnx.Save(m, dst, opts); err != nil {
		return nil, err
	}
	if !external {
		return nil, nil
	}
	files, _ := filepath.Glob(dst + "_data*")
	return files, nil
}

// samePath reports whether a and b name the same file (b need not exist).
func samePath(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, fmt.Errorf("read model: %w", err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, nil
	}
	return os.SameFile(sa, sb), nil
}
