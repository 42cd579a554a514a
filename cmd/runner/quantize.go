package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"runner/modelstore"
	"runner/quant"
	"runner/quant/validate"
)

// quantizeCmd makes a quantised variant of a model on this machine.
type quantizeCmd struct {
	app    *app
	engine engineFlags
}

func (c *quantizeCmd) Name() string { return "quantize" }
func (c *quantizeCmd) Synopsis() string {
	return "Make a quantised variant (q8, int8, uint8, q4, fp16) of a model"
}

// quantizeFlags are the verb's flags.
type quantizeFlags struct {
	variant       string
	blockSize     int
	exclude       []string
	asymmetric    bool
	accuracyLevel int
	head          bool
	embeddings    bool
	perChannel    bool
	reduceRange   bool
	noGather      bool
	keepFloat32   []string
	noValidate    bool
	asJSON        bool
	verbose       bool
}

// quantizeResult is what the verb did to one graph (--json prints a list).
type quantizeResult struct {
	Source     string           `json:"source"`
	Path       string           `json:"path"`
	Size       int64            `json:"size"`
	SourceSize int64            `json:"source_size"`
	Report     *quant.Report    `json:"report"`
	Validation *validate.Result `json:"validation,omitempty"`
}

func (c *quantizeCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "[flags] SOURCE DEST\n\n"+
		"SOURCE is a model reference (ORG/NAME[@REVISION] or a local repo directory; its float32 graphs\n"+
		"are quantised, pulled first if need be) or an .onnx file. DEST is an .onnx file, or a directory:\n"+
		"the variant is written there as transformers.js names it (onnx/model_quantized.onnx for q8,\n"+
		"onnx/model_q4.onnx for q4...), beside the repo's other files, copied if DEST is another directory.")
	var f quantizeFlags
	fs.StringVarP(&f.variant, "type", "t", "q8", "variant to make: q8, int8, uint8, q4 or fp16")
	fs.IntVar(&f.blockSize, "block-size", 32, "q4: weights per scale (16, 32, 64 or 128)")
	fs.StringArrayVar(&f.exclude, "exclude", nil, "leave this node as it is (its name, or a pattern such as '/lm_head/*'; repeatable)")
	fs.BoolVar(&f.asymmetric, "asymmetric", false, "q4: give each block a zero point")
	fs.IntVar(&f.accuracyLevel, "accuracy-level", 0, "q4: MatMulNBits accuracy_level (4 computes in int8 on CPUs)")
	fs.BoolVar(&f.head, "head", false, "q4: quantise the LM head too")
	fs.BoolVar(&f.embeddings, "embeddings", false, "q4: quantise embedding tables (to 8 bits)")
	fs.BoolVar(&f.perChannel, "per-channel", true, "8-bit: a scale per output channel (default off for decoders, as transformers.js does)")
	fs.BoolVar(&f.reduceRange, "reduce-range", true, "8-bit: 7-bit weights, for CPUs without VNNI (default as --per-channel)")
	fs.BoolVar(&f.noGather, "no-embeddings", false, "8-bit: keep embedding tables in float32")
	fs.StringArrayVar(&f.keepFloat32, "keep-fp32", nil, "fp16: also run this operator type in float32 (repeatable)")
	fs.BoolVar(&f.noValidate, "no-validate", false, "skip running the result against the source in ONNX Runtime")
	fs.BoolVar(&f.asJSON, "json", false, "print the reports as JSON")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "list every node left as it was")
	c.engine.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return usageError{fmt.Errorf("quantize takes a source and a destination")}
	}
	v, ok := quant.Parse(f.variant)
	if !ok || !slices.Contains(quant.Producible(), v) {
		return usageError{fmt.Errorf("--type %q: runner makes %v", f.variant, quant.Producible())}
	}
	src, err := c.source(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	opts := quant.DefaultOptions(v, src.modelType)
	opts.BlockSize, opts.Exclude, opts.Asymmetric, opts.AccuracyLevel = f.blockSize, f.exclude, f.asymmetric, f.accuracyLevel
	opts.Head, opts.Embeddings, opts.SkipGather, opts.KeepFloat32 = f.head, f.embeddings, f.noGather, f.keepFloat32
	if fs.Changed("per-channel") {
		opts.PerChannel = f.perChannel
		if !fs.Changed("reduce-range") {
			opts.ReduceRange = f.perChannel
		}
	}
	if fs.Changed("reduce-range") {
		opts.ReduceRange = f.reduceRange
	}
	plan, err := src.plan(fs.Arg(1), v)
	if err != nil {
		return err
	}
	var results []quantizeResult
	for _, p := range plan {
		if !f.asJSON {
			fmt.Fprintf(c.app.stdout, "%s → %s\n", p.src, p.dst)
		}
		rep, err := quant.QuantizeFile(ctx, p.src, p.dst, opts)
		if err != nil {
			return err
		}
		r := quantizeResult{Source: p.src, Path: p.dst, Report: rep, Size: filesSize(append([]string{p.dst}, rep.ExternalData...)), SourceSize: graphSize(p.src)}
		if !f.asJSON {
			rep.Write(c.app.stdout, f.verbose)
			fmt.Fprintf(c.app.stdout, "file: %s → %s (%.2fx)\n", humanBytes(r.SourceSize), humanBytes(r.Size), float64(r.Size)/float64(max(r.SourceSize, 1)))
		}
		results = append(results, r)
	}
	if dest := fs.Arg(1); src.repo != "" && !strings.HasSuffix(dest, ".onnx") {
		if err := copySupportFiles(src, dest); err != nil {
			return err
		}
	}
	if !f.noValidate {
		if err := c.validate(ctx, src, results, f.asJSON); err != nil {
			return err
		}
	}
	if f.asJSON {
		enc := json.NewEncoder(c.app.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	return nil
}

// quantizeSource is what a SOURCE argument names.
type quantizeSource struct {
	// repo is the repository directory ("" for a lone .onnx file).
	repo string
	// graphs are the float32 graphs to quantise, absolute paths.
	graphs []string
	// files are the repo's files (slash paths), for copying.
	files     []string
	modelType string
	vocab     int
}

// source resolves SOURCE: an .onnx file, or a model reference through the
// store (pulling its float32 variant when it is not in the cache).
func (c *quantizeCmd) source(ctx context.Context, arg string) (*quantizeSource, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		if !strings.HasSuffix(arg, ".onnx") {
			return nil, usageError{fmt.Errorf("%s is not an .onnx file", arg)}
		}
		abs, err := filepath.Abs(arg)
		if err != nil {
			return nil, err
		}
		s := &quantizeSource{graphs: []string{abs}}
		// A graph in a repo's onnx/ folder: the repo's config says the model type.
		for _, dir := range []string{filepath.Dir(abs), filepath.Dir(filepath.Dir(abs))} {
			if s.readConfig(dir) {
				break
			}
		}
		return s, nil
	}
	ref, err := modelstore.ParseRef(arg)
	if err != nil {
		return nil, usageError{err}
	}
	if ref.Variant == "" {
		ref = ref.WithVariant(quant.FP32)
	}
	store, err := c.app.newStore()
	if err != nil {
		return nil, err
	}
	m, err := store.Resolve(ctx, ref.String(), modelstore.ResolveOptions{Pull: true})
	if err != nil {
		return nil, err
	}
	if len(m.Graphs) == 0 {
		return nil, fmt.Errorf("%s has no ONNX graph", m.Name)
	}
	s := &quantizeSource{repo: m.Dir, graphs: m.Graphs, files: m.Files}
	s.readConfig(m.ConfigDir)
	return s, nil
}

// readConfig reads model_type and vocab_size from dir's config.json.
func (s *quantizeSource) readConfig(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return false
	}
	var cfg struct {
		ModelType string `json:"model_type"`
		VocabSize int    `json:"vocab_size"`
	}
	if json.Unmarshal(data, &cfg) != nil {
		return false
	}
	s.modelType, s.vocab = cfg.ModelType, cfg.VocabSize
	return true
}

