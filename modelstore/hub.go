package modelstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"runner/modelstore/hubid"
)

// hub is a client of the Hub protocol (HUB_PROTOCOL.md) for one endpoint.
type hub struct {
	endpoint    *url.URL
	token       string
	offline     bool
	userAgent   string
	client      *http.Client
	headTimeout time.Duration
	log         *slog.Logger
	// sleep waits between retries; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	warnMu sync.Mutex
	warned map[string]bool // X-HF-Warning topics already logged
}

// maxRetries is how many times a transient failure is retried.
const maxRetries = 5

// backoff returns the wait before retry n (0-based): 1, 2, 4, 8, 8 s.
func backoff(n int) time.Duration {
	return time.Duration(1<<min(n, 3)) * time.Second
}

func newHub(endpoint, token string, offline bool, ua string, base *http.Client, headTimeout time.Duration, log *slog.Logger) (*hub, error) {
	u, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hub endpoint %q: want an http(s) URL", endpoint)
	}
	h := &hub{
		endpoint: u, token: token, offline: offline, userAgent: ua,
		headTimeout: headTimeout, log: log, sleep: sleepCtx, warned: map[string]bool{},
	}
	c := *base
	// The token goes only to the endpoint host: strip it whenever a redirect
	// changes host:port (net/http keeps it for subdomains, such as a CDN).
	// HEAD redirects are followed by hand, relative ones only.
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Method == http.MethodHead {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if hostPort(req.URL) != hostPort(via[0].URL) || hostPort(req.URL) != hostPort(h.endpoint) {
			req.Header.Del("Authorization")
		}
		return nil
	}
	h.client = &c
	return h, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// hostPort returns host:port with the scheme's default port filled in.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// errOffline is what any request attempted in offline mode fails with.
var errOffline = errors.New("offline mode (HF_HUB_OFFLINE) forbids requests to the Hub")

// newRequest builds a request with the headers every Hub call carries; the
// token is added only when u is on the endpoint's host:port.
func (h *hub) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	if h.offline {
		return nil, errOffline
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", h.userAgent)
	if h.token != "" && hostPort(req.URL) == hostPort(h.endpoint) {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	return req, nil
}

func (h *hub) url(path string) string { return h.endpoint.String() + path }

func (h *hub) resolveURL(repo, rev, path string) string {
	return h.url("/" + repo + "/resolve/" + hubid.EscapeRevision(rev) + "/" + hubid.EscapePath(path))
}

// checkStatus turns an error answer into a *HubError (nil for 2xx/3xx).
func (h *hub) checkStatus(op string, resp *http.Response) error {
	if resp.StatusCode < 400 {
		return nil
	}
	h.logWarning(resp)
	e := &HubError{
		Op: op, URL: resp.Request.URL.Redacted(), Status: resp.StatusCode,
		Code:      resp.Header.Get("X-Error-Code"),
		Message:   resp.Header.Get("X-Error-Message"),
		RequestID: resp.Header.Get("X-Request-Id"),
	}
	switch {
	case e.Code == "RevisionNotFound":
		e.Err = ErrRevisionNotFound
	case e.Code == "EntryNotFound":
		e.Err = ErrEntryNotFound
	case e.Code == "GatedRepo":
		e.Err = ErrGated
	case e.Message == "Access to this resource is disabled.":
		e.Err = ErrForbidden
	case e.Code == "RepoNotFound":
		e.Err = ErrRepoNotFound
	case e.Status == http.StatusUnauthorized && e.Message == "Invalid credentials in Authorization header":
		e.Err = ErrBadToken
	case e.Status == http.StatusUnauthorized:
		e.Err = ErrRepoNotFound
	case e.Status == http.StatusForbidden:
		e.Err = ErrForbidden
	}
	return e
}

// logWarning logs an X-HF-Warning once per topic.
func (h *hub) logWarning(resp *http.Response) {
	w := resp.Header.Get("X-HF-Warning")
	if w == "" {
		return
	}
	topic, msg, _ := strings.Cut(w, ";")
	h.warnMu.Lock()
	seen := h.warned[topic]
	h.warned[topic] = true
	h.warnMu.Unlock()
	if !seen {
		h.log.Warn("hub warning", "topic", strings.TrimSpace(topic), "message", strings.TrimSpace(msg))
	}
}

// transient reports whether a failure may pass on retry: network errors,
// timeouts, 408, 429 and 5xx answers.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, errOffline) {
		return false
	}
	var he *HubError
	if errors.As(err, &he) {
		return he.Status == http.StatusRequestTimeout || he.Status == http.StatusTooManyRequests || he.Status >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errReadTimeout)
}

