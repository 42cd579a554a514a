package modelstore

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"runner/quant"
)

// supportFiles are the top-level files a model needs besides its graphs:
// configuration, tokenizer, processor, sentence-transformers and chat
// template files.
var supportFiles = map[string]bool{
	"config.json":                       true,
	"generation_config.json":            true,
	"tokenizer.json":                    true,
	"tokenizer_config.json":             true,
	"special_tokens_map.json":           true,
	"added_tokens.json":                 true,
	"vocab.txt":                         true,
	"vocab.json":                        true,
	"merges.txt":                        true,
	"tokenizer.model":                   true,
	"spiece.model":                      true,
	"sentencepiece.bpe.model":           true,
	"preprocessor_config.json":          true,
	"modules.json":                      true,
	"sentence_bert_config.json":         true,
	"config_sentence_transformers.json": true,
	"genai_config.json":                 true,
	"chat_template.jinja":               true,
	"chat_template.json":                true,
}

// smallDocLimit is the largest README or LICENSE pulled along.
const smallDocLimit = 1 << 20

// isSupportFile reports whether a repo file belongs with every variant.
func isSupportFile(f RepoFile) bool {
	if supportFiles[f.Path] {
		return true
	}
	dir, name := path.Split(f.Path)
	if name == "config.json" && strings.Count(dir, "/") == 1 && strings.HasSuffix(dir, "_Pooling/") {
		return true
	}
	if dir == "" && f.Size <= smallDocLimit {
		upper := strings.ToUpper(name)
		return upper == "README.MD" || strings.HasPrefix(upper, "LICENSE") || strings.HasPrefix(upper, "LICENCE")
	}
	return false
}

// graphSet is what a repository offers as ONNX graphs: for each variant the
// graph files (one per graph of the model), in the folder transformers.js
// reads (onnx/, else the top level).
type graphSet struct {
	byVariant map[quant.Variant][]string
	// available lists the complete variants in quant.Variants order, or
	// for onnxruntime-genai folders, best first for a CPU.
	available []quant.Variant
	// folders, for repositories laid out as onnxruntime-genai does (one
	// folder per variant, each with its genai_config.json, tokenizer and
	// graph), maps each variant to its folder ("cpu_and_mobile/cpu-int4/").
	folders map[quant.Variant]string
}

// splitDecoders are the graphs a merged decoder replaces.
var splitDecoders = []string{"decoder_model", "decoder_with_past_model"}

// findGraphs groups a repository's ONNX files by variant. A variant is
// offered only when every graph of the model exists in it (as
// transformers.js requires), where a merged decoder stands in for the split
// decoder pair when the repository has both.
func findGraphs(files []RepoFile) graphSet {
	byDir := map[string]map[string]map[quant.Variant]string{} // dir → base → variant → path
	for _, f := range files {
		dir, name := path.Split(f.Path)
		if dir != "" && dir != "onnx/" {
			continue
		}
		base, v, ok := quant.SplitFileName(name)
		if !ok {
			continue
		}
		if byDir[dir] == nil {
			byDir[dir] = map[string]map[quant.Variant]string{}
		}
		if byDir[dir][base] == nil {
			byDir[dir][base] = map[quant.Variant]string{}
		}
		byDir[dir][base][v] = f.Path
	}
	bases := byDir["onnx/"]
	if len(bases) == 0 {
		bases = byDir[""]
	}
	if _, merged := bases["decoder_model_merged"]; merged {
		for _, b := range splitDecoders {
			delete(bases, b)
		}
	}
	gs := graphSet{byVariant: map[quant.Variant][]string{}}
	if len(bases) == 0 {
		return genAIFolders(files)
	}
	for _, v := range quant.Variants() {
		var paths []string
		for _, byV := range bases {
			p, ok := byV[v]
			if !ok {
				paths = nil
				break
			}
			paths = append(paths, p)
		}
		if paths == nil {
			continue
		}
		sortGraphs(paths)
		gs.byVariant[v] = paths
		gs.available = append(gs.available, v)
	}
	return gs
}

// genAIFolders finds the variants of a repository laid out as
// onnxruntime-genai does: every folder with a genai_config.json and ONNX
// graphs is a variant named after the folder ("cpu-int4-rtn-block-32").
func genAIFolders(files []RepoFile) graphSet {
	gs := graphSet{byVariant: map[quant.Variant][]string{}, folders: map[quant.Variant]string{}}
	var dirs []string
	for _, f := range files {
		if dir, name := path.Split(f.Path); name == "genai_config.json" && dir != "" {
			dirs = append(dirs, dir)
		}
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		var graphs []string
		for _, f := range files {
			if d, name := path.Split(f.Path); d == dir && strings.HasSuffix(name, ".onnx") {
				graphs = append(graphs, f.Path)
			}
		}
		if len(graphs) == 0 {
			continue
		}
		v := quant.Variant(strings.ToLower(path.Base(dir)))
		if _, taken := gs.folders[v]; taken {
			v = quant.Variant(strings.ToLower(strings.ReplaceAll(strings.TrimSuffix(dir, "/"), "/", "-")))
		}
		sortGraphs(graphs)
		gs.byVariant[v], gs.folders[v] = graphs, dir
		gs.available = append(gs.available, v)
	}
	gs.available = rankFolders(gs.available, false)
	return gs
}

