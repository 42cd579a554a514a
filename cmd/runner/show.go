package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"runner/modelstore"
	"runner/onnx"
)

// showCmd prints what a model is: its task, files and the inputs and outputs
// of its ONNX graphs.
type showCmd struct {
	app     *app
	asJSON  bool
	verbose bool
}

func (c *showCmd) Name() string { return "show" }
func (c *showCmd) Synopsis() string {
	return "Show a model (task, variants, context, license, inputs and outputs) or an ONNX graph"
}

func (c *showCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "MODEL-REFERENCE|MODEL.onnx|DIR")
	fs.BoolVar(&c.asJSON, "json", false, "print JSON")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "also list every graph, operator and metadata entry")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{fmt.Errorf("show takes one model reference, model file or directory")}
	}
	arg := fs.Arg(0)
	if graphMode(arg) {
		return c.showGraphs(arg)
	}
	return c.showModel(ctx, arg)
}

// graphMode reports whether arg names ONNX files rather than a model: an
// .onnx file, or a directory that is not laid out like a repo (no
// config.json).
func graphMode(arg string) bool {
	st, err := os.Stat(arg)
	switch {
	case err != nil:
		return false
	case !st.IsDir():
		return true
	}
	_, err = os.Stat(filepath.Join(arg, "config.json"))
	return err != nil
}

func (c *showCmd) showGraphs(path string) error {
	graphs, err := graphsAt(path)
	if err != nil {
		return err
	}
	if c.asJSON {
		enc := json.NewEncoder(c.app.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(graphs)
	}
	for i, g := range graphs {
		if i > 0 {
			fmt.Fprintln(c.app.stdout)
		}
		printGraph(c.app.stdout, g, c.verbose)
	}
	return nil
}

// modelView is what `show --json` prints for a model reference.
type modelView struct {
	*modelstore.ModelInfo
	// Main is the main graph's interface.
	Main *graphInfo `json:"main_graph,omitempty"`
}

// showModel describes a model in the cache (or a local repo) through the
// store: task, architecture, variants with their sizes, context length,
// license, and the main graph's inputs and outputs.
func (c *showCmd) showModel(ctx context.Context, ref string) error {
	store, err := c.app.newStore()
	if err != nil {
		return err
	}
	info, err := store.Show(ctx, ref)
	if err != nil {
		return err
	}
	view := modelView{ModelInfo: info}
	if g := info.Graph(); g != "" {
		graphs, err := graphsAt(g)
		if err != nil {
			return err
		}
		view.Main = &graphs[0]
	}
	if c.asJSON {
		enc := json.NewEncoder(c.app.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(view)
	}
	printModel(c.app.stdout, view)
	if c.verbose {
		for _, g := range info.Graphs {
			graphs, err := graphsAt(g)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.app.stdout)
			printGraph(c.app.stdout, graphs[0], true)
		}
	}
	return nil
}

func printModel(w io.Writer, v modelView) {
	info := v.ModelInfo
	fmt.Fprintln(w, info.Name)
	row := func(k, val string) {
		if val != "" {
			fmt.Fprintf(w, "  %-14s %s\n", k, val)
		}
	}
	row("task", strings.Join(info.Tasks, ", "))
	row("architecture", info.Architecture)
	if info.ContextLength > 0 {
		row("context", fmt.Sprintf("%d tokens", info.ContextLength))
	}
	row("license", info.License)
	row("parameters", info.Details.ParameterSize)
	variant := string(info.Variant)
	if info.VariantChosen {
		variant += " (chosen for this device)"
	}
	row("variant", variant)
	if len(info.Variants) > 0 {
		fmt.Fprintln(w, "  variants")
		for _, vi := range info.Variants {
			state := ""
			switch {
			case vi.Variant == info.Variant:
				state = "in use"
			case vi.Pulled:
				state = "pulled"
			}
			fmt.Fprintf(w, "    %-7s %10s  %s\n", vi.Variant, humanBytes(vi.Size), state)
		}
	}
	if v.Main == nil {
		return
	}
	rel := v.Main.Path
	if r, err := filepath.Rel(info.Dir, rel); err == nil {
		rel = r
	}
	fmt.Fprintf(w, "  inputs (%s)\n", filepath.ToSlash(rel))
	for _, in := range v.Main.Inputs {
		fmt.Fprintf(w, "    %s\n", in)
	}
	fmt.Fprintln(w, "  outputs")
	for _, out := range v.Main.Outputs {
		fmt.Fprintf(w, "    %s\n", out)
	}
}

// graphInfo is one ONNX file's interface, as `show` prints it.
type graphInfo struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	*onnx.Info
}

// graphsAt reads one .onnx file, or every .onnx file in a repo directory.
func graphsAt(path string) ([]graphInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var files []string
	if st.IsDir() {
		err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".onnx") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no .onnx file in %s", path)
		}
		sort.Strings(files)
	} else {
		files = []string{path}
	}
	var out []graphInfo
	for _, f := range files {
		info, err := onnx.ReadInfo(f)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		out = append(out, graphInfo{Path: f, Size: st.Size(), Info: info})
	}
	return out, nil
}

func printGraph(w io.Writer, g graphInfo, verbose bool) {
	fmt.Fprintf(w, "%s (%s)\n", g.Path, humanBytes(g.Size))
	opsets := make([]string, len(g.Opsets))
	for i, o := range g.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		opsets[i] = fmt.Sprintf("%s %d", d, o.Version)
	}
	fmt.Fprintf(w, "  ir version  %d; opsets %s\n", g.IRVersion, strings.Join(opsets, ", "))
	if g.ProducerName != "" {
		fmt.Fprintf(w, "  producer    %s %s\n", g.ProducerName, g.ProducerVersion)
	}
	fmt.Fprintln(w, "  inputs")
	for _, v := range g.Inputs {
		fmt.Fprintf(w, "    %s\n", v)
	}
	fmt.Fprintln(w, "  outputs")
	for _, v := range g.Outputs {
		fmt.Fprintf(w, "    %s\n", v)
	}
	ws := g.Weights
	ext := ""
	if ws.External {
		ext = ", external data"
	}
	fmt.Fprintf(w, "  weights     %d tensors, %s parameters, %s%s\n", ws.Count, humanCount(ws.Params), weightTypes(ws), ext)
	nodes := 0
	for _, n := range g.Ops {
		nodes += n
	}
	fmt.Fprintf(w, "  graph       %d nodes, %d operator types\n", nodes, len(g.Ops))
	if verbose {
		for _, op := range g.OpNames() {
			fmt.Fprintf(w, "    %-36s %d\n", op, g.Ops[op])
		}
	}
	if len(g.Metadata) > 0 {
		fmt.Fprintln(w, "  metadata")
		for _, m := range g.Metadata {
			v := m.Value
			if len(v) > 80 && !verbose {
				v = v[:77] + "..."
			}
			fmt.Fprintf(w, "    %s: %s\n", m.Key, v)
		}
	}
}

func weightTypes(ws onnx.WeightStats) string {
	var types []string
	for t, n := range ws.ByType {
		if n > 0 {
			types = append(types, fmt.Sprintf("%s %.0f%%", t, 100*float64(n)/float64(max(ws.Params, 1))))
		}
	}
	sort.Strings(types)
	if len(types) == 0 {
		return "none"
	}
	return strings.Join(types, " ")
}

// humanCount formats a parameter count as 22.7M or 135M.
func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
