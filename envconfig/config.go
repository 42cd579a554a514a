// Package envconfig is the one registry of the environment variables runner
// reads. Each variable is a function that reads the environment when called,
// never at package initialisation, so tests can change it with t.Setenv.
//
// # Registry
//
// [All] lists every variable with its current value and a description; it
// feeds `runner serve --help` and the start-up log line.
package envconfig

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// DefaultHost is the address runner listens on (and its clients call) when
// RUNNER_HOST is unset: Ollama's port on the loopback interface.
const DefaultHost = "127.0.0.1:11434"

// DefaultEndpoint is the Hugging Face Hub used when HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// Var returns the trimmed value of an environment variable, with surrounding
// quotes removed, as users often write RUNNER_HOST="0.0.0.0".
func Var(key string) string {
	return strings.Trim(strings.TrimSpace(os.Getenv(key)), `"'`)
}

// Host returns host:port from RUNNER_HOST, defaulting to 127.0.0.1:11434.
// A bare host gets the default port; a scheme (http://) is dropped.
func Host() string {
	s := Var("RUNNER_HOST")
	if s == "" {
		return DefaultHost
	}
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	s, _, _ = strings.Cut(s, "/")
	if _, _, err := net.SplitHostPort(s); err != nil {
		s = net.JoinHostPort(strings.Trim(s, "[]"), "11434")
	}
	return s
}

// ORTLibrary returns RUNNER_ORT_LIB, the path to the ONNX Runtime shared
// library, or "" to use the default search.
func ORTLibrary() string { return Var("RUNNER_ORT_LIB") }

// KeepAlive returns RUNNER_KEEP_ALIVE: how long an idle model stays loaded
// (default 5m). A bare number is seconds; a negative value means forever.
func KeepAlive() time.Duration {
	const def = 5 * time.Minute
	s := Var("RUNNER_KEEP_ALIVE")
	if s == "" {
		return def
	}
	d, err := ParseKeepAlive(s)
	if err != nil {
		slog.Warn("invalid RUNNER_KEEP_ALIVE, using default", "value", s, "default", def)
		return def
	}
	return d
}

// ParseKeepAlive parses a keep-alive value as Ollama does: a number of
// seconds or a Go duration; any negative value becomes a very long duration
// (forever).
func ParseKeepAlive(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		d = time.Duration(n * float64(time.Second))
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("keep_alive %q: want seconds or a duration such as 5m", s)
		}
	}
	if d < 0 {
		return Forever, nil
	}
	return d, nil
}

// Forever is the keep-alive of a model that never unloads while idle.
const Forever = time.Duration(1<<63 - 1)

// MaxLoadedModels returns RUNNER_MAX_LOADED_MODELS (default 3 per CPU
// machine): how many models may be loaded at once before idle ones are evicted.
func MaxLoadedModels() int { return positiveInt("RUNNER_MAX_LOADED_MODELS", 3) }

// MaxQueue returns RUNNER_MAX_QUEUE (default 512): how many requests may wait
// per model before new ones are refused at once.
func MaxQueue() int { return positiveInt("RUNNER_MAX_QUEUE", 512) }

// MaxBatchTokens returns RUNNER_MAX_BATCH_TOKENS: the most tokens, padding
// included, in one encoder batch (default 0: the engine's default).
func MaxBatchTokens() int { return positiveInt("RUNNER_MAX_BATCH_TOKENS", 0) }

// NumThreads returns RUNNER_NUM_THREADS: ONNX Runtime's intra-op threads
// per model (default 0: one per physical core).
func NumThreads() int { return positiveInt("RUNNER_NUM_THREADS", 0) }

