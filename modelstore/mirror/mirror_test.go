package mirror_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"runner/internal/testenv"
	"runner/modelstore"
	"runner/modelstore/hubid"
	"runner/modelstore/mirror"
)

func gitSHA1(s string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(s), s)
	return hex.EncodeToString(h.Sum(nil))
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

var repoFiles = map[string]string{
	"config.json":           `{"model_type":"bert"}`,
	"a b+c.json":            `{}`,
	"onnx/model.onnx":       strings.Repeat("graph", 100),
	"onnx/model_q4.onnx":    strings.Repeat("q4", 50),
	"1_Pooling/config.json": `{"pooling_mode_mean_tokens":true}`,
	".git/HEAD":             "ref: refs/heads/main",
}

func startMirror(t *testing.T, opts mirror.Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(mirror.New(opts))
	t.Cleanup(srv.Close)
	return srv
}

// client never follows redirects, so each answer can be checked.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestRepoInfoAndErrors(t *testing.T) {
	root := t.TempDir()
	testenv.WriteFiles(t, filepath.Join(root, "org", "m"), repoFiles)
	srv := startMirror(t, mirror.Options{Dir: root})
	resp, body := do(t, "GET", srv.URL+"/api/models/org/m?blobs=true", nil)
	var info struct {
		ID       string `json:"id"`
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
			Size      int64  `json:"size"`
			BlobID    string `json:"blobId"`
			LFS       *struct {
				SHA256 string `json:"sha256"`
				Size   int64  `json:"size"`
			} `json:"lfs"`
		} `json:"siblings"`
	}
	if err := json.Unmarshal(body, &info); err != nil || resp.StatusCode != 200 {
		t.Fatalf("info: %d %s %v", resp.StatusCode, body, err)
	}
	if info.ID != "org/m" || !hubid.IsCommit(info.SHA) || len(info.Siblings) != 5 {
		t.Fatalf("info %+v", info)
	}
	for _, s := range info.Siblings {
		want := repoFiles[s.RFilename]
		if s.Size != int64(len(want)) {
			t.Errorf("%s size %d", s.RFilename, s.Size)
		}
		if strings.HasSuffix(s.RFilename, ".onnx") {
			if s.LFS == nil || s.LFS.SHA256 != sha256Hex(want) {
				t.Errorf("%s lfs %+v", s.RFilename, s.LFS)
			}
		} else if s.LFS != nil || s.BlobID != gitSHA1(want) {
			t.Errorf("%s: blob %s lfs %+v", s.RFilename, s.BlobID, s.LFS)
		}
	}
	byCommit, body2 := do(t, "GET", srv.URL+"/api/models/org/m/revision/"+info.SHA, nil)
	if byCommit.StatusCode != 200 || !strings.Contains(string(body2), info.SHA) {
		t.Errorf("info by commit: %d", byCommit.StatusCode)
	}
	// A second mirror of the same content names the same commit.
	again, body3 := do(t, "GET", startMirror(t, mirror.Options{Dir: root}).URL+"/api/models/org/m/revision/main", nil)
	if again.StatusCode != 200 || !strings.Contains(string(body3), info.SHA) {
		t.Errorf("commit not stable across mirrors")
	}
	errs := []struct {
		method, path, code string
	}{
		{"GET", "/api/models/org/missing", "RepoNotFound"},
		{"GET", "/api/models/org/m/revision/v2", "RevisionNotFound"},
		{"HEAD", "/org/missing/resolve/main/config.json", "RepoNotFound"},
		{"HEAD", "/org/m/resolve/v2/config.json", "RevisionNotFound"},
		{"HEAD", "/org/m/resolve/main/nope.json", "EntryNotFound"},
		{"GET", "/org/m/resolve/main/.git/HEAD", "EntryNotFound"},
		{"GET", "/api/models/org/m/tree/main/nope", "EntryNotFound"},
		{"GET", "/api/models/org/..%2F..%2Fetc", "RepoNotFound"},
	}
	for _, e := range errs {
		resp, _ := do(t, e.method, srv.URL+e.path, nil)
		if resp.StatusCode != 404 || resp.Header.Get("X-Error-Code") != e.code {
			t.Errorf("%s %s: %d %q, want 404 %s", e.method, e.path, resp.StatusCode, resp.Header.Get("X-Error-Code"), e.code)
		}
		if e.code == "EntryNotFound" && resp.Header.Get("X-Repo-Commit") != info.SHA {
			t.Errorf("%s: EntryNotFound without X-Repo-Commit", e.path)
		}
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	testenv.WriteFiles(t, filepath.Join(root, "org", "m"), repoFiles)
	srv := startMirror(t, mirror.Options{Dir: root})
	graph := repoFiles["onnx/model.onnx"]

	head, _ := do(t, "HEAD", srv.URL+"/org/m/resolve/main/onnx/model.onnx", map[string]string{"Accept-Encoding": "identity"})
	h := head.Header
	if head.StatusCode != 200 || h.Get("ETag") != `"`+sha256Hex(graph)+`"` || h.Get("X-Linked-Etag") != `"`+sha256Hex(graph)+`"` ||
		h.Get("X-Linked-Size") != fmt.Sprint(len(graph)) || h.Get("Content-Length") != fmt.Sprint(len(graph)) ||
		!hubid.IsCommit(h.Get("X-Repo-Commit")) {
		t.Errorf("LFS HEAD: %d %v", head.StatusCode, h)
	}
	commit := h.Get("X-Repo-Commit")

	part, body := do(t, "GET", srv.URL+"/org/m/resolve/"+commit+"/onnx/model.onnx", map[string]string{"Range": "bytes=10-19"})
	if part.StatusCode != 206 || string(body) != graph[10:20] || part.Header.Get("Content-Range") != fmt.Sprintf("bytes 10-19/%d", len(graph)) {
		t.Errorf("range: %d %q %s", part.StatusCode, body, part.Header.Get("Content-Range"))
	}

	small, _ := do(t, "HEAD", srv.URL+"/org/m/resolve/main/a%20b%2Bc.json", nil)
	loc := small.Header.Get("Location")
	if small.StatusCode != 307 || !strings.HasPrefix(loc, "/api/resolve-cache/models/org/m/"+commit+"/a%20b%2Bc.json") {
		t.Fatalf("small file: %d Location %q, want a relative redirect", small.StatusCode, loc)
	}
	final, body := do(t, "GET", srv.URL+loc, nil)
	if final.StatusCode != 200 || string(body) != "{}" || final.Header.Get("ETag") != `"`+gitSHA1("{}")+`"` ||
		final.Header.Get("X-Repo-Commit") != commit {
		t.Errorf("resolve-cache: %d %q %v", final.StatusCode, body, final.Header)
	}
}

