package modelstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"runner/modelstore/hubid"
	"runner/quant"
)

func gitBlobSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func TestPullVariants(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	writeRepo(t, root, "org/decoder", decoderRepo())
	srv, _ := hubServer(t, root, nil)
	support := []string{"1_Pooling/config.json", "README.md", "config.json", "modules.json", "special_tokens_map.json",
		"tokenizer.json", "tokenizer_config.json", "vocab.txt"}
	tests := []struct {
		name    string
		ref     string
		gpu     bool
		variant quant.Variant
		chosen  bool
		graphs  []string
		files   []string
	}{
		{"cpu default is q8", "org/embedder", false, quant.Q8, true,
			[]string{"onnx/model_quantized.onnx"}, append([]string{"onnx/model_quantized.onnx"}, support...)},
		{"gpu default is fp16", "org/embedder", true, quant.FP16, true,
			[]string{"onnx/model_fp16.onnx"}, append([]string{"onnx/model_fp16.onnx"}, support...)},
		{"q4 brings its external data", "hf.co/org/embedder:Q4", false, quant.Q4, false,
			[]string{"onnx/model_q4.onnx"},
			append([]string{"onnx/model_q4.onnx", "onnx/model_q4.onnx_data", "onnx/model_q4.onnx_data_1"}, support...)},
		{"decoder gets every graph of the variant", "org/decoder:q4", false, quant.Q4, false,
			[]string{"onnx/decoder_model_merged_q4.onnx", "onnx/embed_tokens_q4.onnx"},
			[]string{"chat_template.jinja", "config.json", "generation_config.json", "onnx/decoder_model_merged_q4.onnx",
				"onnx/embed_tokens_q4.onnx", "tokenizer.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := newTestStore(t, srv.URL, func(o *Options) { o.GPU = tt.gpu })
			m, err := st.Pull(context.Background(), tt.ref, PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Variant != tt.variant || m.VariantChosen != tt.chosen {
				t.Errorf("variant %q (chosen %v), want %q (chosen %v)", m.Variant, m.VariantChosen, tt.variant, tt.chosen)
			}
			var graphs []string
			for _, g := range m.Graphs {
				rel, _ := filepath.Rel(m.Dir, g)
				graphs = append(graphs, filepath.ToSlash(rel))
			}
			if !slices.Equal(graphs, tt.graphs) {
				t.Errorf("graphs %v, want %v", graphs, tt.graphs)
			}
			sort.Strings(tt.files)
			got, err := snapshotFiles(m.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.files) {
				t.Errorf("snapshot holds %v\nwant %v", got, tt.files)
			}
		})
	}
}

func TestPullUnknownVariantListsAvailable(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	srv, _ := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	_, err := st.Pull(context.Background(), "org/embedder:bnb4", PullOptions{})
	var ve *VariantError
	if !errors.As(err, &ve) || !errors.Is(err, ErrVariantNotFound) {
		t.Fatalf("err = %v, want a VariantError", err)
	}
	want := []quant.Variant{quant.FP32, quant.FP16, quant.Q8, quant.Q4}
	if !slices.Equal(ve.Available, want) {
		t.Errorf("available %v, want %v", ve.Available, want)
	}
	if entries, _ := os.ReadDir(st.CacheDir()); len(entries) != 0 {
		t.Errorf("a failed pull wrote to the cache: %v", entries)
	}
}

// TestCacheLayout checks the cache exactly as Python writes it.
func TestCacheLayout(t *testing.T) {
	root := t.TempDir()
	files := embedderRepo()
	writeRepo(t, root, "org/embedder", files)
	srv, _ := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	m, err := st.Pull(context.Background(), "org/embedder:q4", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(st.CacheDir(), "models--org--embedder")
	ref := mustRead(t, filepath.Join(repoDir, "refs", "main"))
	if string(ref) != m.Commit || !hubid.IsCommit(string(ref)) {
		t.Errorf("refs/main = %q, want the 40-hex commit %q without a newline", ref, m.Commit)
	}
	if m.Dir != filepath.Join(repoDir, "snapshots", m.Commit) {
		t.Errorf("Dir = %s", m.Dir)
	}
	checks := []struct {
		path, etag, target string
	}{
		{"onnx/model_q4.onnx", sha256Hex(files["onnx/model_q4.onnx"]), "../../../blobs/"},
		{"onnx/model_q4.onnx_data", sha256Hex(files["onnx/model_q4.onnx_data"]), "../../../blobs/"},
		{"config.json", gitBlobSHA1(files["config.json"]), "../../blobs/"},
		{"1_Pooling/config.json", gitBlobSHA1(files["1_Pooling/config.json"]), "../../../blobs/"},
	}
	for _, c := range checks {
		link := filepath.Join(m.Dir, filepath.FromSlash(c.path))
		target, err := os.Readlink(link)
		if err != nil {
			t.Fatalf("%s is not a symlink: %v", c.path, err)
		}
		if target != c.target+c.etag {
			t.Errorf("%s -> %s, want %s", c.path, target, c.target+c.etag)
		}
		blob := filepath.Join(repoDir, "blobs", c.etag)
		if got := mustRead(t, blob); string(got) != string(files[c.path]) {
			t.Errorf("blob of %s has the wrong content", c.path)
		}
		if st, _ := os.Stat(blob); st.Mode().Perm()&0o044 != 0o044 {
			t.Errorf("blob mode %v: want readable by all, as a new file with the umask", st.Mode())
		}
	}
	for _, p := range []string{
		filepath.Join(repoDir, "trees", m.Commit+".json"),
		filepath.Join(st.CacheDir(), ".locks", "models--org--embedder", checks[0].etag+".lock"),
		filepath.Join(st.CacheDir(), "CACHEDIR.TAG"),
	} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("missing %s", p)
		}
	}
	listing, ok := st.cache.readTree("org/embedder", m.Commit)
	if !ok || len(listing) != len(files) {
		t.Errorf("trees json lists %d files, want the complete listing of %d", len(listing), len(files))
	}
	incompletes, _ := filepath.Glob(filepath.Join(repoDir, "blobs", "*.incomplete"))
	if len(incompletes) != 0 {
		t.Errorf("left partial files: %v", incompletes)
	}
}

