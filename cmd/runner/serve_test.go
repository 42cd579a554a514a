package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"runner/internal/fixtures"
	"runner/internal/supervise"
)

// actAsRunner makes the test binary run as runner itself, so that a serve
// under test can start its worker from it.
const actAsRunner = "RUNNER_TEST_ACT_AS_RUNNER"

func TestMain(m *testing.M) {
	if os.Getenv(actAsRunner) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// lockedBuffer collects the log lines of a supervisor and its worker.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// workerPID finds the worker process serve started: a child of this test
// process.
func workerPID(t *testing.T) int {
	t.Helper()
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			pid, _ := strconv.Atoi(field)
			cmdline, _ := os.ReadFile("/proc/" + field + "/cmdline")
			if pid > 0 && bytes.Contains(cmdline, []byte("serve")) {
				return pid
			}
		}
	}
	t.Fatal("no worker process found")
	return 0
}

// TestServeOutlivesItsWorker kills serve's worker as the out-of-memory
// killer or a fault in native code would: the request in flight fails, and
// the same address answers again from a new worker.
func TestServeOutlivesItsWorker(t *testing.T) {
	if !supervise.Supported {
		t.Skip("serve runs in one process on this system")
	}
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("needs /proc to find the worker")
	}
	encoderEnv(t, fixtures.TinyBERTEmbedder)
	t.Setenv(actAsRunner, "1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs lockedBuffer
	served := make(chan error, 1)
	go func() { served <- newApp(strings.NewReader(""), &logs, &logs).run(ctx, []string{"serve"}) }()

	c := api.NewClient(&url.URL{Scheme: "http", Host: os.Getenv("RUNNER_HOST")}, http.DefaultClient)
	embed := func() error {
		_, err := c.Embed(ctx, &api.EmbedRequest{Model: "runner-test/" + fixtures.TinyBERTEmbedder, Input: "still here?"})
		return err
	}
	answers := func(what string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			err := embed()
			if err == nil {
				return
			}
			select {
			case e := <-served:
				t.Fatalf("%s: serve returned %v\n%s", what, e, logs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v\n%s", what, err, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	answers("first worker")
	first := workerPID(t)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	answers("after the worker was killed")
	second := workerPID(t)
	if second == first {
		t.Fatalf("the same worker %d answers", first)
	}
	if !strings.Contains(logs.String(), "worker died") {
		t.Errorf("no word of the restart in the log:\n%s", logs.String())
	}

	cancel()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(second)); err == nil {
		t.Errorf("worker %d still runs after serve stopped", second)
	}
}

// TestServeReportsAWorkerThatCannotStart: a worker that fails before it
// serves (here, no ONNX Runtime) is not restarted; serve fails at once.
func TestServeReportsAWorkerThatCannotStart(t *testing.T) {
	if !supervise.Supported {
		t.Skip("serve runs in one process on this system")
	}
	encoderEnv(t)
	t.Setenv(actAsRunner, "1")
	t.Setenv("RUNNER_ORT_LIB", filepath.Join(t.TempDir(), "missing.so"))
	var logs lockedBuffer
	err := newApp(strings.NewReader(""), &logs, &logs).run(context.Background(), []string{"serve"})
	if err == nil || !strings.Contains(err.Error(), "before it was ready") || !strings.Contains(logs.String(), "missing.so") {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	if strings.Contains(logs.String(), "worker died") {
		t.Errorf("a worker that never served was restarted:\n%s", logs.String())
	}
}
