package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"

	"runner/modelstore"
	"runner/modelstore/mirror"
)

// PullSuite measures pulling from a loopback mirror: throughput on a large
// random file as a ratio to curl fetching the same file in the same run, and
// the time to re-pull a model that has not changed.
func PullSuite() Suite { return Suite{Name: "pull", Run: runPull} }

func runPull(ctx context.Context, env Env, r *Report) error {
	size, reps, repulls := int64(200<<20), 3, 20
	if env.Quick {
		size, reps, repulls = 32<<20, 1, 5
	}
	work, err := os.MkdirTemp("", "runner-bench-pull-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	repo := filepath.Join(work, "repos", "bench", "pull")
	if err := writeRandomRepo(repo, size); err != nil {
		return err
	}
	var requests atomic.Int64
	m := mirror.New(mirror.Options{Dir: filepath.Join(work, "repos")})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		requests.Add(1)
		m.ServeHTTP(w, req)
	}))
	defer srv.Close()
	fileURL := srv.URL + "/bench/pull/resolve/main/onnx/model.onnx"
	// Warm the mirror's hash cache, so no run pays for hashing on the server.
	resp, err := http.Head(fileURL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	curl, err := exec.LookPath("curl")
	if err != nil {
		return fmt.Errorf("pull bench needs curl: %w", err)
	}
	var curlTimes, pullTimes []time.Duration
	for i := range reps {
		out := filepath.Join(work, "curl.out")
		start := time.Now()
		if b, err := exec.CommandContext(ctx, curl, "-sSf", "-o", out, fileURL).CombinedOutput(); err != nil {
			return fmt.Errorf("curl: %v: %s", err, b)
		}
		curlTimes = append(curlTimes, time.Since(start))
		os.Remove(out)

		cache := filepath.Join(work, fmt.Sprintf("cache-%d", i))
		st, err := modelstore.New(modelstore.Options{Endpoint: srv.URL, CacheDir: cache})
		if err != nil {
			return err
		}
		start = time.Now()
		if _, err := st.Pull(ctx, "bench/pull:fp32", modelstore.PullOptions{}); err != nil {
			return err
		}
		pullTimes = append(pullTimes, time.Since(start))
		if i < reps-1 {
			os.RemoveAll(cache)
		}
	}
	cache := filepath.Join(work, fmt.Sprintf("cache-%d", reps-1))
	st, err := modelstore.New(modelstore.Options{Endpoint: srv.URL, CacheDir: cache})
	if err != nil {
		return err
	}
	before := requests.Load()
	repull, err := Median(repulls, func() error {
		_, err := st.Pull(ctx, "bench/pull:fp32", modelstore.PullOptions{})
		return err
	})
	if err != nil {
		return err
	}
	perRepull := float64(requests.Load()-before) / float64(repulls)

	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	curlMed, pullMed := MedianOf(curlTimes), MedianOf(pullTimes)
	r.Row("what", "runner", "curl", "runner/curl")
	r.Row(fmt.Sprintf("pull %d MB, MB/s", size/1e6), fmt.Sprintf("%.0f", mbps(pullMed)), fmt.Sprintf("%.0f", mbps(curlMed)),
		Ratio(mbps(pullMed), mbps(curlMed)))
	r.Row("re-pull unchanged", fmt.Sprintf("%.2f ms", float64(repull.Microseconds())/1000), "-", "-")
	r.Note("throughput: median of %d; runner hashes (SHA-256) and writes the blob, curl only writes; goal >= 0.80x", reps)
	r.Note("re-pull: median of %d, %.1f requests each (revision lookup; the listing is cached, files are not probed)", repulls, perRepull)
	return nil
}

// writeRandomRepo writes a repo whose fp32 graph is size random bytes.
func writeRandomRepo(dir string, size int64) error {
	if err := os.MkdirAll(filepath.Join(dir, "onnx"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"bench"}`), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "onnx", "model.onnx"))
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	buf := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		rng.Read(buf)
		n := min(left, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
