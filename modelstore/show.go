package modelstore

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"runner/quant"
)

// ModelInfo is what Show reports of a model.
type ModelInfo struct {
	*Model
	// Architecture is config.json's first architecture ("BertModel").
	Architecture string
	// Tasks are the runner pipelines the model suits, best first: embed,
	// classify, rerank, tokens, generate.
	Tasks []string
	// License is the README's license field, or the LICENSE file's first line.
	License string
	// ContextLength is the longest input in tokens, from config.json (0 if
	// unknown).
	ContextLength int
	// Variants are the variants the repository offers (from the Hub's
	// listing when cached, else those on disk), with their sizes.
	Variants []VariantInfo
	// Files are the model's files with their sizes.
	Files []FileInfo
	// Config is config.json as is (nil when absent).
	Config json.RawMessage
}

// VariantInfo is one variant a repository offers.
type VariantInfo struct {
	Variant quant.Variant
	// Size is the bytes of its graphs and their external data.
	Size int64
	// Graphs are its ONNX files (slash paths in the repository).
	Graphs []string
	// Pulled is set when the variant is complete in the cache.
	Pulled bool
}

// FileInfo is one file of a model.
type FileInfo struct {
	Path string
	Size int64
	// Blob is the file's hash (its blob name in the cache), when known.
	Blob string
}

// Show describes a model in the cache, or a local directory, without any
// request: architecture, tasks, license, context length, the variants the
// repository offers, and its files.
func (s *Store) Show(ctx context.Context, reference string) (*ModelInfo, error) {
	m, err := s.Resolve(ctx, reference, ResolveOptions{})
	if err != nil {
		return nil, err
	}
	s.describe(m)
	info := &ModelInfo{Model: m}
	if b, err := os.ReadFile(filepath.Join(m.ConfigDir, "config.json")); err == nil {
		info.Config = b
	}
	cfg, _ := readConfig(m.ConfigDir)
	if cfg != nil {
		if len(cfg.Architectures) > 0 {
			info.Architecture = cfg.Architectures[0]
		}
		info.ContextLength = cfg.contextLength()
	}
	front := readmeFrontMatter(filepath.Join(m.Dir, "README.md"))
	info.License = front["license"]
	if info.License == "" {
		info.License = firstLine(m.Dir, "LICENSE", "LICENSE.md", "LICENSE.txt")
	}
	info.Tasks = tasksOf(cfg, front["pipeline_tag"], fileExists(filepath.Join(m.ConfigDir, "modules.json")))
	if fileExists(filepath.Join(m.ConfigDir, "genai_config.json")) && !slices.Contains(info.Tasks, "generate") {
		info.Tasks = append(info.Tasks, "generate") // onnxruntime-genai folders hold decoders
	}
	local, _ := localFiles(m.Dir)
	sizes := map[string]FileInfo{}
	for _, f := range local {
		sizes[f.Path] = FileInfo{Path: f.Path, Size: f.Size, Blob: f.Etag()}
	}
	for _, p := range m.Files {
		info.Files = append(info.Files, sizes[p])
	}
	listing, listed := []RepoFile(nil), false
	if !m.Local() {
		listing, listed = s.cache.readTree(m.Repo, m.Commit)
	}
	if !listed {
		listing = local
	}
	gs := findGraphs(listing)
	for _, v := range gs.available {
		vi := VariantInfo{Variant: v, Graphs: gs.byVariant[v]}
		if sel, err := selectFiles(m.Repo, listing, v, false, nil, nil); err == nil {
			for _, f := range sel.files {
				if !isSupportFile(f) {
					vi.Size += f.Size
				}
			}
		}
		if m.Local() {
			vi.Pulled = true
		} else if _, err := s.fromCache(Ref{Repo: m.Repo, Revision: m.Revision, Variant: v}, nil, nil); err == nil {
			vi.Pulled = true
		}
		info.Variants = append(info.Variants, vi)
	}
	return info, nil
}

// tasksOf guesses the pipelines a model suits from its README's
// pipeline_tag, its config's architecture, and sentence-transformers files.
func tasksOf(cfg *modelConfig, pipelineTag string, sentenceTransformers bool) []string {
	var tasks []string
	add := func(t string) {
		for _, have := range tasks {
			if have == t {
				return
			}
		}
		tasks = append(tasks, t)
	}
	switch pipelineTag {
	case "feature-extraction", "sentence-similarity":
		add("embed")
	case "text-classification", "zero-shot-classification":
		add("classify")
	case "text-ranking":
		add("rerank")
	case "token-classification":
		add("tokens")
	case "text-generation", "text2text-generation", "image-text-to-text":
		add("generate")
	}
	if sentenceTransformers {
		add("embed")
	}
	if cfg != nil && len(cfg.Architectures) > 0 {
		arch := cfg.Architectures[0]
		switch {
		case strings.HasSuffix(arch, "ForSequenceClassification"):
			if len(cfg.ID2Label) == 1 {
				add("rerank")
			}
			add("classify")
		case strings.HasSuffix(arch, "ForTokenClassification"):
			add("tokens")
		case strings.HasSuffix(arch, "ForCausalLM"), strings.HasSuffix(arch, "ForConditionalGeneration"),
			strings.HasSuffix(arch, "LMHeadModel"):
			add("generate")
		case strings.HasSuffix(arch, "Model"):
			add("embed")
		}
	}
	return tasks
}

// readmeFrontMatter reads the flat "key: value" lines of a README's YAML
// front matter (lists and nested values are skipped).
func readmeFrontMatter(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "---" {
		return out
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "---" {
			break
		}
		if line == "" || line[0] == ' ' || line[0] == '-' || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if v = strings.Trim(strings.TrimSpace(v), `"'`); ok && v != "" {
			out[strings.TrimSpace(k)] = v
		}
	}
	return out
}

// firstLine returns the first non-empty line of the first file that exists.
func firstLine(dir string, names ...string) string {
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				f.Close()
				return line
			}
		}
		f.Close()
	}
	return ""
}