// planned is one graph to quantise.
type planned struct{ src, dst string }

// plan decides where each graph's variant goes.
func (s *quantizeSource) plan(dest string, v quant.Variant) ([]planned, error) {
	name := func(graph string) string {
		base, _, _ := quant.SplitFileName(filepath.Base(graph))
		return v.FileName(base)
	}
	if strings.HasSuffix(dest, ".onnx") {
		if len(s.graphs) != 1 {
			return nil, usageError{fmt.Errorf("the model has %d graphs; give a directory, not %s", len(s.graphs), dest)}
		}
		return []planned{{s.graphs[0], dest}}, nil
	}
	var out []planned
	for _, g := range s.graphs {
		rel := name(g)
		if s.repo != "" {
			r, err := filepath.Rel(s.repo, g)
			if err != nil {
				return nil, err
			}
			rel = filepath.Join(filepath.Dir(r), name(g))
		}
		out = append(out, planned{g, filepath.Join(dest, rel)})
	}
	return out, nil
}

// copySupportFiles copies the repo's other files (config, tokenizer...)
// into dest when the variant went to another directory, so that dest is a
// model of its own; files already there are kept.
func copySupportFiles(s *quantizeSource, dest string) error {
	if same, _ := sameDir(dest, s.repo); same {
		return nil
	}
	for _, f := range s.files {
		if strings.HasSuffix(f, ".onnx") || strings.Contains(f, ".onnx_data") {
			continue
		}
		to := filepath.Join(dest, filepath.FromSlash(f))
		if _, err := os.Stat(to); err == nil {
			continue
		}
		if err := copyFile(filepath.Join(s.repo, filepath.FromSlash(f)), to); err != nil {
			return err
		}
	}
	return nil
}