func TestTreePagination(t *testing.T) {
	root := t.TempDir()
	testenv.WriteFiles(t, filepath.Join(root, "org", "m"), repoFiles)
	srv := startMirror(t, mirror.Options{Dir: root, PageSize: 2})
	type entry struct {
		Type, Path, OID string
		Size            int64
		LFS             *struct{ OID string }
	}
	list := func(url string) ([]entry, int) {
		var all []entry
		pages := 0
		for url != "" {
			resp, body := do(t, "GET", url, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", url, resp.StatusCode)
			}
			var page []entry
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			pages++
			url = ""
			if m := regexp.MustCompile(`<([^>]+)>;\s*rel="next"`).FindStringSubmatch(resp.Header.Get("Link")); m != nil {
				url = m[1]
			}
		}
		return all, pages
	}
	all, pages := list(srv.URL + "/api/models/org/m/tree/main?recursive=true&expand=false")
	var paths []string
	for _, e := range all {
		paths = append(paths, e.Type[:1]+":"+e.Path)
		if e.Path == "onnx/model.onnx" && (e.LFS == nil || e.LFS.OID != sha256Hex(repoFiles[e.Path]) || e.OID == sha256Hex(repoFiles[e.Path])) {
			t.Errorf("LFS entry %+v: want lfs.oid the sha256 and oid the pointer's blob id", e)
		}
	}
	sort.Strings(paths)
	want := []string{"d:1_Pooling", "d:onnx", "f:1_Pooling/config.json", "f:a b+c.json", "f:config.json", "f:onnx/model.onnx", "f:onnx/model_q4.onnx"}
	if !slices.Equal(paths, want) || pages != 4 {
		t.Errorf("recursive tree in %d pages: %v, want %v in 4", pages, paths, want)
	}
	top, _ := list(srv.URL + "/api/models/org/m/tree/main")
	if len(top) != 4 {
		t.Errorf("top level lists %d entries, want 4 (2 files, 2 folders): %+v", len(top), top)
	}
	sub, _ := list(srv.URL + "/api/models/org/m/tree/main/onnx")
	if len(sub) != 2 || sub[0].Path != "onnx/model.onnx" {
		t.Errorf("onnx/ lists %+v", sub)
	}
}

