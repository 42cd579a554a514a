package modelstore

import (
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Options configure a Store. The command line fills them from envconfig
// (HF_ENDPOINT, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE,
// HF_HUB_DISABLE_SYMLINKS, RUNNER_DEVICE); tests set them directly.
type Options struct {
	// Endpoint is the Hub or mirror base URL (default https://huggingface.co).
	// It may carry a path prefix.
	Endpoint string
	// CacheDir is the hub cache shared with Python's huggingface_hub. Required.
	CacheDir string
	// Token is sent as "Authorization: Bearer" to the endpoint's host only.
	Token string
	// Offline forbids every request: only cached models resolve.
	Offline bool
	// DisableSymlinks stores files in snapshots as copies instead of
	// symlinks to blobs. Symlinks are also skipped where the filesystem
	// cannot make them.
	DisableSymlinks bool
	// GPU makes the default variant the best for a GPU (fp16) rather than
	// for a CPU (q8).
	GPU bool
	// Concurrency is how many files download at once (default 8).
	Concurrency int
	// HTTPClient is the client whose transport requests use (default
	// http.DefaultClient's). Its redirect policy is replaced.
	HTTPClient *http.Client
	// UserAgent is sent with every request (default "runner").
	UserAgent string
	// HeadTimeout bounds each metadata request: the revision lookup, a page
	// of the listing, the probe of one file (default 10s,
	// HF_HUB_ETAG_TIMEOUT).
	HeadTimeout time.Duration
	// ReadTimeout is how long a download may go without receiving a byte
	// before it is resumed (default 10s, HF_HUB_DOWNLOAD_TIMEOUT).
	ReadTimeout time.Duration
	// Logger receives warnings and debug detail (default: discarded).
	Logger *slog.Logger
}

// DefaultEndpoint is the Hub used when Options.Endpoint is empty.
const DefaultEndpoint = "https://huggingface.co"

// maxSingleResponse is the largest file fetched in one response; larger
// ones are fetched in Range chunks of this size (a CDN limit).
const maxSingleResponse = 50_000_000_000

// Store manages models in a Hugging Face hub cache: it pulls them from the
// Hub, lists, shows, resolves and removes them. A Store is safe for
// concurrent use; two pulls of the same model download each file once (in
// one process through the Store, across processes through the cache's lock
// files).
type Store struct {
	opts        Options
	cache       cacheDir
	hub         *hub
	log         *slog.Logger
	readTimeout time.Duration
	maxResponse int64
	// flight joins concurrent downloads of one blob in this process.
	flight singleflight.Group
	// openPartial opens a blob's .incomplete file; tests swap it.
	openPartial func(path string) (partialFile, error)

	modeOnce sync.Once
	mode     fs.FileMode // of new files in the cache
	linkOnce sync.Once
	symlinks bool // whether the cache can hold symlinks

	infoMu sync.Mutex
	infos  map[infoKey]graphSummary // ONNX summaries by file identity
}

// New returns a Store for the cache and endpoint in opts. It does no I/O.
func New(opts Options) (*Store, error) {
	if opts.CacheDir == "" {
		return nil, fmt.Errorf("modelstore: Options.CacheDir is required")
	}
	if opts.Endpoint == "" {
		opts.Endpoint = DefaultEndpoint
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "runner"
	}
	if opts.HeadTimeout <= 0 {
		opts.HeadTimeout = 10 * time.Second
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	h, err := newHub(opts.Endpoint, opts.Token, opts.Offline, opts.UserAgent, base, opts.HeadTimeout, log)
	if err != nil {
		return nil, err
	}
	return &Store{
		opts: opts, cache: cacheDir(opts.CacheDir), hub: h, log: log,
		readTimeout: opts.ReadTimeout, maxResponse: maxSingleResponse,
		openPartial: openPartial, infos: map[infoKey]graphSummary{},
	}, nil
}

// CacheDir returns the hub cache the Store manages.
func (s *Store) CacheDir() string { return string(s.cache) }

// fileMode returns the mode new files get in the cache.
func (s *Store) fileMode() fs.FileMode {
	s.modeOnce.Do(func() { s.mode = newFileMode(string(s.cache)) })
	return s.mode
}

// useSymlinks reports whether snapshots hold symlinks to blobs.
func (s *Store) useSymlinks() bool {
	s.linkOnce.Do(func() {
		s.symlinks = !s.opts.DisableSymlinks && symlinksWork(string(s.cache))
		if !s.symlinks && !s.opts.DisableSymlinks {
			s.log.Warn("the cache's filesystem cannot hold symlinks; snapshots get copies", "cache", s.cache)
		}
	})
	return s.symlinks
}
