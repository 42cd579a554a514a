package modelstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"runner/modelstore/mirror"
)

// once returns a predicate that is true the first n times.
func firstN(n int) func() bool {
	var c atomic.Int32
	return func() bool { return c.Add(1) <= int32(n) }
}

// bigRepo is a repo whose q8 graph has a large external data file.
func bigRepo(size int) (map[string][]byte, []byte) {
	data := randomBytes(42, size)
	return map[string][]byte{
		"config.json":                    []byte(`{"model_type":"bert"}`),
		"onnx/model_quantized.onnx":      tinyONNX("MatMulInteger", "", 2, 10),
		"onnx/model_quantized.onnx_data": data,
	}, data
}

const dataPath = "/onnx/model_quantized.onnx_data"

func TestResumeCutBody(t *testing.T) {
	root := t.TempDir()
	files, data := bigRepo(1 << 20)
	writeRepo(t, root, "org/big", files)
	cut := firstN(1)
	srv, log := hubServer(t, root, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, dataPath) && cut() {
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(data))
				buf.Write(data[:len(data)/3])
				buf.Flush()
				conn.Close()
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	st, waits := newTestStore(t, srv.URL, nil)
	m, err := st.Pull(context.Background(), "org/big:q8", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(m.Dir, "onnx", "model_quantized.onnx_data")); sha256Hex(got) != sha256Hex(data) {
		t.Fatal("resumed file differs")
	}
	var ranges []string
	for _, r := range log.all {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, dataPath) {
			ranges = append(ranges, r.Header.Get("Range"))
		}
	}
	if want := []string{"", fmt.Sprintf("bytes=%d-%d", len(data)/3, len(data)-1)}; !slices.Equal(ranges, want) {
		t.Errorf("GET ranges %q, want %q", ranges, want)
	}
	if w := waits.list(); !slices.Equal(w, []time.Duration{time.Second}) {
		t.Errorf("waits %v, want one 1s pause before resuming", w)
	}
}

func TestResumeStalledBody(t *testing.T) {
	root := t.TempDir()
	files, data := bigRepo(256 << 10)
	writeRepo(t, root, "org/big", files)
	stall := firstN(1)
	srv, log := hubServer(t, root, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, dataPath) && stall() {
				w.Header().Set("Content-Length", fmt.Sprint(len(data)))
				w.Write(data[:1000])
				w.(http.Flusher).Flush()
				<-r.Context().Done() // send nothing more until the client gives up
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	st, _ := newTestStore(t, srv.URL, func(o *Options) { o.ReadTimeout = 200 * time.Millisecond })
	if _, err := st.Pull(context.Background(), "org/big:q8", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := log.countSuffix(http.MethodGet, dataPath); n != 2 {
		t.Errorf("%d GETs, want 2 (stalled, resumed)", n)
	}
}

func TestRetries(t *testing.T) {
	root := t.TempDir()
	files, _ := bigRepo(1000)
	writeRepo(t, root, "org/big", files)
	tests := []struct {
		name  string
		fault func(w http.ResponseWriter, r *http.Request) bool
		waits []time.Duration
	}{
		{"429 Retry-After on GET", func() func(http.ResponseWriter, *http.Request) bool {
			hit := firstN(1)
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, dataPath) && hit() {
					w.Header().Set("Retry-After", "3")
					w.WriteHeader(http.StatusTooManyRequests)
					return true
				}
				return false
			}
		}(), []time.Duration{4 * time.Second}},
		{"429 RateLimit on HEAD", func() func(http.ResponseWriter, *http.Request) bool {
			hit := firstN(1)
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, dataPath) && hit() {
					w.Header().Set("RateLimit", `"api";r=0;t=7`)
					w.WriteHeader(http.StatusTooManyRequests)
					return true
				}
				return false
			}
		}(), []time.Duration{8 * time.Second}},
		{"500 on the revision lookup", func() func(http.ResponseWriter, *http.Request) bool {
			hit := firstN(3)
			return func(w http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, "/revision/") && hit() {
					w.WriteHeader(http.StatusInternalServerError)
					return true
				}
				return false
			}
		}(), []time.Duration{time.Second, 2 * time.Second}},
		{"503 on GET", func() func(http.ResponseWriter, *http.Request) bool {
			hit := firstN(2)
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, dataPath) && hit() {
					w.WriteHeader(http.StatusServiceUnavailable)
					return true
				}
				return false
			}
		}(), []time.Duration{time.Second, 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := hubServer(t, root, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !tt.fault(w, r) {
						next.ServeHTTP(w, r)
					}
				})
			})
			st, waits := newTestStore(t, srv.URL, nil)
			if _, err := st.Pull(context.Background(), "org/big:q8", PullOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := waits.list(); !slices.Equal(got, tt.waits) {
				t.Errorf("waits %v, want %v", got, tt.waits)
			}
		})
	}
}