// rankFolders orders onnxruntime-genai variants best first for the device,
// by the words their folders use: cpu (then mobile) for a CPU; cuda, gpu,
// then directml for a GPU; int4 before larger weights.
func rankFolders(vs []quant.Variant, gpu bool) []quant.Variant {
	words := []string{"cpu", "mobile"}
	if gpu {
		words = []string{"cuda", "gpu", "dml", "directml"}
	}
	rank := func(v quant.Variant) int {
		r := len(words) * 2
		for i, w := range words {
			if strings.Contains(string(v), w) {
				r = i * 2
				break
			}
		}
		if !strings.Contains(string(v), "int4") {
			r++
		}
		return r
	}
	out := slices.Clone(vs)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// graphRank orders a model's graphs so the main one comes first.
func graphRank(p string) int {
	base, _, _ := quant.SplitFileName(path.Base(p))
	switch {
	case base == "model":
		return 0
	case strings.HasPrefix(base, "decoder_model_merged"):
		return 1
	case strings.HasPrefix(base, "encoder"):
		return 2
	case strings.HasPrefix(base, "decoder"):
		return 3
	}
	return 4
}

func sortGraphs(paths []string) {
	sort.Slice(paths, func(i, j int) bool {
		ri, rj := graphRank(paths[i]), graphRank(paths[j])
		if ri != rj {
			return ri < rj
		}
		return paths[i] < paths[j]
	})
}

// isExternalData reports whether name (in the graph's folder) holds external
// weights of the graph file graphName: NAME.onnx_data, NAME.onnx_data_N or
// NAME.onnx.data.
func isExternalData(graphName, name string) bool {
	if name == graphName+"_data" || name == graphName+".data" {
		return true
	}
	rest, ok := strings.CutPrefix(name, graphName+"_data_")
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// selection is the set of files one variant of a model needs.
type selection struct {
	variant quant.Variant
	// folder is the variant's folder in an onnxruntime-genai repository,
	// "" otherwise.
	folder string
	// chosen is set when runner chose the variant.
	chosen bool
	// graphs are the variant's ONNX files, main first.
	graphs []string
	files  []RepoFile
}

// selectFiles picks what to pull for a variant ("" to choose the best for
// the device): the variant's graphs and their external data, the support
// files, plus files matching include, minus files matching exclude.
func selectFiles(repo string, files []RepoFile, want quant.Variant, gpu bool, include, exclude []string) (selection, error) {
	gs := findGraphs(files)
	sel := selection{variant: want}
	if len(gs.available) == 0 {
		return sel, fmt.Errorf("%s: %w (no variant has every graph)", repo, ErrNoONNX)
	}
	if want == "" {
		if gs.folders != nil {
			sel.variant = rankFolders(gs.available, gpu)[0]
		} else {
			sel.variant, _ = quant.Choose(gs.available, gpu)
		}
		sel.chosen = true
	}
	graphs, ok := gs.byVariant[sel.variant]
	if !ok {
		return sel, &VariantError{Repo: repo, Want: string(want), Available: gs.available}
	}
	sel.graphs, sel.folder = graphs, gs.folders[sel.variant]
	wanted := map[string]bool{}
	for _, g := range graphs {
		wanted[g] = true
	}
	for _, f := range files {
		dir, name := path.Split(f.Path)
		keep := wanted[f.Path] || isSupportFile(f) || MatchAny(include, f.Path) ||
			sel.folder != "" && dir == sel.folder && supportFiles[name]
		for _, g := range graphs {
			if gdir, gname := path.Split(g); gdir == dir && isExternalData(gname, name) {
				keep = true
			}
		}
		if keep && !MatchAny(exclude, f.Path) {
			sel.files = append(sel.files, f)
		}
	}
	for _, g := range graphs {
		if !slices.ContainsFunc(sel.files, func(f RepoFile) bool { return f.Path == g }) {
			return sel, &VariantError{Repo: repo, Want: string(sel.variant) + " (its graph " + g + " is excluded)", Available: gs.available}
		}
	}
	return sel, nil
}