func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

func copyFile(from, to string) (err error) {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	_, err = io.Copy(out, in)
	return err
}

// minCosine is the cosine to the source below which validation warns.
const minCosine = 0.98

// validate runs each result against its source in ONNX Runtime.
func (c *quantizeCmd) validate(ctx context.Context, src *quantizeSource, results []quantizeResult, quiet bool) error {
	rt, err := c.app.openRuntime(&c.engine)
	if err != nil {
		return fmt.Errorf("validate in ONNX Runtime (--no-validate skips it): %w", err)
	}
	defer rt.Close()
	for i := range results {
		r := &results[i]
		res, err := validate.Compare(ctx, rt, r.Source, r.Path, validate.Options{Vocab: src.vocab})
		if err != nil {
			return fmt.Errorf("validate %s: %w", r.Path, err)
		}
		r.Validation = res
		if quiet {
			continue
		}
		fmt.Fprintf(c.app.stdout, "validated %s on sample inputs in ONNX Runtime %s:\n", filepath.Base(r.Path), rt.Version())
		for _, o := range res.Outputs {
			note := ""
			if o.Cosine < minCosine {
				note = "  (far from the source: consider --exclude or another type)"
			}
			fmt.Fprintf(c.app.stdout, "  %-28s cosine %.5f, max difference %.4g%s\n", o.Name, o.Cosine, o.MaxAbsDiff, note)
		}
		for _, o := range res.Outputs {
			if o.NaN > 0 {
				return fmt.Errorf("validate %s: output %s has %d NaN or infinite values where the source has none", r.Path, o.Name, o.NaN)
			}
		}
	}
	return nil
}

// graphSize returns a graph's size with its external data files.
func graphSize(path string) int64 {
	files, _ := filepath.Glob(path + "_data*")
	return filesSize(append([]string{path}, files...))
}

func filesSize(paths []string) int64 {
	var n int64
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}
