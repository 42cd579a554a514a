// Package supervise keeps a server answering when its process dies. A
// supervisor owns the listening socket and starts a worker process that
// serves on it. When the worker dies unexpectedly (a fault in native code,
// the kernel's out-of-memory killer), the requests it was answering fail,
// and a new worker takes over the same socket: connections that arrive in
// between wait in the socket's backlog instead of being refused.
//
// A worker calls Listener to get the socket and Ready once it serves. A
// worker that exits before it is ready (bad configuration, a missing
// library) is not restarted: Run returns its failure. Supervision needs a
// Unix system (see Supported).
package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Environment variables that tell a worker which of its files are the
// socket and the readiness pipe.
const (
	listenerEnv = "RUNNER_SUPERVISED_LISTENER_FD"
	readyEnv    = "RUNNER_SUPERVISED_READY_FD"
)

// Config configures Run.
type Config struct {
	// Listener is the socket workers serve on. Run does not close it.
	Listener *net.TCPListener
	// Command returns a new worker's command; Run adds the socket, the
	// readiness pipe and the environment that names them.
	Command func() *exec.Cmd
	// StopTimeout bounds how long a worker may take to finish its
	// requests after Run's context ends; then it is killed. Zero means
	// one minute.
	StopTimeout time.Duration
	// Logger receives restarts; nil means slog.Default().
	Logger *slog.Logger
}

// restart backoff: a worker that dies within quickCrash of becoming ready
// is restarted after a delay that doubles from minBackoff up to maxBackoff.
const (
	quickCrash = 30 * time.Second
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// Run starts a worker and restarts it whenever it dies after becoming
// ready, until ctx ends; then it asks the worker to stop (SIGTERM), waits
// for it, and returns nil (an error if it had to kill it after
// StopTimeout). It returns an error when a worker fails before it is
// ready.
func Run(ctx context.Context, cfg Config) error {
	if !Supported {
		return errors.New("supervise: not supported on this system")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = time.Minute
	}
	sock, err := cfg.Listener.File() // a duplicate the workers inherit
	if err != nil {
		return fmt.Errorf("supervise: %w", err)
	}
	defer sock.Close()
	backoff := minBackoff
	for {
		w, err := start(cfg.Command(), sock)
		if err != nil {
			return err
		}
		select {
		case <-w.ready:
		case <-w.exited:
			// exited closes only once readiness is settled, so a worker
			// that served for an instant is not taken for one that never did.
			if !w.wasReady() {
				return fmt.Errorf("the server's worker stopped before it was ready: %w", w.err)
			}
		case <-ctx.Done():
			return w.stop(cfg.StopTimeout)
		}
		readyAt := time.Now()
		select {
		case <-ctx.Done():
			return w.stop(cfg.StopTimeout)
		case <-w.exited:
		}
		up := time.Since(readyAt)
		log.Error("the server's worker died; starting a new one on the same address (requests it was answering failed)",
			"pid", w.cmd.Process.Pid, "exit", describeExit(w.err), "up", up.Round(time.Millisecond))
		if up >= quickCrash {
			backoff = minBackoff
			continue
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// worker is one started worker process.
type worker struct {
	cmd    *exec.Cmd
	ready  chan struct{} // closed when the worker says it serves
	exited chan struct{} // closed when it has exited; err is then set
	err    error
}

// start starts cmd as a worker serving on sock.
func start(cmd *exec.Cmd, sock *os.File) (*worker, error) {
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("supervise: %w", err)
	}
	base := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, sock, wr)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, listenerEnv+"="+strconv.Itoa(base), readyEnv+"="+strconv.Itoa(base+1))
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	wr.Close() // the worker holds its own copy
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("supervise: start the server's worker: %w", err)
	}
	w := &worker{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{})}
	settled := make(chan struct{}) // the readiness pipe has been read
	go func() {
		defer close(settled)
		defer r.Close()
		var b [1]byte
		if n, _ := r.Read(b[:]); n == 1 {
			close(w.ready)
		}
	}()
	go func() {
		w.err = cmd.Wait()
		<-settled // the worker's end of the pipe closed with it
		close(w.exited)
	}()
	return w, nil
}

// wasReady reports whether the worker said it serves.
func (w *worker) wasReady() bool {
	select {
	case <-w.ready:
		return true
	default:
		return false
	}
}

// stop asks the worker to finish (SIGTERM) and waits for it, killing it
// after timeout.
func (w *worker) stop(timeout time.Duration) error {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(timeout):
		_ = w.cmd.Process.Kill()
		<-w.exited
		return fmt.Errorf("the server's worker did not stop within %v and was killed", timeout)
	}
	return nil
}

// describeExit says how a worker ended.
func describeExit(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// IsWorker reports whether this process is a supervised worker.
func IsWorker() bool { return os.Getenv(listenerEnv) != "" }

// Listener returns the socket a supervised worker serves on; it is an error
// to call it in a process that is not one.
func Listener() (net.Listener, error) {
	f, err := inherited(listenerEnv, "listener")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("supervise: the inherited socket: %w", err)
	}
	return ln, nil
}

// Ready tells the supervisor that this worker serves. It does nothing in a
// process that is not a supervised worker.
func Ready() error {
	if os.Getenv(readyEnv) == "" {
		return nil
	}
	f, err := inherited(readyEnv, "ready")
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.WriteString(f, "1")
	return err
}

// inherited opens the file whose descriptor the environment variable names.
func inherited(env, name string) (*os.File, error) {
	fd, err := strconv.Atoi(os.Getenv(env))
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("supervise: %s=%q does not name an inherited file", env, os.Getenv(env))
	}
	return os.NewFile(uintptr(fd), name), nil
}
