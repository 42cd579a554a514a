package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
)

// serverProcess is bin/runner serve in its own process, as users run it, so
// its memory can be measured apart from the load generator's.
type serverProcess struct {
	cmd    *exec.Cmd
	url    string
	client *api.Client
	home   string
}

// startServer runs `runner serve` on a free loopback port with a scratch
// HF_HOME and the given extra environment.
func startServer(ctx context.Context, env Env, extra ...string) (*serverProcess, error) {
	if env.Runner == "" {
		return nil, fmt.Errorf("RUNNER_BIN is not set: run benchmarks with make bench")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	home, err := os.MkdirTemp("", "runner-bench-home-")
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, env.Runner, "serve", "--ort-lib", env.ORTLibrary)
	cmd.Env = append(os.Environ(), "RUNNER_HOST="+addr, "HF_HOME="+home, "HF_HUB_OFFLINE=1")
	cmd.Env = append(cmd.Env, extra...)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(home)
		return nil, err
	}
	s := &serverProcess{cmd: cmd, url: "http://" + addr, home: home}
	s.client = api.NewClient(&url.URL{Scheme: "http", Host: addr}, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}})
	deadline := time.Now().Add(30 * time.Second)
	for s.client.Heartbeat(ctx) != nil {
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("runner serve did not answer on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, nil
}

// peakRSS returns the server's peak resident set size in bytes (Linux).
func (s *serverProcess) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (s *serverProcess) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.home)
}