func TestRetriesGiveUp(t *testing.T) {
	root := t.TempDir()
	files, _ := bigRepo(1000)
	writeRepo(t, root, "org/big", files)
	srv, _ := hubServer(t, root, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, dataPath) {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	st, waits := newTestStore(t, srv.URL, nil)
	_, err := st.Pull(context.Background(), "org/big:q8", PullOptions{})
	var he *HubError
	if !errors.As(err, &he) || he.Status != http.StatusBadGateway {
		t.Fatalf("err = %v, want the 502", err)
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	if got := waits.list(); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(st.CacheDir(), "models--org--big", "snapshots")); err == nil {
		t.Error("a failed pull created a snapshot")
	}
	if _, err := os.Stat(filepath.Join(st.CacheDir(), "models--org--big", "refs")); err == nil {
		t.Error("a failed pull wrote a ref")
	}
}

func TestHashMismatch(t *testing.T) {
	root := t.TempDir()
	files, data := bigRepo(64 << 10)
	writeRepo(t, root, "org/big", files)
	corrupt := func(times int) func(next http.Handler) http.Handler {
		hit := firstN(times)
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, dataPath) && hit() {
					bad := slices.Clone(data)
					bad[len(bad)/2] ^= 0xff
					w.Header().Set("Content-Length", fmt.Sprint(len(bad)))
					w.Write(bad)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	t.Run("always wrong", func(t *testing.T) {
		srv, log := hubServer(t, root, corrupt(100))
		st, _ := newTestStore(t, srv.URL, nil)
		_, err := st.Pull(context.Background(), "org/big:q8", PullOptions{})
		if !errors.Is(err, ErrHashMismatch) {
			t.Fatalf("err = %v, want ErrHashMismatch", err)
		}
		if n := log.countSuffix(http.MethodGet, dataPath); n != 2 {
			t.Errorf("%d GETs, want 2 (one retry with a fresh HEAD)", n)
		}
		repoDir := filepath.Join(st.CacheDir(), "models--org--big")
		for _, p := range []string{
			filepath.Join(repoDir, "blobs", sha256Hex(data)),
			filepath.Join(repoDir, "blobs", sha256Hex(data)+".incomplete"),
			filepath.Join(repoDir, "snapshots"),
			filepath.Join(repoDir, "refs"),
		} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s exists after a hash mismatch", p)
			}
		}
	})
	t.Run("wrong once", func(t *testing.T) {
		srv, _ := hubServer(t, root, corrupt(1))
		st, _ := newTestStore(t, srv.URL, nil)
		m, err := st.Pull(context.Background(), "org/big:q8", PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustRead(t, filepath.Join(m.Dir, "onnx", "model_quantized.onnx_data")); sha256Hex(got) != sha256Hex(data) {
			t.Error("published wrong content")
		}
	})
}

func TestResumeAcrossRuns(t *testing.T) {
	root := t.TempDir()
	files, data := bigRepo(128 << 10)
	writeRepo(t, root, "org/big", files)
	tests := []struct {
		name    string
		partial []byte
		ranges  []string
	}{
		{"valid prefix resumes", data[:50000], []string{"bytes=50000-131071"}},
		{"wrong prefix starts over", randomBytes(7, 50000), []string{"bytes=50000-131071", ""}},
		{"oversized partial is dropped", append(slices.Clone(data), 1, 2, 3), []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, log := hubServer(t, root, nil)
			st, _ := newTestStore(t, srv.URL, nil)
			partial := filepath.Join(st.CacheDir(), "models--org--big", "blobs", sha256Hex(data)+".incomplete")
			if err := os.MkdirAll(filepath.Dir(partial), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(partial, tt.partial, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := st.Pull(context.Background(), "org/big:q8", PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := mustRead(t, filepath.Join(m.Dir, "onnx", "model_quantized.onnx_data")); sha256Hex(got) != sha256Hex(data) {
				t.Error("wrong content")
			}
			var ranges []string
			for _, r := range log.all {
				if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, dataPath) {
					ranges = append(ranges, r.Header.Get("Range"))
				}
			}
			if !slices.Equal(ranges, tt.ranges) {
				t.Errorf("ranges %q, want %q", ranges, tt.ranges)
			}
		})
	}
}

func TestLargeFileInRangeChunks(t *testing.T) {
	root := t.TempDir()
	files, data := bigRepo(70000)
	writeRepo(t, root, "org/big", files)
	srv, log := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	st.maxResponse = 10000
	m, err := st.Pull(context.Background(), "org/big:q8", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(m.Dir, "onnx", "model_quantized.onnx_data")); sha256Hex(got) != sha256Hex(data) {
		t.Error("wrong content")
	}
	if n := log.countSuffix(http.MethodGet, dataPath); n != 7 {
		t.Errorf("%d GETs, want 7 ranges of 10000 bytes", n)
	}
}

// fullDisk is a partial file whose disk fills after limit bytes.
type fullDisk struct {
	partialFile
	limit   int64
	written int64
}

func (f *fullDisk) Write(p []byte) (int, error) {
	if f.written+int64(len(p)) > f.limit {
		return 0, &os.PathError{Op: "write", Path: "blob", Err: syscall.ENOSPC}
	}
	f.written += int64(len(p))
	return f.partialFile.Write(p)
}

func TestDiskFull(t *testing.T) {
	root := t.TempDir()
	files, data := bigRepo(64 << 10)
	writeRepo(t, root, "org/big", files)
	srv, _ := hubServer(t, root, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	st.openPartial = func(p string) (partialFile, error) {
		f, err := openPartial(p)
		if err != nil {
			return nil, err
		}
		return &fullDisk{partialFile: f, limit: 1000}, nil
	}
	_, err := st.Pull(context.Background(), "org/big:q8", PullOptions{})
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("err = %v, want ErrDiskFull", err)
	}
	if _, err := os.Stat(filepath.Join(st.CacheDir(), "models--org--big", "blobs", sha256Hex(data)+".incomplete")); err == nil {
		t.Error("the partial file stayed after the disk filled")
	}
	if _, err := os.Stat(filepath.Join(st.CacheDir(), "models--org--big", "snapshots")); err == nil {
		t.Error("snapshot created")
	}
}

func TestHubErrorCodes(t *testing.T) {
	root := t.TempDir()
	files, _ := bigRepo(100)
	writeRepo(t, root, "org/big", files)
	tests := []struct {
		name    string
		status  int
		headers map[string]string
		want    error
	}{
		{"gated anonymous", 401, map[string]string{"X-Error-Code": "GatedRepo"}, ErrGated},
		{"gated logged in", 403, map[string]string{"X-Error-Code": "GatedRepo"}, ErrGated},
		{"private", 401, nil, ErrRepoNotFound},
		{"bad token", 401, map[string]string{"X-Error-Message": "Invalid credentials in Authorization header"}, ErrBadToken},
		{"disabled", 403, map[string]string{"X-Error-Message": "Access to this resource is disabled."}, ErrForbidden},
		{"forbidden", 403, nil, ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := hubServer(t, root, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					for k, v := range tt.headers {
						w.Header().Set(k, v)
					}
					w.Header().Set("X-Request-Id", "req-123")
					w.WriteHeader(tt.status)
				})
			})
			st, waits := newTestStore(t, srv.URL, nil)
			_, err := st.Pull(context.Background(), "org/big", PullOptions{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "req-123") {
				t.Errorf("error %q does not carry the request id", err)
			}
			if len(waits.list()) != 0 {
				t.Errorf("retried a permanent error: %v", waits.list())
			}
		})
	}
}

