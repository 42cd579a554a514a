// Package mirror serves model repositories over the Hugging Face Hub's
// protocol, so that runner, Python's huggingface_hub and transformers.js
// can pull from it with HF_ENDPOINT pointed at it.
//
// # Sources
//
// A mirror serves either a directory of repositories laid out as
// DIR/ORG/NAME/... (each with one revision, main, whose commit is derived
// from the content), or a Hugging Face hub cache (every ref and snapshot,
// with the cache's own commits and blob hashes). Air-gapped fleets pull on
// one machine and serve its cache to the others.
//
// # Protocol
//
//	GET  /api/models/{repo}[/revision/{rev}]            repo info (sha, siblings; ?blobs=true adds sizes)
//	GET  /api/models/{repo}/tree/{rev}[/{path}]         listing, paginated with Link rel="next"
//	HEAD /{repo}/resolve/{rev}/{path}                   X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size
//	GET  /{repo}/resolve/{rev}/{path}                   content, with Range
//
// LFS files (graphs, weights, anything over 10 MiB) are served directly
// with their SHA-256 as etag; other files answer a relative 307 to
// /api/resolve-cache/models/{repo}/{commit}/{path}, as the Hub does, and
// carry their git blob sha1 as etag. Missing repositories, revisions and
// files answer 404 with X-Error-Code RepoNotFound, RevisionNotFound and
// EntryNotFound.
//
// # In tests
//
//	srv := httptest.NewServer(mirror.New(mirror.Options{Dir: fixtures}))
//	defer srv.Close() // then HF_ENDPOINT=srv.URL, or modelstore.Options{Endpoint: srv.URL}
//
// or mirrortest.Start(t, dir), which does the same.
package mirror

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"runner/modelstore/hubid"
)

// Options configure a mirror.
type Options struct {
	// Dir is the directory served: repositories as DIR/ORG/NAME, or a hub
	// cache (detected by its models--* folders, or forced with HubCache).
	Dir string
	// HubCache serves Dir as a Hugging Face hub cache.
	HubCache bool
	// PageSize is the most entries in one page of a tree listing (default
	// 1000, as the Hub).
	PageSize int
	// Logger receives request errors (default: discarded).
	Logger *slog.Logger
}

// Server is an http.Handler that speaks the Hub protocol. It is safe for
// concurrent use.
type Server struct {
	src      source
	pageSize int
	log      *slog.Logger
}

// New returns a mirror of opts.Dir. It reads nothing until asked.
func New(opts Options) *Server {
	h := newHasher()
	var src source = &dirSource{root: opts.Dir, h: h}
	if opts.HubCache || isHubCache(opts.Dir) {
		src = &cacheSource{root: opts.Dir, h: h}
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 1000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Server{src: src, pageSize: opts.PageSize, log: log}
}

// ServeHTTP routes a Hub request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	switch {
	case len(segs) >= 3 && segs[0] == "api" && segs[1] == "models":
		s.api(w, r, segs[2:])
	case len(segs) >= 5 && segs[0] == "api" && segs[1] == "resolve-cache" && segs[2] == "models":
		s.resolveCache(w, r, segs[3:])
	default:
		s.resolve(w, r, segs)
	}
}

