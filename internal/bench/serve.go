package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
)

// runnerServer is `runner serve` started for a suite, on a free loopback
// port with a fresh cache and no access to the Hub, in its own process so
// its memory is measured apart from the load generator's.
type runnerServer struct {
	url    string
	client *api.Client
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan error
}

// startRunner starts env.Runner serve, with extra environment variables,
// and waits until it answers.
func startRunner(ctx context.Context, env Env, work string, extra ...string) (*runnerServer, error) {
	if env.Runner == "" {
		return nil, errors.New("RUNNER_BIN is not set: build runner first (make bench does)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &runnerServer{url: "http://" + addr, done: make(chan error, 1)}
	s.cmd = exec.CommandContext(ctx, env.Runner, "serve")
	s.cmd.Env = append(os.Environ(),
		"RUNNER_HOST="+addr,
		"RUNNER_ORT_LIB="+env.ORTLibrary,
		"RUNNER_DEVICE=cpu",
		"HF_HUB_CACHE="+filepath.Join(work, "hub"),
		"HF_HUB_OFFLINE=1",
	)
	s.cmd.Env = append(s.cmd.Env, extra...)
	s.cmd.Stderr = &s.stderr
	s.client = api.NewClient(&url.URL{Scheme: "http", Host: addr}, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}})
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", env.Runner, err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/api/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("runner serve exited (%v): %s", err, strings.TrimSpace(s.stderr.String()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("runner serve did not answer on %s within 30s", addr)
		}
	}
}

// post sends body as JSON to path and decodes a 200 answer into out.
func (s *runnerServer) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, bytes.TrimSpace(data))
	}
	return json.Unmarshal(data, out)
}

// peakRSS returns the server's peak resident set size in bytes (Linux).
func (s *runnerServer) peakRSS() int64 {
	// runner serve is a supervisor and the worker that serves: count both.
	// Each thread lists the children it started.
	pid := strconv.Itoa(s.cmd.Process.Pid)
	total := vmHWM(pid)
	tasks, _ := filepath.Glob("/proc/" + pid + "/task/*/children")
	for _, f := range tasks {
		children, _ := os.ReadFile(f)
		for _, child := range strings.Fields(string(children)) {
			total += vmHWM(child)
		}
	}
	return total
}

// vmHWM returns a process's peak resident set size, or 0.
func vmHWM(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
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

// stop interrupts the server and waits for it to exit.
func (s *runnerServer) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// nodeProcess is a node script that answers one JSON line on stdout for
// each JSON line it reads on stdin.
type nodeProcess struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer // read only after the script has exited

	closeOnce sync.Once
}

// startNode starts an ES module script with node in env.NodeDir, so bare
// imports resolve against the reference tools.
func startNode(ctx context.Context, env Env, script string, args ...string) (*nodeProcess, error) {
	if env.NodeDir == "" {
		return nil, errors.New("RUNNER_TEST_NODE_DIR is not set: run make deps")
	}
	p := &nodeProcess{}
	p.cmd = exec.CommandContext(ctx, "node", append([]string{"--input-type=module", "-e", script, "--"}, args...)...)
	p.cmd.Dir = env.NodeDir
	p.cmd.Stderr = &p.stderr
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewReaderSize(stdout, 1<<20)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	return p, nil
}

// call sends req and decodes the answer line into out.
func (p *nodeProcess) call(req, out any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return p.failed(err)
	}
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return p.failed(err)
	}
	return json.Unmarshal(line, out)
}

// failed stops the script and reports err with what it printed on stderr.
func (p *nodeProcess) failed(err error) error {
	p.close()
	return fmt.Errorf("node: %w: %s", err, strings.TrimSpace(p.stderr.String()))
}

// close ends the script's input and waits for it to exit (once).
func (p *nodeProcess) close() {
	p.closeOnce.Do(func() {
		p.in.Close()
		_ = p.cmd.Wait()
	})
}
