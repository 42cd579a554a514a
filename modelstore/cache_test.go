package modelstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"runner/modelstore/mirror"
	"runner/quant"
)

// pythonCache writes a cache by hand exactly as Python's huggingface_hub
// lays it out, and returns its directory and the snapshot's commit.
func pythonCache(t *testing.T) (string, string, map[string][]byte) {
	t.Helper()
	cache := t.TempDir()
	const commit = "8f2d4e6a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e"
	files := map[string][]byte{
		"config.json":               []byte(`{"model_type":"bert","architectures":["BertForSequenceClassification"],"id2label":{"0":"LABEL_0"},"max_position_embeddings":256}`),
		"tokenizer.json":            []byte(`{"model":{}}`),
		"onnx/model_quantized.onnx": tinyONNX("MatMulInteger", "", 3, 4000),
	}
	repoDir := filepath.Join(cache, "models--Xenova--tiny-reranker")
	for p, data := range files {
		etag := gitBlobSHA1(data)
		if strings.HasSuffix(p, ".onnx") {
			etag = sha256Hex(data)
		}
		blob := filepath.Join(repoDir, "blobs", etag)
		link := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(p))
		for _, d := range []string{filepath.Dir(blob), filepath.Dir(link)} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(blob, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(filepath.Dir(link), blob)
		if err := os.Symlink(rel, link); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(repoDir, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	// A PyTorch-only model Python fetched: not runnable, not listed.
	other := filepath.Join(cache, "models--gpt2", "snapshots", commit)
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "model.safetensors"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return cache, commit, files
}

func TestReadsPythonCache(t *testing.T) {
	cache, commit, files := pythonCache(t)
	srv, log := hubServerWith(t, mirror.Options{Dir: cache}, nil) // the cache mirrored, same commit
	st, _ := newTestStore(t, srv.URL, func(o *Options) { o.CacheDir = cache })
	ctx := context.Background()

	models, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != 1 || models[0].Name != "Xenova/tiny-reranker:q8" {
		t.Fatalf("List = %v, want Xenova/tiny-reranker:q8 alone", names(models))
	}
	m := models[0]
	wantDetails := Details{Format: "onnx", Family: "bert", Families: []string{"bert"}, ParameterSize: "4K",
		QuantizationLevel: "Q8", Parameters: 4000}
	if !detailsEqual(m.Details, wantDetails) {
		t.Errorf("details %+v, want %+v", m.Details, wantDetails)
	}
	if m.Digest != sha256Hex(files["onnx/model_quantized.onnx"]) {
		t.Errorf("digest %s, want the graph's sha256", m.Digest)
	}
	if m.Size != int64(len(files["config.json"])+len(files["tokenizer.json"])+len(files["onnx/model_quantized.onnx"])) {
		t.Errorf("size %d", m.Size)
	}

	r, err := st.Resolve(ctx, "Xenova/tiny-reranker", ResolveOptions{Pull: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Commit != commit || r.Variant != quant.Q8 || !r.VariantChosen {
		t.Errorf("resolved %+v", r)
	}
	if want := filepath.Join(cache, "models--Xenova--tiny-reranker", "snapshots", commit, "onnx", "model_quantized.onnx"); r.Graph() != want {
		t.Errorf("graph %s, want the snapshot path %s (not the blob)", r.Graph(), want)
	}
	if n := log.total(); n != 0 {
		t.Errorf("resolving a cached model sent %d requests", n)
	}

	pulled, err := st.Pull(ctx, "Xenova/tiny-reranker:q8", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pulled.Commit != commit || pulled.Downloaded != 0 || log.count("", "/resolve/") != 0 {
		t.Errorf("pull of a model Python cached downloaded %d bytes in %d requests", pulled.Downloaded, log.count("", "/resolve/"))
	}

	// A fresh cache pulls the same files from the mirror of Python's cache.
	other, _ := newTestStore(t, srv.URL, nil)
	got, err := other.Pull(ctx, "Xenova/tiny-reranker", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Commit != commit {
		t.Errorf("commit through the mirror %s, want %s", got.Commit, commit)
	}
	for p, data := range files {
		if b := mustRead(t, filepath.Join(got.Dir, filepath.FromSlash(p))); string(b) != string(data) {
			t.Errorf("%s differs", p)
		}
	}
}

func names(ms []*Model) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func detailsEqual(a, b Details) bool {
	return a.Format == b.Format && a.Family == b.Family && slices.Equal(a.Families, b.Families) &&
		a.ParameterSize == b.ParameterSize && a.QuantizationLevel == b.QuantizationLevel && a.Parameters == b.Parameters
}

func TestOffline(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	srv, log := hubServer(t, root, nil)
	online, _ := newTestStore(t, srv.URL, nil)
	ctx := context.Background()
	if _, err := online.Pull(ctx, "org/embedder:q4", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	offline, _ := newTestStore(t, srv.URL, func(o *Options) { o.CacheDir = online.CacheDir(); o.Offline = true })
	before := log.total()
	m, err := offline.Pull(ctx, "org/embedder:q4", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.FromCache || m.Variant != quant.Q4 {
		t.Errorf("offline pull %+v", m)
	}
	if m, err := offline.Resolve(ctx, "org/embedder", ResolveOptions{Pull: true}); err != nil || m.Variant != quant.Q4 {
		t.Errorf("offline resolve without a variant: %v, %v (want the cached q4)", m, err)
	}
	for _, ref := range []string{"org/embedder:q8", "org/other", "org/embedder@v2"} {
		if _, err := offline.Pull(ctx, ref, PullOptions{}); !errors.Is(err, ErrOfflineNotCached) {
			t.Errorf("offline pull of %s: err = %v, want ErrOfflineNotCached", ref, err)
		}
	}
	if n := log.total() - before; n != 0 {
		t.Errorf("offline mode sent %d requests", n)
	}
}

func TestNetworkFailureFallsBackToCache(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	srv, _ := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	ctx := context.Background()
	if _, err := st.Pull(ctx, "org/embedder:q4", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	m, err := st.Pull(ctx, "org/embedder:q4", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.FromCache {
		t.Error("FromCache not set")
	}
	st2, waits := newTestStore(t, srv.URL, func(o *Options) { o.CacheDir = st.CacheDir() })
	if _, err := st2.Pull(ctx, "org/embedder:fp16", PullOptions{}); !errors.Is(err, ErrOfflineNotCached) {
		t.Errorf("uncached pull with the Hub down: err = %v, want ErrOfflineNotCached", err)
	}
	if len(waits.list()) != maxRetries {
		t.Errorf("waits %v, want %d retries before giving up", waits.list(), maxRetries)
	}
}

func TestDisableSymlinks(t *testing.T) {
	root := t.TempDir()
	files := embedderRepo()
	writeRepo(t, root, "org/embedder", files)
	srv, log := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, func(o *Options) { o.DisableSymlinks = true })
	ctx := context.Background()
	m, err := st.Pull(ctx, "org/embedder:q4", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(m.Dir, "onnx", "model_q4.onnx_data")
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("%s is not a regular file: %v", p, err)
	}
	if string(mustRead(t, p)) != string(files["onnx/model_q4.onnx_data"]) {
		t.Error("wrong content")
	}
	if _, err := os.Stat(filepath.Join(st.CacheDir(), "models--org--embedder", "blobs", sha256Hex(files["onnx/model_q4.onnx_data"]))); err == nil {
		t.Error("a new blob was copied, not moved, into the snapshot")
	}
	before := log.total()
	if _, err := st.Pull(ctx, "org/embedder:q4", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := log.total() - before; n != 1 {
		t.Errorf("re-pull sent %d requests, want only the revision lookup", n)
	}
	if ms, err := st.List(ctx); err != nil || len(ms) != 1 {
		t.Errorf("List = %v, %v", names(ms), err)
	}
}

func TestRemove(t *testing.T) {
	root := t.TempDir()
	files := embedderRepo()
	writeRepo(t, root, "org/embedder", files)
	srv, _ := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	ctx := context.Background()
	q8, err := st.Pull(ctx, "org/embedder:q8", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pull(ctx, "org/embedder:q4", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	blobs := filepath.Join(st.CacheDir(), "models--org--embedder", "blobs")
	q8Blob := filepath.Join(blobs, sha256Hex(files["onnx/model_quantized.onnx"]))
	configBlob := filepath.Join(blobs, gitBlobSHA1(files["config.json"]))

	if err := st.Remove(ctx, "org/embedder:q8"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(q8Blob); err == nil {
		t.Error("the q8 graph's blob stayed")
	}
	if _, err := os.Stat(filepath.Join(q8.Dir, "onnx", "model_quantized.onnx")); err == nil {
		t.Error("the q8 link stayed")
	}
	if _, err := os.Stat(configBlob); err != nil {
		t.Error("config.json's blob, still used by q4, was removed")
	}
	ms, _ := st.List(ctx)
	if got := names(ms); !slices.Equal(got, []string{"org/embedder:q4"}) {
		t.Errorf("List = %v", got)
	}
	if err := st.Remove(ctx, "org/embedder:q8"); !errors.Is(err, ErrNotPulled) {
		t.Errorf("removing it again: %v", err)
	}

	// A second snapshot shares blobs with the first.
	old := q8.Commit
	writeRepo(t, root, "org/embedder", map[string][]byte{"README.md": []byte("changed")})
	m2, err := st.Pull(ctx, "org/embedder:q4", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Commit == old {
		t.Fatal("the mirror's commit did not change with the content")
	}
	if err := st.Remove(ctx, "org/embedder@"+old); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(blobs, gitBlobSHA1(files["README.md"]))); err == nil {
		t.Error("the old README's blob, used only by the removed snapshot, stayed")
	}
	for _, p := range []string{"onnx/model_q4.onnx", "config.json", "README.md"} {
		if _, err := os.Stat(filepath.Join(m2.Dir, filepath.FromSlash(p))); err != nil {
			t.Errorf("%s of the remaining snapshot: %v", p, err)
		}
	}
	if err := st.Remove(ctx, "org/embedder"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		filepath.Join(st.CacheDir(), "models--org--embedder"),
		filepath.Join(st.CacheDir(), ".locks", "models--org--embedder"),
	} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s stayed after the last model was removed", p)
		}
	}
}

func TestShow(t *testing.T) {
	root := t.TempDir()
	files := embedderRepo()
	writeRepo(t, root, "org/embedder", files)
	srv, _ := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	ctx := context.Background()
	if _, err := st.Show(ctx, "org/embedder"); !errors.Is(err, ErrNotPulled) {
		t.Errorf("show before pull: %v", err)
	}
	if _, err := st.Pull(ctx, "org/embedder:q4", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := st.Show(ctx, "org/embedder:q4")
	if err != nil {
		t.Fatal(err)
	}
	if info.Architecture != "BertModel" || info.License != "apache-2.0" || info.ContextLength != 512 ||
		!slices.Equal(info.Tasks, []string{"embed"}) {
		t.Errorf("show: arch %q license %q context %d tasks %v", info.Architecture, info.License, info.ContextLength, info.Tasks)
	}
	if info.Details.QuantizationLevel != "Q4" || info.Details.ParameterSize != "3K" {
		t.Errorf("details %+v", info.Details)
	}
	var got []string
	for _, v := range info.Variants {
		got = append(got, string(v.Variant))
		if v.Variant == quant.Q4 {
			want := int64(len(files["onnx/model_q4.onnx"]) + len(files["onnx/model_q4.onnx_data"]) + len(files["onnx/model_q4.onnx_data_1"]))
			if v.Size != want || !v.Pulled {
				t.Errorf("q4: size %d pulled %v, want %d true", v.Size, v.Pulled, want)
			}
		} else if v.Pulled {
			t.Errorf("%s reported pulled", v.Variant)
		}
	}
	if !slices.Equal(got, []string{"fp32", "fp16", "q8", "q4"}) {
		t.Errorf("variants %v", got)
	}
	if len(info.Files) != 11 || info.Files[0].Size == 0 || info.Files[0].Blob == "" {
		t.Errorf("files %+v", info.Files)
	}
}

func TestResolveLocalDirectory(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	st, _ := newTestStore(t, "http://127.0.0.1:1", nil)
	dir := filepath.Join(root, "org", "embedder")
	m, err := st.Resolve(context.Background(), dir+":q4", ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir != dir || m.Graph() != filepath.Join(dir, "onnx", "model_q4.onnx") || !m.Local() {
		t.Errorf("resolved %+v", m)
	}
	if m, err := st.Resolve(context.Background(), dir, ResolveOptions{}); err != nil || m.Variant != quant.Q8 {
		t.Errorf("no variant: %v, %v", m, err)
	}
	if _, err := st.Resolve(context.Background(), "org/embedder", ResolveOptions{}); !errors.Is(err, ErrNotPulled) {
		t.Errorf("uncached without pull: %v", err)
	}
}

// A model pulled without some support files is still complete: resolving
// it offline needs nothing more.
func TestExcludedSupportFilesAreOptional(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	srv, log := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	ctx := context.Background()
	if _, err := st.Pull(ctx, "org/embedder:q4", PullOptions{Exclude: []string{"README.md", "vocab.txt"}}); err != nil {
		t.Fatal(err)
	}
	before := log.total()
	m, err := st.Resolve(ctx, "org/embedder:q4", ResolveOptions{Pull: true})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(m.Files, "README.md") || !slices.Contains(m.Files, "onnx/model_q4.onnx_data_1") {
		t.Errorf("files %v", m.Files)
	}
	if n := log.total() - before; n != 0 {
		t.Errorf("resolve sent %d requests", n)
	}
	// A missing external data file makes it incomplete.
	if err := os.Remove(filepath.Join(m.Dir, "onnx", "model_q4.onnx_data_1")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Resolve(ctx, "org/embedder:q4", ResolveOptions{}); !errors.Is(err, ErrNotPulled) {
		t.Errorf("incomplete snapshot resolved: %v", err)
	}
}

// TestRelinkNeverHidesTheFile links the same snapshot file again and again,
// as concurrent pulls of one model do, while readers check that the file
// is always there.
func TestRelinkNeverHidesTheFile(t *testing.T) {
	for _, symlinks := range []bool{true, false} {
		t.Run(fmt.Sprint("symlinks=", symlinks), func(t *testing.T) {
			c := cacheDir(t.TempDir())
			const repo, commit, etag = "org/m", "0123456789abcdef0123456789abcdef01234567", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			if err := os.MkdirAll(filepath.Dir(c.blobPath(repo, etag)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.blobPath(repo, etag), []byte("weights"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.link(repo, commit, "onnx/model.onnx", etag, symlinks, false); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 300 {
						if err := c.link(repo, commit, "onnx/model.onnx", etag, symlinks, false); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			go func() { wg.Wait(); close(done) }()
			for missing := 0; ; {
				select {
				case <-done:
					if missing > 0 {
						t.Fatalf("the file was missing %d times while it was relinked", missing)
					}
					files, err := snapshotFiles(c.snapshotDir(repo, commit))
					if err != nil || !slices.Equal(files, []string{"onnx/model.onnx"}) {
						t.Fatalf("snapshot holds %q (%v); want only the model", files, err)
					}
					return
				default:
				}
				if !c.snapshotHas(repo, commit, "onnx/model.onnx") {
					missing++
				}
			}
		})
	}
}