// splitPath splits an escaped URL path into unescaped segments, so "%2F"
// stays inside its segment.
func splitPath(escaped string) ([]string, error) {
	var segs []string
	for _, raw := range strings.Split(strings.Trim(escaped, "/"), "/") {
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return nil, err
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

// splitRepo takes the repo id off the front of segs: ORG/NAME when the
// segment after it is the keyword, else NAME.
func splitRepo(segs []string, keywords ...string) (repo string, rest []string, ok bool) {
	is := func(i int) bool {
		if i == len(segs) {
			return len(keywords) == 0 || keywords[0] == ""
		}
		for _, k := range keywords {
			if k != "" && segs[i] == k {
				return true
			}
		}
		return false
	}
	switch {
	case len(segs) >= 2 && is(2):
		return segs[0] + "/" + segs[1], segs[2:], true
	case len(segs) >= 1 && is(1):
		return segs[0], segs[1:], true
	}
	return "", nil, false
}

// api serves /api/models/{repo}[/revision/{rev}] and the tree listing.
func (s *Server) api(w http.ResponseWriter, r *http.Request, segs []string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	repo, rest, ok := splitRepo(segs, "", "revision", "tree")
	if !ok {
		writeError(w, "", errRepoNotFound)
		return
	}
	rev := hubid.DefaultRevision
	switch {
	case len(rest) == 0:
		s.info(w, r, repo, rev)
	case rest[0] == "revision" && len(rest) >= 2:
		s.info(w, r, repo, strings.Join(rest[1:], "/"))
	case rest[0] == "tree" && len(rest) >= 2:
		s.tree(w, r, repo, rest[1], strings.Join(rest[2:], "/"))
	default:
		http.NotFound(w, r)
	}
}

type lfsJSON struct {
	OID         string `json:"oid,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

type siblingJSON struct {
	RFilename string   `json:"rfilename"`
	Size      *int64   `json:"size,omitempty"`
	BlobID    string   `json:"blobId,omitempty"`
	LFS       *lfsJSON `json:"lfs,omitempty"`
}

// info answers the repo info of one revision.
func (s *Server) info(w http.ResponseWriter, r *http.Request, repo, rev string) {
	snap, err := s.src.snapshot(repo, rev)
	if err != nil {
		s.fail(w, "", err)
		return
	}
	blobs := r.URL.Query().Get("blobs") == "true"
	siblings := make([]siblingJSON, 0, len(snap.files))
	for _, f := range snap.files {
		sib := siblingJSON{RFilename: f.path}
		if blobs {
			size := f.size
			sib.Size, sib.BlobID = &size, f.blobID
			if f.lfs() {
				sib.LFS = &lfsJSON{SHA256: f.sha256, Size: f.size, PointerSize: len(lfsPointer(f.sha256, f.size))}
			}
		}
		siblings = append(siblings, sib)
	}
	author, _, _ := strings.Cut(repo, "/")
	if !strings.Contains(repo, "/") {
		author = ""
	}
	writeJSON(w, map[string]any{
		"_id": snap.commit[:24], "id": repo, "modelId": repo, "author": author,
		"sha": snap.commit, "lastModified": snap.modified.UTC().Format(time.RFC3339Nano),
		"private": false, "gated": false, "disabled": false, "tags": []string{"onnx"},
		"library_name": "transformers.js", "siblings": siblings,
	})
}

type treeJSON struct {
	Type string   `json:"type"`
	OID  string   `json:"oid"`
	Size int64    `json:"size"`
	Path string   `json:"path"`
	LFS  *lfsJSON `json:"lfs,omitempty"`
}

// tree answers a page of the listing of a revision under dir.
func (s *Server) tree(w http.ResponseWriter, r *http.Request, repo, rev, dir string) {
	snap, err := s.src.snapshot(repo, rev)
	if err != nil {
		s.fail(w, "", err)
		return
	}
	recursive := r.URL.Query().Get("recursive") == "true" || r.URL.Query().Get("recursive") == "1"
	entries := listTree(snap, dir, recursive)
	if entries == nil {
		w.Header().Set("X-Repo-Commit", snap.commit)
		writeError(w, snap.commit, errEntryNotFound)
		return
	}
	start := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		n, aerr := strconv.Atoi(string(b))
		if err != nil || aerr != nil || n < 0 || n > len(entries) {
			http.Error(w, "bad cursor", http.StatusBadRequest)
			return
		}
		start = n
	}
	end := min(start+s.pageSize, len(entries))
	if end < len(entries) {
		next := *r.URL
		next.Scheme, next.Host = "http", r.Host
		if r.TLS != nil {
			next.Scheme = "https"
		}
		q := next.Query()
		q.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
	}
	w.Header().Set("X-Repo-Commit", snap.commit)
	writeJSON(w, entries[start:end])
}

// listTree lists files and folders under dir ("" for the top): direct
// children, or every descendant when recursive. It returns nil when dir is
// not a folder of the snapshot.
func listTree(snap *snapshot, dir string, recursive bool) []treeJSON {
	prefix := ""
	if dir = strings.Trim(dir, "/"); dir != "" {
		prefix = dir + "/"
	}
	entries := []treeJSON{}
	seenDirs := map[string]bool{}
	found := dir == ""
	for _, f := range snap.files {
		rel, ok := strings.CutPrefix(f.path, prefix)
		if !ok {
			continue
		}
		found = true
		parts := strings.Split(rel, "/")
		// The folders on the way, as directory entries.
		for i := 1; i < len(parts); i++ {
			if !recursive && i > 1 {
				break
			}
			d := prefix + strings.Join(parts[:i], "/")
			if !seenDirs[d] {
				seenDirs[d] = true
				entries = append(entries, treeJSON{Type: "directory", OID: dirOID(d), Path: d})
			}
		}
		if !recursive && len(parts) > 1 {
			continue
		}
		e := treeJSON{Type: "file", OID: f.blobID, Size: f.size, Path: f.path}
		if f.lfs() {
			e.LFS = &lfsJSON{OID: f.sha256, Size: f.size, PointerSize: len(lfsPointer(f.sha256, f.size))}
		}
		entries = append(entries, e)
	}
	if !found {
		return nil
	}
	return entries
}

// dirOID is a stable stand-in for a folder's git tree id.
func dirOID(d string) string {
	return fmt.Sprintf("%x", sha1.Sum([]byte("tree "+d)))
}

// resolve serves /{repo}/resolve/{rev}/{path}.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, segs []string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	repo, rest, ok := splitRepo(segs, "resolve")
	if !ok || len(rest) < 3 {
		http.NotFound(w, r)
		return
	}
	rev, filePath := rest[1], strings.Join(rest[2:], "/")
	snap, err := s.src.snapshot(repo, rev)
	if err != nil {
		s.fail(w, "", err)
		return
	}
	f, ok := snap.byPath[filePath]
	if !ok {
		writeError(w, snap.commit, errEntryNotFound)
		return
	}
	if !f.lfs() {
		// Like the Hub: a relative redirect to the content by commit.
		loc := "/api/resolve-cache/models/" + repo + "/" + snap.commit + "/" + hubid.EscapePath(f.path) +
			"?etag=" + url.QueryEscape(`"`+f.blobID+`"`)
		setFileHeaders(w, snap.commit, f)
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	s.serveFile(w, r, snap.commit, f)
}

// resolveCache serves /api/resolve-cache/models/{repo}/{commit}/{path}, the
// target of small files' redirects.
func (s *Server) resolveCache(w http.ResponseWriter, r *http.Request, segs []string) {
	var repo, commit string
	var rest []string
	switch {
	case len(segs) >= 4 && hubid.IsCommit(segs[2]):
		repo, commit, rest = segs[0]+"/"+segs[1], segs[2], segs[3:]
	case len(segs) >= 3 && hubid.IsCommit(segs[1]):
		repo, commit, rest = segs[0], segs[1], segs[2:]
	default:
		http.NotFound(w, r)
		return
	}
	snap, err := s.src.snapshot(repo, commit)
	if err != nil {
		s.fail(w, "", err)
		return
	}
	f, ok := snap.byPath[strings.Join(rest, "/")]
	if !ok {
		writeError(w, snap.commit, errEntryNotFound)
		return
	}
	s.serveFile(w, r, snap.commit, f)
}

func setFileHeaders(w http.ResponseWriter, commit string, f *file) {
	h := w.Header()
	h.Set("X-Repo-Commit", commit)
	h.Set("ETag", `"`+f.etag()+`"`)
	h.Set("Accept-Ranges", "bytes")
	if f.lfs() {
		h.Set("X-Linked-Etag", `"`+f.sha256+`"`)
		h.Set("X-Linked-Size", strconv.FormatInt(f.size, 10))
	}
}

// serveFile sends a file's content with Range support.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, commit string, f *file) {
	fh, err := os.Open(f.abs)
	if err != nil {
		s.fail(w, commit, err)
		return
	}
	defer fh.Close()
	setFileHeaders(w, commit, f)
	ct := mime.TypeByExtension(path.Ext(f.path))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename*=UTF-8''%s`, url.PathEscape(path.Base(f.path))))
	http.ServeContent(w, r, "", f.mtime, fh)
}

// fail answers an error from a source.
func (s *Server) fail(w http.ResponseWriter, commit string, err error) {
	if !errors.Is(err, errRepoNotFound) && !errors.Is(err, errRevisionNotFound) && !errors.Is(err, errEntryNotFound) {
		s.log.Error("mirror", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeError(w, commit, err)
}

// writeError answers a missing repository, revision or entry as the Hub
// does.
func writeError(w http.ResponseWriter, commit string, err error) {
	code, msg := "RepoNotFound", "Repository not found"
	switch {
	case errors.Is(err, errRevisionNotFound):
		code, msg = "RevisionNotFound", "Invalid rev id"
	case errors.Is(err, errEntryNotFound):
		code, msg = "EntryNotFound", "Entry not found"
	}
	h := w.Header()
	h.Set("X-Error-Code", code)
	h.Set("X-Error-Message", msg)
	if commit != "" {
		h.Set("X-Repo-Commit", commit)
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}