func TestPagination(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/embedder", embedderRepo())
	srv, log := hubServerWith(t, mirror.Options{Dir: root, PageSize: 3}, nil)
	st, _ := newTestStore(t, srv.URL, nil)
	m, err := st.Pull(context.Background(), "org/embedder:q4", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listing, _ := st.cache.readTree("org/embedder", m.Commit)
	if len(listing) != len(embedderRepo()) {
		t.Errorf("listed %d files, want %d", len(listing), len(embedderRepo()))
	}
	// 18 files and 3 folders in pages of 3.
	if n := log.count(http.MethodGet, "/tree/"); n != 7 {
		t.Errorf("%d tree pages, want 7", n)
	}
	if len(m.Files) != 11 {
		t.Errorf("pulled %d files, want 11", len(m.Files))
	}
}

func TestPathTraversalRejected(t *testing.T) {
	bad := []string{"../evil.json", "onnx/../../evil.onnx", "/etc/evil.json", `C:\evil.json`, `..\evil.json`, "a/./b.json"}
	for _, p := range bad {
		t.Run(p, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.Contains(r.URL.Path, "/revision/"):
					fmt.Fprint(w, `{"sha":"0123456789012345678901234567890123456789"}`)
				case strings.Contains(r.URL.Path, "/tree/"):
					fmt.Fprintf(w, `[{"type":"file","path":"onnx/model.onnx","oid":"%s","size":1},
						{"type":"file","path":%q,"oid":"%s","size":1}]`, strings.Repeat("a", 40), p, strings.Repeat("b", 40))
				default:
					t.Errorf("unexpected request %s %s", r.Method, r.URL)
					w.WriteHeader(http.StatusTeapot)
				}
			}))
			t.Cleanup(srv.Close)
			parent := t.TempDir()
			cache := filepath.Join(parent, "hub")
			st, _ := newTestStore(t, srv.URL, func(o *Options) { o.CacheDir = cache })
			_, err := st.Pull(context.Background(), "org/x", PullOptions{Include: []string{"*"}})
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("err = %v, want ErrUnsafePath", err)
			}
			entries, _ := os.ReadDir(parent)
			if len(entries) != 0 {
				t.Errorf("wrote %v", entries)
			}
		})
	}
}

