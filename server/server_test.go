package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"runner/engine"
	"runner/internal/fixtures"
	"runner/internal/testenv"
	"runner/modelstore"
	"runner/modelstore/mirror/mirrortest"
	"runner/server"
)

// testOrg is the organisation the fixtures are served under by the mirror.
const testOrg = "runner-test"

// harness is a real server on loopback, pulling fixtures from a real Hub
// mirror into a fresh cache, and ollama's Go client talking to it.
type harness struct {
	url    string
	client *api.Client
	cache  string
	stop   func()
}

// fixtureHub lays the fixtures out as a Hub (ORG/NAME) and serves it.
func fixtureHub(t *testing.T, names ...string) string {
	t.Helper()
	hub := t.TempDir()
	if err := os.MkdirAll(filepath.Join(hub, testOrg), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.CopyFS(filepath.Join(hub, testOrg, n), os.DirFS(fixtures.Dir(t, n))); err != nil {
			t.Fatal(err)
		}
	}
	// The Llama fixture as onnxruntime-genai publishes models: a folder
	// per variant.
	fixtures.GenAIFolder(t, filepath.Join(hub, testOrg, genAIRepo, "cpu_and_mobile", "cpu-fp32"))
	// The Llama fixture with a template that opens a thinking block for the
	// answer, as DeepSeek-R1's does.
	thinking := filepath.Join(hub, testOrg, thinkingRepo)
	if err := os.CopyFS(thinking, os.DirFS(fixtures.Dir(t, fixtures.TinyLlama))); err != nil {
		t.Fatal(err)
	}
	const template = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<think>\n{% endif %}"
	if err := os.WriteFile(filepath.Join(thinking, "chat_template.jinja"), []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	return mirrortest.Start(t, hub)
}

func startServer(t *testing.T, tweak func(*server.ModelsConfig)) *harness {
	t.Helper()
	endpoint := fixtureHub(t, fixtures.TinyBERTEmbedder, fixtures.TinyBERTReranker, fixtures.TinyLlama, fixtures.TinyBERTClassifier,
		fixtures.TinyBERTNER, fixtures.TinyBERTNLI)
	cache := t.TempDir()
	store, err := modelstore.New(modelstore.Options{Endpoint: endpoint, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := engine.Open(engine.Config{LibraryPath: testenv.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mc := server.ModelsConfig{Store: store, Runtime: rt, KeepAlive: time.Minute, MaxLoaded: 2, AutoPull: true, Logger: log}
	if tweak != nil {
		tweak(&mc)
	}
	srv, err := server.New(server.Config{Version: "0.0.0-test", Logger: log, Models: server.NewModels(mc)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	u, _ := url.Parse(base)
	h := &harness{url: base, client: api.NewClient(u, http.DefaultClient), cache: cache}
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
			if err := rt.Close(); err != nil {
				t.Errorf("close runtime: %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

// post sends a raw request and returns the status and body.
func (h *harness) post(t *testing.T, method, path, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

var embedder = testOrg + "/" + fixtures.TinyBERTEmbedder

func TestOllamaClientEmbeds(t *testing.T) {
	h := startServer(t, nil)
	ctx := context.Background()

	if v, err := h.client.Version(ctx); err != nil || v != "0.0.0-test" {
		t.Fatalf("Version = %q, %v", v, err)
	}
	if err := h.client.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}

	// Pull reports Ollama-style progress and succeeds.
	var statuses []string
	var sawBytes bool
	err := h.client.Pull(ctx, &api.PullRequest{Model: embedder}, func(p api.ProgressResponse) error {
		statuses = append(statuses, p.Status)
		sawBytes = sawBytes || (p.Total > 0 && p.Completed > 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if statuses[0] != "pulling manifest" || statuses[len(statuses)-1] != "success" || !sawBytes {
		t.Fatalf("pull progress %v (bytes reported: %v)", statuses, sawBytes)
	}

	list, err := h.client.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Models) != 1 || !strings.HasPrefix(list.Models[0].Name, embedder) || list.Models[0].Details.Format != "onnx" || list.Models[0].Size == 0 {
		t.Fatalf("List = %+v", list.Models)
	}

	show, err := h.client.Show(ctx, &api.ShowRequest{Model: embedder})
	if err != nil {
		t.Fatal(err)
	}
	if len(show.Capabilities) == 0 || show.Capabilities[0] != "embedding" || show.Details.Family != "bert" {
		t.Fatalf("Show = caps %v details %+v", show.Capabilities, show.Details)
	}

	resp, err := h.client.Embed(ctx, &api.EmbedRequest{Model: embedder, Input: []string{"hello world", "東京"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 2 || len(resp.Embeddings[0]) != 32 || resp.PromptEvalCount == 0 || resp.LoadDuration == 0 {
		t.Fatalf("Embed = %d vectors of %d, %d tokens, load %v", len(resp.Embeddings), len(resp.Embeddings[0]), resp.PromptEvalCount, resp.LoadDuration)
	}
	single, err := h.client.Embed(ctx, &api.EmbedRequest{Model: embedder, Input: "hello world"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range single.Embeddings[0] {
		if d := single.Embeddings[0][i] - resp.Embeddings[0][i]; d > 1e-5 || d < -1e-5 {
			t.Fatal("a string input and the same text in an array differ")
		}
	}

	ps, err := h.client.ListRunning(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.Models) != 1 || ps.Models[0].ExpiresAt.Before(time.Now()) || ps.Models[0].Size == 0 {
		t.Fatalf("ListRunning = %+v", ps.Models)
	}

	legacy, err := h.client.Embeddings(ctx, &api.EmbeddingRequest{Model: embedder, Prompt: "hello world"})
	if err != nil {
		t.Fatal(err)
	}
	if len(legacy.Embedding) != 32 {
		t.Fatalf("legacy embedding of %d values", len(legacy.Embedding))
	}

	// keep_alive 0 with no input unloads.
	zero := &api.Duration{Duration: 0}
	if _, err := h.client.Embed(ctx, &api.EmbedRequest{Model: embedder, KeepAlive: zero}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ps, _ := h.client.ListRunning(ctx)
		if len(ps.Models) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("model still loaded after keep_alive 0")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := h.client.Delete(ctx, &api.DeleteRequest{Model: embedder}); err != nil {
		t.Fatal(err)
	}
	list, _ = h.client.List(ctx)
	if len(list.Models) != 0 {
		t.Fatalf("after delete: %+v", list.Models)
	}
}

// A request for a model not yet pulled pulls it first.
func TestEmbedPullsOnFirstUse(t *testing.T) {
	h := startServer(t, nil)
	resp, err := h.client.Embed(context.Background(), &api.EmbedRequest{Model: embedder, Input: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 1 {
		t.Fatalf("%d embeddings", len(resp.Embeddings))
	}
}

func TestErrors(t *testing.T) {
	h := startServer(t, nil)
	reranker := testOrg + "/" + fixtures.TinyBERTReranker
	cases := map[string]struct {
		method, path, body string
		header             []string
		status             int
		contains           string
	}{
		"bad json":        {"POST", "/api/embed", `{"model":`, nil, 400, "invalid JSON"},
		"wrong type":      {"POST", "/api/embed", `{"model": 5}`, nil, 400, "model"},
		"input type":      {"POST", "/api/embed", `{"model":"` + embedder + `","input":[1,2]}`, nil, 400, "element 0 is a number"},
		"no model":        {"POST", "/api/embed", `{"input":"x"}`, nil, 400, "model is required"},
		"unknown model":   {"POST", "/api/embed", `{"model":"runner-test/nope","input":"x"}`, nil, 404, "not found"},
		"bad reference":   {"POST", "/api/embed", `{"model":"../../etc/passwd","input":"x"}`, nil, 400, ""},
		"wrong task":      {"POST", "/api/embed", `{"model":"` + reranker + `","input":"x"}`, nil, 400, "supports: rerank"},
		"too long":        {"POST", "/api/embed", `{"model":"` + embedder + `","input":"` + strings.Repeat("word ", 300) + `","truncate":false}`, nil, 400, "longer than"},
		"openai envelope": {"POST", "/v1/embeddings", `{"model":"runner-test/nope","input":"x"}`, nil, 404, `"type":"not_found_error"`},
		"rebinding":       {"GET", "/api/tags", "", []string{"Host", "evil.example:11434"}, 403, "forbidden"},
		"body too large":  {"POST", "/api/embed", `{"model":"x","input":"` + strings.Repeat("a", 33<<20) + `"}`, nil, 413, ""},
		"method":          {"GET", "/api/embed", "", nil, 405, ""},
		"delete unknown":  {"DELETE", "/api/delete", `{"model":"runner-test/nope"}`, nil, 404, "not found"},
		"create":          {"POST", "/api/create", `{"model":"mine","from":"llama3"}`, nil, 501, "runner pull"},
		"blob":            {"POST", "/api/blobs/sha256:00", "x", nil, 501, "runner pull"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := h.post(t, c.method, c.path, c.body, c.header...)
			if status != c.status || !bytes.Contains(body, []byte(c.contains)) {
				t.Fatalf("%s %s: %d %s; want %d containing %q", c.method, c.path, status, body, c.status, c.contains)
			}
			if status >= 400 && status != 405 && !json.Valid(body) {
				t.Fatalf("error body is not JSON: %s", body)
			}
		})
	}
}

// TestLowMemoryUnloadsIdleModels: when memory runs short, loading a model
// unloads the idle ones first, as /api/ps shows.
func TestLowMemoryUnloadsIdleModels(t *testing.T) {
	var free atomic.Int64
	free.Store(1 << 40)
	h := startServer(t, func(mc *server.ModelsConfig) {
		mc.MaxLoaded = 0
		mc.FreeMemory = func() (int64, error) { return free.Load(), nil }
	})
	ctx := context.Background()
	running := func() (names []string) {
		ps, err := h.client.ListRunning(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ps.Models {
			names = append(names, m.Name)
		}
		slices.Sort(names)
		return names
	}
	if _, err := h.client.Embed(ctx, &api.EmbedRequest{Model: embedder, Input: "x"}); err != nil {
		t.Fatal(err)
	}
	if status, body := h.post(t, "POST", "/api/classify", `{"model":"`+testOrg+"/"+fixtures.TinyBERTClassifier+`","input":"x"}`); status != 200 {
		t.Fatalf("classify: %d %s", status, body)
	}
	if got := running(); len(got) != 2 {
		t.Fatalf("running %v with memory to spare, want the embedder and the classifier", got)
	}
	// The machine fills up: the next model makes room by unloading the
	// least recently used idle model, as many as it needs.
	free.Store(1 << 20)
	status, body := h.post(t, "POST", "/api/rerank", `{"model":"`+testOrg+"/"+fixtures.TinyBERTReranker+`","query":"q","documents":["d"]}`)
	if status != 200 {
		t.Fatalf("rerank: %d %s", status, body)
	}
	if got := running(); len(got) != 2 || !strings.Contains(got[0], fixtures.TinyBERTClassifier) || !strings.Contains(got[1], fixtures.TinyBERTReranker) {
		t.Fatalf("running %v, want the classifier and the reranker", got)
	}
	free.Store(-1 << 30)
	if status, body := h.post(t, "POST", "/api/classify", `{"model":"`+testOrg+"/"+fixtures.TinyBERTNER+`","input":"x"}`); status != 200 {
		t.Fatalf("token classification: %d %s", status, body)
	}
	if got := running(); len(got) != 1 || !strings.Contains(got[0], fixtures.TinyBERTNER) {
		t.Fatalf("running %v, want only the token classifier", got)
	}
}

// TestModelAuthoringOverOllamaClient: ollama's create and copy get an error
// that says what runner does instead.
func TestModelAuthoringOverOllamaClient(t *testing.T) {
	h := startServer(t, nil)
	ctx := context.Background()
	err := h.client.Copy(ctx, &api.CopyRequest{Source: embedder, Destination: "mine"})
	if err == nil || !strings.Contains(err.Error(), "runner pull") {
		t.Fatalf("copy: %v", err)
	}
	err = h.client.Create(ctx, &api.CreateRequest{Model: "mine", From: embedder}, func(api.ProgressResponse) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("create: %v", err)
	}
	list, err := h.client.List(ctx)
	if err != nil || len(list.Models) != 0 {
		t.Fatalf("list after refused authoring: %+v, %v", list, err)
	}
}

func TestOpenAIEmbeddings(t *testing.T) {
	h := startServer(t, nil)
	status, body := h.post(t, "POST", "/v1/embeddings", `{"model":"`+embedder+`","input":["a","b"],"dimensions":8}`)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var r struct {
		Object string
		Data   []struct {
			Object    string
			Index     int
			Embedding []float32
		}
		Usage struct{ PromptTokens, TotalTokens int } `json:"usage"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Object != "list" || len(r.Data) != 2 || r.Data[1].Index != 1 || len(r.Data[0].Embedding) != 8 {
		t.Fatalf("response %s", body)
	}
	status, body = h.post(t, "POST", "/v1/embeddings", `{"model":"`+embedder+`","input":"a","encoding_format":"base64"}`)
	if status != 200 || !bytes.Contains(body, []byte(`"embedding":"`)) {
		t.Fatalf("base64: %d %s", status, body)
	}
	status, body = h.post(t, "GET", "/v1/models", "")
	if status != 200 || !bytes.Contains(body, []byte(embedder)) {
		t.Fatalf("/v1/models: %d %s", status, body)
	}
}

func TestCORS(t *testing.T) {
	h := startServer(t, nil)
	req, _ := http.NewRequest("OPTIONS", h.url+"/api/embed", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("localhost preflight: %d %v", resp.StatusCode, resp.Header)
	}
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

// A full queue answers 503 at once with Ollama's text.
func TestQueueFull(t *testing.T) {
	h := startServer(t, func(c *server.ModelsConfig) { c.MaxQueue = 1 })
	ctx := context.Background()
	if _, err := h.client.Embed(ctx, &api.EmbedRequest{Model: embedder, Input: "warm"}); err != nil {
		t.Fatal(err)
	}
	texts := make([]string, 200)
	for i := range texts {
		texts[i] = strings.Repeat("many words in a long sentence ", 4)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := h.client.Embed(ctx, &api.EmbedRequest{Model: embedder, Input: texts})
			errs <- err
		}()
	}
	busy := 0
	for range 8 {
		err := <-errs
		var se api.StatusError
		if errors.As(err, &se) && se.StatusCode == 503 && strings.Contains(se.ErrorMessage, "server busy") {
			busy++
		} else if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
	}
	if busy == 0 {
		t.Fatal("no request was refused with 503 while the queue held one")
	}
}

func TestMetrics(t *testing.T) {
	h := startServer(t, nil)
	if _, err := h.client.Embed(context.Background(), &api.EmbedRequest{Model: embedder, Input: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	status, body := h.post(t, "GET", "/metrics", "")
	for _, want := range []string{
		`runner_http_requests_total{route="POST /api/embed",status="200"} 1`,
		"runner_models_loaded 1",
		`runner_batch_sequences_total{model="` + embedder,
	} {
		if status != 200 || !bytes.Contains(body, []byte(want)) {
			t.Fatalf("/metrics (%d) lacks %q:\n%s", status, want, body)
		}
	}
}

// Shutdown finishes the requests in flight, refuses new ones, and returns.
func TestGracefulShutdown(t *testing.T) {
	h := startServer(t, nil)
	first := make(chan struct{})
	result := make(chan api.GenerateResponse, 1)
	go func() {
		var final api.GenerateResponse
		var once sync.Once
		err := h.client.Generate(context.Background(), &api.GenerateRequest{Model: llama, Prompt: "Once", Raw: true,
			Options: map[string]any{"temperature": 0, "num_predict": 300}}, func(r api.GenerateResponse) error {
			once.Do(func() { close(first) })
			final = r
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		result <- final
	}()
	<-first
	h.stop()
	final := <-result
	if !final.Done || final.EvalCount == 0 {
		t.Fatalf("the request in flight was cut: %+v", final)
	}
	if err := h.client.Heartbeat(context.Background()); err == nil {
		t.Fatal("the server still answers after shutdown")
	}
}

func TestTokenizeRoutes(t *testing.T) {
	h := startServer(t, nil)
	status, body := h.post(t, "POST", "/api/tokenize", `{"model":"`+embedder+`","text":"Hello café"}`)
	var tr struct {
		Tokens  []int
		Pieces  []string
		Offsets [][2]int
	}
	if status != 200 || json.Unmarshal(body, &tr) != nil {
		t.Fatalf("tokenize: %d %s", status, body)
	}
	// [CLS] hello cafe [SEP], with character offsets into "Hello café".
	if len(tr.Tokens) != 4 || tr.Pieces[1] != "hello" || tr.Offsets[2] != [2]int{6, 10} {
		t.Fatalf("tokenize: %s", body)
	}
	ids, _ := json.Marshal(tr.Tokens)
	status, body = h.post(t, "POST", "/api/detokenize", `{"model":"`+embedder+`","tokens":`+string(ids)+`,"skip_special":true}`)
	if status != 200 || !bytes.Contains(body, []byte(`"text":"hello cafe"`)) {
		t.Fatalf("detokenize: %d %s", status, body)
	}
	status, body = h.post(t, "POST", "/api/detokenize", `{"model":"`+embedder+`","tokens":[999999999]}`)
	if status != 400 {
		t.Fatalf("detokenize of an unknown id: %d %s", status, body)
	}
}
