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
	return "Show a model's graphs: inputs, outputs, opset, metadata, weights"
}

func (c *showCmd) Run(ctx context.Context, args []string) error {
	fs := c.app.flagSet(c, "MODEL.onnx|DIR")
	fs.BoolVar(&c.asJSON, "json", false, "print JSON")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "also list every operator and metadata entry")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{fmt.Errorf("show takes one model file or directory")}
	}
	graphs, err := graphsAt(fs.Arg(0))
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
