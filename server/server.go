// Package server is runner's HTTP API: Ollama's routes and types, OpenAI's
// /v1 routes, and runner's own (rerank, classify, tokenize), over the model
// store and the pipelines.
//
// # Errors
//
// Every handler returns an error; statusOf (errors.go) is the one table from
// errors to HTTP status codes, and writeError answers in the error shape of
// the route's API.
//
// # Security
//
// Bound to loopback (the default), the server refuses requests whose Host
// does not name this machine (DNS rebinding), and answers CORS only for
// localhost origins and RUNNER_ORIGINS. Request bodies are capped.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultMaxBodyBytes caps request bodies unless Config says otherwise.
const DefaultMaxBodyBytes = 32 << 20

// Config configures a Server.
type Config struct {
	// Version is reported by /api/version.
	Version string
	// Logger receives request and model logs; nil means slog.Default().
	Logger *slog.Logger
	// Origins are CORS origins allowed besides localhost ones.
	Origins []string
	// MaxBodyBytes caps request bodies (default 32 MiB).
	MaxBodyBytes int64
	// ShutdownTimeout bounds how long Serve waits for requests in flight
	// after its context ends (default 30s).
	ShutdownTimeout time.Duration
	// Models serves model requests.
	Models *Models
}

// Server is runner's HTTP API.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	requests requestCounter
}

// New makes a server; it listens only when Serve is called.
func New(cfg Config) (*Server, error) {
	if cfg.Models == nil {
		return nil, errors.New("server: no models configured")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

// handlerFunc is a route handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers a route whose errors are answered through the status
// table and logged when they are the server's fault.
func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			status := statusOf(err)
			if status >= 500 {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
			}
			if status == statusClientClosed && r.Context().Err() != nil {
				return // nobody to answer
			}
			writeError(w, r, err)
		}
	})
}

// Handler returns the server's routes behind its middleware, for a server
// listening on addr (which decides the Host check).
func (s *Server) Handler(addr net.Addr) http.Handler {
	return chain(s.requests.count(s.mux),
		recoverPanics(s.log),
		logRequests(s.log),
		checkHost(addr),
		cors(s.cfg.Origins),
		limitBody(s.cfg.MaxBodyBytes),
	)
}

// Serve answers requests on ln until ctx ends, then stops accepting,
// waits for requests in flight (up to ShutdownTimeout), and unloads every
// model.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(ln.Addr()),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("listening", "address", ln.Addr().String(), "version", s.cfg.Version)

	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		s.log.Info("shutting down: finishing requests in flight")
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
		if e := <-served; !errors.Is(e, http.ErrServerClosed) {
			err = errors.Join(err, e)
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if e := s.cfg.Models.Close(sctx); e != nil {
		err = errors.Join(err, fmt.Errorf("unload models: %w", e))
	}
	s.log.Info("stopped")
	return err
}

func (s *Server) routes() {
	s.handle("GET /{$}", s.root)
	s.handle("HEAD /{$}", s.root)
	s.handle("GET /api/version", s.version)
	s.handle("HEAD /api/version", s.version)
	s.handle("GET /metrics", s.metrics)
	s.modelRoutes()
	s.embedRoutes()
	s.generateRoutes()
	s.openAIRoutes()
	s.tokenizeRoutes()
	s.encoderRoutes()
}

func (s *Server) root(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := fmt.Fprint(w, "runner is running")
	return err
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"version": s.cfg.Version})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// decode reads a JSON request body into v, turning malformed JSON and
// wrong types into 400s that say what is wrong.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return err
		case errors.As(err, &syn):
			return badRequest("invalid JSON at byte %d: %v", syn.Offset, err)
		case errors.As(err, &typ):
			return badRequest("invalid value for %q: want %s, got JSON %s", typ.Field, typ.Type, typ.Value)
		case errors.Is(err, io.EOF):
			return badRequest("missing request body")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return badRequest("invalid JSON: the body ends too early")
		}
		return badRequest("invalid request body: %v", err)
	}
	return nil
}