// Origins returns the extra CORS origins allowed by RUNNER_ORIGINS
// (comma-separated); localhost origins are always allowed.
func Origins() []string {
	var out []string
	for _, o := range strings.Split(Var("RUNNER_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// Device returns RUNNER_DEVICE: cpu, cuda or auto (default auto).
func Device() string {
	switch d := strings.ToLower(Var("RUNNER_DEVICE")); d {
	case "":
		return "auto"
	default:
		return d
	}
}

// Debug reports whether RUNNER_DEBUG asks for debug logs.
func Debug() bool { return truthy(Var("RUNNER_DEBUG")) }

// HFEndpoint returns HF_ENDPOINT without a trailing slash (default
// https://huggingface.co).
func HFEndpoint() string {
	if s := strings.TrimRight(Var("HF_ENDPOINT"), "/"); s != "" {
		return s
	}
	return DefaultEndpoint
}

// HFHome returns the Hugging Face home: HF_HOME, else
// $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface, on every OS.
func HFHome() string {
	if s := Var("HF_HOME"); s != "" {
		return expandPath(s)
	}
	if s := Var("XDG_CACHE_HOME"); s != "" {
		return filepath.Join(expandPath(s), "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface")
}

// HFHubCache returns the hub cache directory: HF_HUB_CACHE, else
// HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub.
func HFHubCache() string {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if s := Var(k); s != "" {
			return expandPath(s)
		}
	}
	return filepath.Join(HFHome(), "hub")
}

// HFToken returns the Hub token: HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else
// the file HF_TOKEN_PATH (default $HF_HOME/token). "" means anonymous.
func HFToken() string {
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if s := Var(k); s != "" {
			return s
		}
	}
	if truthy(Var("HF_HUB_DISABLE_IMPLICIT_TOKEN")) {
		return ""
	}
	path := Var("HF_TOKEN_PATH")
	if path == "" {
		path = filepath.Join(HFHome(), "token")
	}
	b, err := os.ReadFile(expandPath(path))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// HFOffline reports whether HF_HUB_OFFLINE (or the legacy
// TRANSFORMERS_OFFLINE) forbids every request to the Hub.
func HFOffline() bool {
	return truthy(Var("HF_HUB_OFFLINE")) || truthy(Var("TRANSFORMERS_OFFLINE"))
}

// HFDisableSymlinks reports whether HF_HUB_DISABLE_SYMLINKS asks for copies
// instead of symlinks in snapshots.
func HFDisableSymlinks() bool { return truthy(Var("HF_HUB_DISABLE_SYMLINKS")) }

// HFEtagTimeout returns HF_HUB_ETAG_TIMEOUT: how long the metadata probe
// of one file may take, in seconds (default 10).
func HFEtagTimeout() time.Duration { return seconds("HF_HUB_ETAG_TIMEOUT", 10) }

// HFDownloadTimeout returns HF_HUB_DOWNLOAD_TIMEOUT: how long a download
// may receive nothing before it is resumed, in seconds (default 10).
func HFDownloadTimeout() time.Duration { return seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10) }

// Entry is one variable in the registry.
type Entry struct {
	Name        string
	Value       any
	Description string
}

// All returns the registry: every variable runner reads, its current value
// and what it does.
func All() []Entry {
	token := "(unset)"
	if HFToken() != "" {
		token = "(set)"
	}
	return []Entry{
		{"RUNNER_HOST", Host(), "Address to listen on and to call (default " + DefaultHost + ")"},
		{"RUNNER_ORT_LIB", ORTLibrary(), "Path to the ONNX Runtime shared library (default: the one make deps fetched)"},
		{"RUNNER_KEEP_ALIVE", KeepAlive(), "How long an idle model stays loaded: seconds or a duration, negative for ever (default 5m)"},
		{"RUNNER_MAX_LOADED_MODELS", MaxLoadedModels(), "Most models loaded at once; idle ones are evicted least recently used first (default 3), and when a new model would not fit in the memory available"},
		{"RUNNER_MAX_QUEUE", MaxQueue(), "Most requests waiting per model before new ones get 503 (default 512)"},
		{"RUNNER_MAX_BATCH_TOKENS", MaxBatchTokens(), "Most tokens, padding included, in one embedding or classification batch (default 1024 on CPU, 16384 on GPU)"},
		{"RUNNER_NUM_THREADS", NumThreads(), "ONNX Runtime threads per model (default: one per physical core)"},
		{"RUNNER_ORIGINS", Origins(), "Extra allowed CORS origins, comma-separated (localhost is always allowed)"},
		{"RUNNER_DEVICE", Device(), "Execution device: cpu, cuda or auto (default auto)"},
		{"RUNNER_DEBUG", Debug(), "Log debug detail (1, true)"},
		{"HF_ENDPOINT", HFEndpoint(), "Hugging Face Hub or mirror base URL (default " + DefaultEndpoint + ")"},
		{"HF_HOME", HFHome(), "Hugging Face home (default ~/.cache/huggingface)"},
		{"HF_HUB_CACHE", HFHubCache(), "Model cache shared with Python's huggingface_hub (default $HF_HOME/hub)"},
		{"HF_TOKEN", token, "Hub access token, for gated and private repos (also HF_TOKEN_PATH, default $HF_HOME/token)"},
		{"HF_HUB_OFFLINE", HFOffline(), "Use only cached models; send no request to the Hub (1, true)"},
		{"HF_HUB_ETAG_TIMEOUT", HFEtagTimeout(), "Seconds the metadata probe of a file may take (default 10)"},
		{"HF_HUB_DOWNLOAD_TIMEOUT", HFDownloadTimeout(), "Seconds a download may stall before it resumes (default 10)"},
	}
}

// LogValues logs the registry once, as `runner serve` does on start-up.
func LogValues(log *slog.Logger) {
	args := make([]any, 0, 2*len(All()))
	for _, e := range All() {
		args = append(args, e.Name, e.Value)
	}
	log.Info("server config", args...)
}

func positiveInt(key string, def int) int {
	s := Var(key)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		slog.Warn("invalid "+key+", using default", "value", s, "default", def)
		return def
	}
	return n
}

// seconds reads a number of seconds (fractions allowed), as
// huggingface_hub reads its timeouts.
func seconds(key string, def float64) time.Duration {
	s := Var(key)
	if s == "" {
		return time.Duration(def * float64(time.Second))
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		slog.Warn("invalid "+key+", using default", "value", s, "default", def)
		n = def
	}
	return time.Duration(n * float64(time.Second))
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "on", "yes", "true", "y", "t":
		return true
	}
	return false
}

// expandPath expands a leading ~ and $VARS, as huggingface_hub does.
func expandPath(p string) string {
	p = os.ExpandEnv(p)
	if p == "~" || strings.HasPrefix(p, "~/") || (runtime.GOOS == "windows" && strings.HasPrefix(p, `~\`)) {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	return p
}