func TestRepullMakesNoDownloads(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	srv, log := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	ctx := context.Background()
	first, err := st.Pull(ctx, "org/embedder:q4", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := log.total()
	var events []Progress
	again, err := st.Pull(ctx, "org/embedder:q4", PullOptions{Progress: func(p Progress) { events = append(events, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if again.Commit != first.Commit || again.Downloaded != 0 {
		t.Errorf("re-pull: commit %s downloaded %d", again.Commit, again.Downloaded)
	}
	if n := log.total() - before; n != 1 || log.count("GET", "/api/models/org/embedder/revision/main") != 2 {
		t.Errorf("re-pull sent %d requests, want only the revision lookup", n)
	}
	if events[0].Status != StatusPullingManifest || events[len(events)-1].Status != StatusSuccess {
		t.Errorf("events %v", events)
	}
	// Pulling by commit needs no request at all.
	before = log.total()
	if _, err := st.Pull(ctx, "org/embedder:q4@"+first.Commit, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := log.total() - before; n != 0 {
		t.Errorf("pull by commit sent %d requests, want 0", n)
	}
}

func TestPullProgress(t *testing.T) {
	root := t.TempDir()
	files := embedderRepo()
	writeRepo(t, root, "org/embedder", files)
	srv, _ := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	var events []Progress
	m, err := st.Pull(context.Background(), "org/embedder:q4", PullOptions{Progress: func(p Progress) { events = append(events, p) }})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	final := map[string]Progress{}
	for _, e := range events {
		if e.Digest == "" {
			statuses = append(statuses, e.Status)
			continue
		}
		if !strings.HasPrefix(e.Status, "pulling ") || len(e.Status) != len("pulling ")+12 {
			t.Errorf("file status %q, want pulling <12 hex>", e.Status)
		}
		if e.Completed > e.Total {
			t.Errorf("%s: completed %d > total %d", e.Digest, e.Completed, e.Total)
		}
		final[e.Digest] = e
	}
	want := []string{StatusPullingManifest, StatusVerifying, StatusWritingManifest, StatusSuccess}
	if !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	if len(final) != len(m.Files) {
		t.Errorf("progress for %d files, want %d", len(final), len(m.Files))
	}
	data := files["onnx/model_q4.onnx_data"]
	e, ok := final["sha256:"+sha256Hex(data)]
	if !ok || e.Total != int64(len(data)) || e.Completed != e.Total {
		t.Errorf("external data progress %+v", e)
	}
	if _, ok := final["sha1:"+gitBlobSHA1(files["config.json"])]; !ok {
		t.Error("no progress for config.json under its git blob digest")
	}
}

func TestConcurrentPullsDownloadOnce(t *testing.T) {
	root := t.TempDir()
	files := embedderRepo()
	files["onnx/model_q4.onnx_data"] = randomBytes(9, 3<<20)
	writeRepo(t, root, "org/embedder", files)
	srv, log := hubServer(t, root, nil)
	cache := t.TempDir()
	// Two Stores on one cache stand for two processes (flock); each runs
	// two goroutines (singleflight).
	var stores []*Store
	for range 2 {
		st, _ := newTestStore(t, srv.URL, func(o *Options) { o.CacheDir = cache })
		stores = append(stores, st)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := stores[i%2].Pull(context.Background(), "org/embedder:q4", PullOptions{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"onnx/model_q4.onnx", "onnx/model_q4.onnx_data", "onnx/model_q4.onnx_data_1"} {
		if n := log.countSuffix("GET", "/"+p); n != 1 {
			t.Errorf("%s downloaded %d times, want 1", p, n)
		}
	}
	if got := mustRead(t, filepath.Join(cache, "models--org--embedder", "blobs", sha256Hex(files["onnx/model_q4.onnx_data"]))); len(got) != 3<<20 {
		t.Errorf("blob size %d", len(got))
	}
}

func TestPullErrors(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	writeRepo(t, root, "org/weights-only", map[string][]byte{"config.json": []byte(`{}`), "model.safetensors": []byte("x")})
	srv, _ := hubServer(t, root, nil)
	tests := []struct {
		ref  string
		want error
	}{
		{"org/missing", ErrRepoNotFound},
		{"org/embedder@v9", ErrRevisionNotFound},
		{"org/embedder:q4f16", ErrVariantNotFound},
		{"org/weights-only", ErrNoONNX},
		{"not a ref!", ErrInvalidReference},
		{"org/embedder@../../x", ErrInvalidReference},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			st, _ := newTestStore(t, srv.URL, nil)
			_, err := st.Pull(context.Background(), tt.ref, PullOptions{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if entries, _ := os.ReadDir(st.CacheDir()); len(entries) != 0 {
				t.Errorf("a failed pull wrote to the cache: %v", entries)
			}
		})
	}
}

func TestIncludeExclude(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	srv, _ := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	m, err := st.Pull(context.Background(), "org/embedder:q8", PullOptions{
		Include: []string{"openvino/"},
		Exclude: []string{"README*", "*_Pooling/*", "[sv]*.t?t", "special_tokens_map.json"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"config.json", "modules.json", "onnx/model_quantized.onnx", "openvino/openvino_model.xml",
		"tokenizer.json", "tokenizer_config.json"}
	if !slices.Equal(m.Files, want) {
		t.Errorf("files %v, want %v", m.Files, want)
	}
	if _, err := st.Pull(context.Background(), "org/embedder:q8", PullOptions{Exclude: []string{"onnx/*"}}); !errors.Is(err, ErrVariantNotFound) {
		t.Errorf("excluding the graph: err = %v", err)
	}
}
