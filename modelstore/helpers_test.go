package modelstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"runner/modelstore/mirror"
)

// tinyONNX builds a valid ONNX model with one node of op (in domain) and one
// initializer of n elements of ONNX type elem.
func tinyONNX(op, domain string, elem int32, n int) []byte {
	msg := func(fields ...[]byte) []byte {
		var b []byte
		for _, f := range fields {
			b = append(b, f...)
		}
		return b
	}
	bytesField := func(num protowire.Number, v []byte) []byte {
		b := protowire.AppendTag(nil, num, protowire.BytesType)
		return protowire.AppendBytes(b, v)
	}
	varint := func(num protowire.Number, v uint64) []byte {
		b := protowire.AppendTag(nil, num, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}
	size := map[int32]int{1: 4, 2: 1, 10: 2}[elem]
	node := msg(bytesField(1, []byte("x")), bytesField(2, []byte("y")), bytesField(4, []byte(op)), bytesField(7, []byte(domain)))
	tensor := msg(varint(1, uint64(n)), varint(2, uint64(elem)), bytesField(8, []byte("w")), bytesField(9, make([]byte, n*size)))
	graph := msg(bytesField(1, node), bytesField(2, []byte("g")), bytesField(5, tensor))
	opset := msg(bytesField(1, nil), varint(2, 17))
	return msg(varint(1, 8), bytesField(7, graph), bytesField(8, opset))
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeRepo lays files out under root/repo, as the mirror serves them.
func writeRepo(t testing.TB, root, repo string, files map[string][]byte) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(root, filepath.FromSlash(repo), filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// embedderRepo is a sentence-transformers style repo with several variants.
func embedderRepo() map[string][]byte {
	return map[string][]byte{
		"config.json":                  []byte(`{"model_type":"bert","architectures":["BertModel"],"max_position_embeddings":512}`),
		"tokenizer.json":               []byte(`{"version":"1.0","model":{"type":"WordPiece","vocab":{"[UNK]":0,"hi":1}}}`),
		"tokenizer_config.json":        []byte(`{"model_max_length":512}`),
		"special_tokens_map.json":      []byte(`{}`),
		"vocab.txt":                    []byte("[UNK]\nhi\n"),
		"modules.json":                 []byte(`[{"idx":0,"type":"sentence_transformers.models.Transformer"}]`),
		"1_Pooling/config.json":        []byte(`{"pooling_mode_mean_tokens":true}`),
		"README.md":                    []byte("---\nlicense: apache-2.0\npipeline_tag: sentence-similarity\n---\n# tiny\n"),
		"onnx/model.onnx":              tinyONNX("MatMul", "", 1, 3000),
		"onnx/model_fp16.onnx":         tinyONNX("MatMul", "", 10, 3000),
		"onnx/model_quantized.onnx":    tinyONNX("MatMulInteger", "", 2, 3000),
		"onnx/model_q4.onnx":           tinyONNX("MatMulNBits", "com.microsoft", 2, 1500),
		"onnx/model_q4.onnx_data":      randomBytes(1, 40000),
		"onnx/model_q4.onnx_data_1":    randomBytes(2, 30000),
		"model.safetensors":            randomBytes(3, 5000),
		"pytorch_model.bin":            randomBytes(4, 5000),
		"openvino/openvino_model.xml":  []byte("<xml/>"),
		"onnx/model_O4.onnx_something": []byte("x"),
	}
}

// decoderRepo is a decoder repo with merged and split decoders.
func decoderRepo() map[string][]byte {
	return map[string][]byte{
		"config.json":                       []byte(`{"model_type":"llama","architectures":["LlamaForCausalLM"],"max_position_embeddings":2048}`),
		"generation_config.json":            []byte(`{}`),
		"tokenizer.json":                    []byte(`{}`),
		"chat_template.jinja":               []byte(`{{ messages }}`),
		"onnx/decoder_model_merged.onnx":    tinyONNX("MatMul", "", 1, 100),
		"onnx/decoder_model_merged_q4.onnx": tinyONNX("MatMulNBits", "com.microsoft", 2, 100),
		"onnx/decoder_model.onnx":           tinyONNX("MatMul", "", 1, 100),
		"onnx/decoder_model_q4.onnx":        tinyONNX("MatMulNBits", "com.microsoft", 2, 100),
		"onnx/decoder_with_past_model.onnx": tinyONNX("MatMul", "", 1, 100),
		"onnx/embed_tokens_q4.onnx":         tinyONNX("Gather", "", 2, 100),
		"onnx/embed_tokens.onnx":            tinyONNX("Gather", "", 1, 100),
	}
}

// requestLog counts requests by "METHOD path".
type requestLog struct {
	mu  sync.Mutex
	all []*http.Request
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, r.Clone(context.Background()))
}

// count returns how many requests had this method and a path containing
// part.
func (l *requestLog) count(method, part string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.all {
		if (method == "" || r.Method == method) && strings.Contains(r.URL.Path, part) {
			n++
		}
	}
	return n
}

// countSuffix counts requests with this method whose path ends with suffix.
func (l *requestLog) countSuffix(method, suffix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.all {
		if r.Method == method && strings.HasSuffix(r.URL.Path, suffix) {
			n++
		}
	}
	return n
}

func (l *requestLog) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.all)
}

// hubServer serves root through the mirror, with wrap (when set) in front
// of it to inject faults, and logs every request.
func hubServer(t testing.TB, root string, wrap func(next http.Handler) http.Handler) (*httptest.Server, *requestLog) {
	t.Helper()
	return hubServerWith(t, mirror.Options{Dir: root}, wrap)
}

// hubServerWith is hubServer with the mirror's options given.
func hubServerWith(t testing.TB, opts mirror.Options, wrap func(next http.Handler) http.Handler) (*httptest.Server, *requestLog) {
	t.Helper()
	log := &requestLog{}
	var h http.Handler = mirror.New(opts)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

// waits records the retry waits a Store asked for, without waiting.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) list() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// newTestStore returns a Store on a fresh cache whose retries do not sleep.
func newTestStore(t testing.TB, endpoint string, edit func(*Options)) (*Store, *waits) {
	t.Helper()
	opts := Options{Endpoint: endpoint, CacheDir: t.TempDir()}
	if edit != nil {
		edit(&opts)
	}
	st, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	w := &waits{}
	st.hub.sleep = func(ctx context.Context, d time.Duration) error {
		w.mu.Lock()
		w.d = append(w.d, d)
		w.mu.Unlock()
		return ctx.Err()
	}
	return st, w
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