// rateLimited carries the wait a 429 asked for.
type rateLimited struct{ wait time.Duration }

var rateLimitRE = regexp.MustCompile(`(?:^|;)\s*t=(\d+)`)

// retryAfter returns the wait a 429 answer asks for (Retry-After: N or
// RateLimit: "api";r=0;t=N), plus one second as Python adds; 0 if none.
func retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && n >= 0 {
		return time.Duration(n+1) * time.Second
	}
	if m := rateLimitRE.FindStringSubmatch(resp.Header.Get("RateLimit")); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return time.Duration(n+1) * time.Second
		}
	}
	return 0
}

// withRetry runs try until it succeeds, fails for good, or maxRetries
// transient failures have passed, waiting backoff (or what a 429 asked for)
// between tries. try returns the wait a 429 asked for alongside its error.
func (h *hub) withRetry(ctx context.Context, retries int, try func() (time.Duration, error)) error {
	for n := 0; ; n++ {
		wait, err := try()
		if err == nil || !transient(err) || n >= retries || ctx.Err() != nil {
			return err
		}
		if wait == 0 {
			wait = backoff(n)
		}
		h.log.Debug("hub request failed, retrying", "err", err, "wait", wait)
		if serr := h.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// getJSON GETs an API URL and decodes its JSON body into v, returning the
// response headers. Transient failures are retried retries times.
func (h *hub) getJSON(ctx context.Context, op, u string, retries int, v any) (http.Header, error) {
	var hdr http.Header
	err := h.withRetry(ctx, retries, func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(ctx, h.headTimeout)
		defer cancel()
		req, err := h.newRequest(ctx, http.MethodGet, u)
		if err != nil {
			return 0, err
		}
		resp, err := h.client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", op, err)
		}
		defer resp.Body.Close()
		if err := h.checkStatus(op, resp); err != nil {
			return retryAfter(resp), err
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return 0, fmt.Errorf("%s: %w: %v", op, ErrBadResponse, err)
		}
		hdr = resp.Header
		return 0, nil
	})
	return hdr, err
}

// resolveRevision asks the Hub which commit a revision points to.
func (h *hub) resolveRevision(ctx context.Context, repo, rev string, retries int) (string, error) {
	var info struct {
		SHA string `json:"sha"`
	}
	op := "resolve " + repo + "@" + rev
	if _, err := h.getJSON(ctx, op, h.url("/api/models/"+repo+"/revision/"+hubid.EscapeRevision(rev)), retries, &info); err != nil {
		return "", err
	}
	if !hubid.IsCommit(info.SHA) {
		return "", fmt.Errorf("%s: %w: sha %q is not a commit", op, ErrBadResponse, info.SHA)
	}
	return info.SHA, nil
}

// RepoFile is one file of a repository revision as the Hub lists it.
type RepoFile struct {
	// Path is the slash-separated path in the repository.
	Path string
	// Size is the content size in bytes.
	Size int64
	// BlobID is the git blob id (sha1 of the file, or of its LFS pointer).
	BlobID string
	// LFSSHA256 is the content's SHA-256 for LFS (and Xet) files.
	LFSSHA256 string
	// XetHash is the Xet content hash, when the file is stored with Xet.
	XetHash string
}

// Etag returns the file's normalised etag, the name of its blob in the
// cache: the SHA-256 of LFS files, the git blob sha1 of the others.
func (f RepoFile) Etag() string {
	if f.LFSSHA256 != "" {
		return f.LFSSHA256
	}
	return f.BlobID
}

type treeEntry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	OID  string `json:"oid"`
	Size int64  `json:"size"`
	LFS  *struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	} `json:"lfs"`
	XetHash string `json:"xetHash"`
}

// listTree lists every file of a commit, following the Link rel="next"
// pages.
func (h *hub) listTree(ctx context.Context, repo, commit string, retries int) ([]RepoFile, error) {
	op := "list " + repo + "@" + commit
	next := h.url("/api/models/" + repo + "/tree/" + hubid.EscapeRevision(commit) + "?recursive=true&expand=false")
	var files []RepoFile
	for pages := 0; next != ""; pages++ {
		if pages > 100000 {
			return nil, fmt.Errorf("%s: %w: endless pagination", op, ErrBadResponse)
		}
		var entries []treeEntry
		hdr, err := h.getJSON(ctx, op, next, retries, &entries)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type != "file" {
				continue
			}
			f := RepoFile{Path: e.Path, Size: e.Size, BlobID: e.OID, XetHash: e.XetHash}
			if e.LFS != nil {
				f.LFSSHA256, f.Size = e.LFS.OID, e.LFS.Size
			}
			files = append(files, f)
		}
		next, err = nextLink(next, hdr.Get("Link"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", op, ErrBadResponse, err)
		}
	}
	return files, nil
}