func TestEntryNotFoundRecordsNoExist(t *testing.T) {
	root := t.TempDir()
	files, _ := bigRepo(100)
	writeRepo(t, root, "org/big", files)
	srv, _ := hubServer(t, root, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, dataPath) {
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				w.Header().Set("X-Repo-Commit", rec.Header().Get("X-Repo-Commit"))
				w.Header().Set("X-Error-Code", "EntryNotFound")
				w.WriteHeader(http.StatusNotFound)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	st, _ := newTestStore(t, srv.URL, nil)
	_, err := st.Pull(context.Background(), "org/big:q8", PullOptions{})
	if !errors.Is(err, ErrEntryNotFound) {
		t.Fatalf("err = %v, want ErrEntryNotFound", err)
	}
	marks, _ := filepath.Glob(filepath.Join(st.CacheDir(), "models--org--big", ".no_exist", "*", "onnx", "model_quantized.onnx_data"))
	if len(marks) != 1 {
		t.Errorf("no .no_exist marker: %v", marks)
	}
}

func TestMissingHeadersAreBadResponses(t *testing.T) {
	root := t.TempDir()
	files, _ := bigRepo(100)
	writeRepo(t, root, "org/big", files)
	srv, _ := hubServer(t, root, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, dataPath) {
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				for k, v := range rec.Header() {
					if k != "X-Repo-Commit" {
						w.Header()[k] = v
					}
				}
				w.WriteHeader(rec.Code)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	st, _ := newTestStore(t, srv.URL, nil)
	if _, err := st.Pull(context.Background(), "org/big:q8", PullOptions{}); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
}

// TestRedirects covers the Hub's redirects: relative ones (renamed repos,
// small files) are followed with the token; absolute ones to another host
// (a CDN) never carry it.
func TestRedirects(t *testing.T) {
	root := t.TempDir()
	files, data := bigRepo(64 << 10)
	writeRepo(t, root, "org/big", files)
	const token = "hf_secret"
	var mu sync.Mutex
	var cdnAuth []string
	cdn := httptest.NewServer(mirror.New(mirror.Options{Dir: root}))
	t.Cleanup(cdn.Close)
	cdnCheck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cdnAuth = append(cdnAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "only one auth mechanism allowed", http.StatusBadRequest)
			return
		}
		cdn.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(cdnCheck.Close)
	modes := []string{"head redirects to the cdn", "get redirects to the cdn", "renamed repo"}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			cdnAuth = nil
			srv, log := hubServer(t, root, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("Authorization") != "Bearer "+token {
						w.WriteHeader(http.StatusUnauthorized)
						return
					}
					if mode == "renamed repo" && strings.HasPrefix(r.URL.Path, "/org/old/") {
						w.Header().Set("Location", strings.Replace(r.URL.Path, "/org/old/", "/org/big/", 1))
						w.WriteHeader(http.StatusTemporaryRedirect)
						return
					}
					if mode == "renamed repo" {
						r.URL.Path = strings.Replace(r.URL.Path, "/org/old/", "/org/big/", 1)
						r.URL.RawPath = ""
					}
					lfs := strings.HasSuffix(r.URL.Path, dataPath) && strings.Contains(r.URL.Path, "/resolve/")
					if lfs && ((mode == "head redirects to the cdn" && r.Method == http.MethodHead) ||
						(mode == "get redirects to the cdn" && r.Method == http.MethodGet)) {
						rec := httptest.NewRecorder()
						head := r.Clone(r.Context())
						head.Method = http.MethodHead
						next.ServeHTTP(rec, head)
						for _, k := range []string{"X-Repo-Commit", "X-Linked-Etag", "X-Linked-Size"} {
							w.Header().Set(k, rec.Header().Get(k))
						}
						w.Header().Set("Location", cdnCheck.URL+r.URL.Path+"?X-Amz-Signature=abc")
						w.WriteHeader(http.StatusFound)
						return
					}
					next.ServeHTTP(w, r)
				})
			})
			st, _ := newTestStore(t, srv.URL, func(o *Options) { o.Token = token })
			ref := "org/big:q8"
			if mode == "renamed repo" {
				ref = "org/old:q8"
			}
			m, err := st.Pull(context.Background(), ref, PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := mustRead(t, filepath.Join(m.Dir, "onnx", "model_quantized.onnx_data")); sha256Hex(got) != sha256Hex(data) {
				t.Error("wrong content")
			}
			if log.count(http.MethodHead, "/api/resolve-cache/") == 0 {
				t.Error("small files were not fetched through the relative redirect")
			}
			mu.Lock()
			defer mu.Unlock()
			if mode != "renamed repo" && len(cdnAuth) == 0 {
				t.Fatal("the cdn was never asked")
			}
			for _, a := range cdnAuth {
				if a != "" {
					t.Errorf("the token reached the cdn: %q", a)
				}
			}
			if mode == "renamed repo" && !strings.HasSuffix(m.Dir, filepath.Join("models--org--old", "snapshots", m.Commit)) {
				t.Errorf("renamed repo cached under %s, want its name as given", m.Dir)
			}
		})
	}
}

