package supervise

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// workerMode makes the test binary a worker: "serve" answers its pid on /
// and exits with status 2 (as Go does after a fault in native code) on
// /crash; "flash" exits with status 2 the moment it is ready; "fail" exits
// with status 3 before it is ready.
const workerMode = "SUPERVISE_TEST_WORKER"

func TestMain(m *testing.M) {
	switch os.Getenv(workerMode) {
	case "serve":
		ln, err := Listener()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := Ready(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/crash" {
				os.Exit(2)
			}
			fmt.Fprint(w, os.Getpid())
		}))
		os.Exit(1)
	case "flash":
		if err := Ready(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(2)
	case "fail":
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func startRun(t *testing.T, mode string) (*net.TCPListener, string, context.CancelFunc, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Listener: ln.(*net.TCPListener), Command: func() *exec.Cmd {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), workerMode+"="+mode)
			cmd.Stderr = os.Stderr
			return cmd
		}})
	}()
	return ln.(*net.TCPListener), "http://" + ln.Addr().String(), cancel, done
}

func get(url string) (string, error) {
	resp, err := (&http.Client{Timeout: time.Minute}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestRunRestartsAWorkerThatDies(t *testing.T) {
	if !Supported {
		t.Skip("no supervision on this system")
	}
	ln, url, cancel, done := startRun(t, "serve")
	defer cancel()
	first, err := get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(url + "/crash"); err == nil {
		t.Fatal("the crashing request was answered")
	}
	// The socket stays open: the next request waits for the new worker.
	second, err := get(url + "/")
	if err != nil {
		t.Fatalf("after the crash: %v", err)
	}
	if second == first {
		t.Fatalf("worker %s answered before and after its crash", first)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after its context ended")
	}
	// With the supervisor's socket closed too, nothing answers: the
	// worker is gone.
	ln.Close()
	if _, err := get(url + "/"); err == nil {
		t.Fatal("a worker still answers after Run returned")
	}
}

func TestRunReportsAWorkerThatNeverServes(t *testing.T) {
	if !Supported {
		t.Skip("no supervision on this system")
	}
	_, _, cancel, done := startRun(t, "fail")
	defer cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "before it was ready") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Run: %v", err)
	}
}

func TestNotAWorker(t *testing.T) {
	if IsWorker() {
		t.Fatal("the test process thinks it is a worker")
	}
	if err := Ready(); err != nil {
		t.Fatalf("Ready outside a worker: %v", err)
	}
	if _, err := Listener(); err == nil {
		t.Fatal("Listener outside a worker gave a socket")
	}
}

// TestRunRestartsAWorkerThatDiesAsItBecomesReady: a worker that says it is
// ready and dies at once is restarted, not taken for one that never served.
func TestRunRestartsAWorkerThatDiesAsItBecomesReady(t *testing.T) {
	if !Supported {
		t.Skip("no supervision on this system")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	starts := 0
	err = Run(ctx, Config{Listener: ln.(*net.TCPListener), Command: func() *exec.Cmd {
		if starts++; starts == 4 {
			cancel()
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), workerMode+"=flash")
		return cmd
	}})
	if err != nil || starts < 4 {
		t.Fatalf("Run after %d starts: %v", starts, err)
	}
}