var linkNextRE = regexp.MustCompile(`<([^>]*)>\s*;[^,]*rel="?next"?`)

// nextLink returns the URL of the Link header's rel="next", resolved
// against the current URL, or "" when there is none.
func nextLink(current, link string) (string, error) {
	m := linkNextRE.FindStringSubmatch(link)
	if m == nil {
		return "", nil
	}
	base, err := url.Parse(current)
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(m[1])
	if err != nil {
		return "", err
	}
	return base.ResolveReference(ref).String(), nil
}

// fileMeta is what the HEAD probe learns of a file.
type fileMeta struct {
	Commit   string
	Etag     string
	Size     int64
	Location string // where to GET the content
}

var etagRE = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// normaliseEtag removes a leading W/ and the surrounding quotes.
func normaliseEtag(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.Trim(s, `"`)
}

// head sends the HEAD probe for a file, following relative redirects only,
// and reads commit, etag, size and download location from the last answer.
func (h *hub) head(ctx context.Context, repo, rev, path string, retries int) (fileMeta, error) {
	var meta fileMeta
	op := "probe " + repo + "/" + path
	err := h.withRetry(ctx, retries, func() (time.Duration, error) {
		var wait time.Duration
		var err error
		meta, wait, err = h.headOnce(ctx, op, h.resolveURL(repo, rev, path))
		return wait, err
	})
	return meta, err
}

func (h *hub) headOnce(ctx context.Context, op, u string) (fileMeta, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, h.headTimeout)
	defer cancel()
	for hops := 0; ; hops++ {
		if hops > 10 {
			return fileMeta{}, 0, fmt.Errorf("%s: %w: too many redirects", op, ErrBadResponse)
		}
		req, err := h.newRequest(ctx, http.MethodHead, u)
		if err != nil {
			return fileMeta{}, 0, err
		}
		req.Header.Set("Accept-Encoding", "identity")
		req.Header.Set("X-Amzn-Trace-Id", newTraceID())
		resp, err := h.client.Do(req)
		if err != nil {
			return fileMeta{}, 0, fmt.Errorf("%s: %w", op, err)
		}
		resp.Body.Close()
		if err := h.checkStatus(op, resp); err != nil {
			if errors.Is(err, ErrEntryNotFound) {
				err = &entryMissing{HubError: err.(*HubError), commit: resp.Header.Get("X-Repo-Commit")}
			}
			return fileMeta{}, retryAfter(resp), err
		}
		redirect := resp.StatusCode >= 300 && resp.StatusCode < 400
		loc := resp.Header.Get("Location")
		if redirect && loc != "" {
			lu, err := url.Parse(loc)
			if err != nil {
				return fileMeta{}, 0, fmt.Errorf("%s: %w: bad Location %q", op, ErrBadResponse, loc)
			}
			if lu.Host == "" { // relative: follow it on the same host
				cur, _ := url.Parse(u)
				cur.Path, cur.RawPath = lu.Path, lu.RawPath
				u = cur.String()
				continue
			}
		}
		meta := fileMeta{
			Commit:   resp.Header.Get("X-Repo-Commit"),
			Etag:     normaliseEtag(resp.Header.Get("X-Linked-Etag")),
			Location: u,
		}
		if meta.Etag == "" {
			meta.Etag = normaliseEtag(resp.Header.Get("ETag"))
		}
		size := resp.Header.Get("X-Linked-Size")
		if size == "" && !redirect {
			size = resp.Header.Get("Content-Length")
		}
		if redirect && loc != "" {
			meta.Location = loc
		}
		n, serr := strconv.ParseInt(size, 10, 64)
		if meta.Commit == "" || meta.Etag == "" || serr != nil || n < 0 {
			return fileMeta{}, 0, fmt.Errorf("%s: %w: missing X-Repo-Commit, ETag or size", op, ErrBadResponse)
		}
		if !etagRE.MatchString(meta.Etag) {
			return fileMeta{}, 0, fmt.Errorf("%s: %w: etag %q is not a sha1 or sha256", op, ErrBadResponse, meta.Etag)
		}
		meta.Size = n
		return meta, 0, nil
	}
}

// entryMissing is an EntryNotFound answer with the commit it came with.
type entryMissing struct {
	*HubError
	commit string
}

func (e *entryMissing) Unwrap() error { return e.HubError }

func newTraceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