// TestExpiredLinkRefreshed: a presigned download link that has expired
// (403 from the storage host) is replaced by a fresh probe.
func TestExpiredLinkRefreshed(t *testing.T) {
	root := t.TempDir()
	files, data := bigRepo(64 << 10)
	writeRepo(t, root, "org/big", files)
	expired := firstN(1)
	store := mirror.New(mirror.Options{Dir: root})
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if expired() {
			http.Error(w, "Request has expired", http.StatusForbidden)
			return
		}
		store.ServeHTTP(w, r)
	}))
	t.Cleanup(cdn.Close)
	srv, log := hubServer(t, root, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, dataPath) {
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				for _, k := range []string{"X-Repo-Commit", "X-Linked-Etag", "X-Linked-Size"} {
					w.Header().Set(k, rec.Header().Get(k))
				}
				w.Header().Set("Location", cdn.URL+r.URL.Path)
				w.WriteHeader(http.StatusFound)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	st, _ := newTestStore(t, srv.URL, nil)
	m, err := st.Pull(context.Background(), "org/big:q8", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(m.Dir, "onnx", "model_quantized.onnx_data")); sha256Hex(got) != sha256Hex(data) {
		t.Error("wrong content")
	}
	if n := log.countSuffix(http.MethodHead, dataPath); n != 2 {
		t.Errorf("%d probes, want 2 (the first link expired)", n)
	}
}
