package server

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"time"
)

// middleware wraps a handler.
type middleware func(http.Handler) http.Handler

func chain(h http.Handler, ms ...middleware) http.Handler {
	for i := len(ms) - 1; i >= 0; i-- {
		h = ms[i](h)
	}
	return h
}

// recoverPanics turns a panic in a handler into a 500 and a log line; the
// server keeps serving.
func recoverPanics(log *slog.Logger) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
					writeError(w, r, errInternal)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs each request at debug level with its status and duration.
func logRequests(log *slog.Logger) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
		})
	}
}

// limitBody caps request bodies; a larger body fails to decode with 413.
func limitBody(n int64) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// checkHost defends against DNS rebinding: when the server listens only on
// loopback, a request must name a local host. A web page on evil.example
// that resolves its name to 127.0.0.1 is refused with 403.
func checkHost(listen net.Addr) middleware {
	loopbackOnly := false
	if listen != nil {
		if ap, err := netip.ParseAddrPort(listen.String()); err == nil && ap.Addr().IsLoopback() {
			loopbackOnly = true
		}
	}
	return func(next http.Handler) http.Handler {
		if !loopbackOnly {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !localHost(r.Host) {
				writeError(w, r, errForbiddenHost)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// localHost reports whether a Host header names this machine.
func localHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.IsLoopback() || ip.IsUnspecified()
	}
	if name, err := os.Hostname(); err == nil && host == strings.ToLower(name) {
		return true
	}
	return false
}

// cors answers preflight requests and sets Access-Control-Allow-Origin for
// allowed origins: localhost ones always, plus those configured (entries may
// end in * as a wildcard, or be * alone).
func cors(extra []string) middleware {
	allowed := append([]string{
		"http://localhost", "https://localhost", "http://localhost:*", "https://localhost:*",
		"http://127.0.0.1", "https://127.0.0.1", "http://127.0.0.1:*", "https://127.0.0.1:*",
		"http://[::1]", "https://[::1]", "http://[::1]:*", "https://[::1]:*",
		"http://0.0.0.0", "https://0.0.0.0", "http://0.0.0.0:*", "https://0.0.0.0:*",
		"app://*", "file://*", "tauri://*", "vscode-webview://*",
	}, extra...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			if !originAllowed(origin, allowed) {
				if r.Method == http.MethodOptions {
					writeError(w, r, errForbiddenOrigin)
					return
				}
				next.ServeHTTP(w, r) // no CORS headers: the browser blocks the reply
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, X-Stainless-Lang, X-Stainless-Package-Version, X-Stainless-OS, X-Stainless-Arch, X-Stainless-Runtime, X-Stainless-Runtime-Version, X-Stainless-Retry-Count, X-Stainless-Timeout")
				h.Set("Access-Control-Max-Age", "43200")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func originAllowed(origin string, allowed []string) bool {
	origin = strings.ToLower(origin)
	for _, a := range allowed {
		a = strings.ToLower(a)
		switch {
		case a == "*" || a == origin:
			return true
		case strings.HasSuffix(a, "*") && strings.HasPrefix(origin, strings.TrimSuffix(a, "*")):
			rest := strings.TrimPrefix(origin, strings.TrimSuffix(a, "*"))
			// "http://localhost:*" must not match "http://localhost:1.evil.example".
			if strings.HasSuffix(a, ":*") && strings.Trim(rest, "0123456789") != "" {
				continue
			}
			return true
		}
	}
	return false
}