func TestHashesAreCached(t *testing.T) {
	root := t.TempDir()
	testenv.WriteFiles(t, filepath.Join(root, "org", "m"), repoFiles)
	srv := startMirror(t, mirror.Options{Dir: root})
	p := filepath.Join(root, "org", "m", "onnx", "model.onnx")
	etag := func() string {
		resp, _ := do(t, "HEAD", srv.URL+"/org/m/resolve/main/onnx/model.onnx", nil)
		return resp.Header.Get("ETag")
	}
	first := etag()
	st, _ := os.Stat(p)
	// Same size and time, other bytes: a cached hash is not recomputed.
	if err := os.WriteFile(p, []byte(strings.Repeat("GRAPH", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := etag(); got != first {
		t.Errorf("etag changed to %s without a change of size or time: the hash was recomputed", got)
	}
	later := st.ModTime().Add(time.Second)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if got := etag(); got == first {
		t.Error("etag did not change after the file did")
	}
}

// TestServesHubCache pulls from a mirror of a hub cache, by a PR ref, with
// runner's own client.
func TestServesHubCache(t *testing.T) {
	root := t.TempDir()
	testenv.WriteFiles(t, filepath.Join(root, "org", "m"), repoFiles)
	src := startMirror(t, mirror.Options{Dir: root})
	ctx := context.Background()
	first, err := modelstore.New(modelstore.Options{Endpoint: src.URL, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := first.Pull(ctx, "org/m:q4", modelstore.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Point a PR ref at the same commit, then serve that cache.
	ref := filepath.Join(first.CacheDir(), "models--org--m", "refs", "refs", "pr", "1")
	testenv.WriteFiles(t, filepath.Dir(ref), map[string]string{"1": m.Commit})
	edge := startMirror(t, mirror.Options{Dir: first.CacheDir()})
	second, err := modelstore.New(modelstore.Options{Endpoint: edge.URL, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := second.Pull(ctx, "org/m:q4@refs/pr/1", modelstore.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Commit != m.Commit || !slices.Equal(got.Files, m.Files) {
		t.Errorf("pulled %s %v, want %s %v", got.Commit, got.Files, m.Commit, m.Files)
	}
	if b, _ := os.ReadFile(filepath.Join(second.CacheDir(), "models--org--m", "refs", "refs", "pr", "1")); string(b) != m.Commit {
		t.Errorf("refs/pr/1 = %q", b)
	}
	if _, err := second.Pull(ctx, "org/m:fp32", modelstore.PullOptions{}); err == nil {
		t.Error("the cache mirror served a variant its cache does not hold")
	}
}

// tinyTokenizer is a minimal BERT WordPiece tokenizer.json.
const tinyTokenizer = `{"version":"1.0","truncation":null,"padding":null,"added_tokens":[
{"id":0,"content":"[PAD]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
{"id":1,"content":"[UNK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
{"id":2,"content":"[CLS]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
{"id":3,"content":"[SEP]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
"normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
"pre_tokenizer":{"type":"BertPreTokenizer"},
"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],
"pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],
"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[2],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}},
"decoder":{"type":"WordPiece","prefix":"##","cleanup":true},
"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"hello":4,"world":5,"wor":6,"##ld":7}}}`

// TestTransformersJS has an independent client, transformers.js, load a
// tokenizer and config through the mirror and probe which variants exist.
func TestTransformersJS(t *testing.T) {
	testenv.NodeDir(t)
	root := t.TempDir()
	files := map[string]string{}
	for k, v := range repoFiles {
		files[k] = v
	}
	files["tokenizer.json"] = tinyTokenizer
	files["tokenizer_config.json"] = `{"tokenizer_class":"BertTokenizer","do_lower_case":true,"model_max_length":512}`
	files["onnx/model_quantized.onnx"] = strings.Repeat("q8", 64)
	testenv.WriteFiles(t, filepath.Join(root, "org", "m"), files)
	srv := startMirror(t, mirror.Options{Dir: root})
	const script = `
import { env, AutoTokenizer, AutoConfig, ModelRegistry } from '@huggingface/transformers';
env.remoteHost = process.argv[1] + '/';
env.allowRemoteModels = true;
env.allowLocalModels = false;
env.useFSCache = false;
env.useBrowserCache = false;
const tok = await AutoTokenizer.from_pretrained('org/m');
const cfg = await AutoConfig.from_pretrained('org/m');
const dtypes = await ModelRegistry.get_available_dtypes('org/m');
let missing = 'none';
try { await AutoConfig.from_pretrained('org/missing'); } catch (e) { missing = 'error'; }
console.log(JSON.stringify({ ids: Array.from(tok.encode('Hello world')), model_type: cfg.model_type, dtypes, missing }));
`
	out := testenv.Node(t, script, nil, srv.URL)
	var got struct {
		IDs       []int    `json:"ids"`
		ModelType string   `json:"model_type"`
		DTypes    []string `json:"dtypes"`
		Missing   string   `json:"missing"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if !slices.Equal(got.IDs, []int{2, 4, 5, 3}) || got.ModelType != "bert" || got.Missing != "error" {
		t.Errorf("transformers.js got %+v", got)
	}
	sort.Strings(got.DTypes)
	if !slices.Equal(got.DTypes, []string{"fp32", "q4", "q8"}) {
		t.Errorf("transformers.js sees variants %v, want fp32 q4 q8", got.DTypes)
	}
}
