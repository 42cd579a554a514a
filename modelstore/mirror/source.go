package mirror

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"runner/modelstore/hubid"
)

// Errors a source answers with; the server turns them into the Hub's
// X-Error-Code answers.
var (
	errRepoNotFound     = errors.New("repository not found")
	errRevisionNotFound = errors.New("revision not found")
	errEntryNotFound    = errors.New("entry not found")
)

// snapshot is one revision of a repository as the mirror serves it.
type snapshot struct {
	commit   string
	modified time.Time
	files    []*file // sorted by path
	byPath   map[string]*file
}

// file is one file of a snapshot.
type file struct {
	path   string // slash path in the repository
	abs    string // where its content is read
	size   int64
	mtime  time.Time
	blobID string // git blob sha1 of the content, or of its LFS pointer
	sha256 string // content SHA-256, for LFS files
}

// lfs reports whether the file is served as an LFS file.
func (f *file) lfs() bool { return f.sha256 != "" }

// etag is the file's etag: the SHA-256 for LFS files, the git blob id else.
func (f *file) etag() string {
	if f.lfs() {
		return f.sha256
	}
	return f.blobID
}

func newSnapshot(commit string, files []*file) *snapshot {
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	s := &snapshot{commit: commit, files: files, byPath: make(map[string]*file, len(files))}
	for _, f := range files {
		s.byPath[f.path] = f
		if f.mtime.After(s.modified) {
			s.modified = f.mtime
		}
	}
	return s
}

// source is a set of repositories.
type source interface {
	// snapshot returns repo at rev, or errRepoNotFound / errRevisionNotFound.
	snapshot(repo, rev string) (*snapshot, error)
}

// hashes are a file's content hashes.
type hashes struct {
	gitSHA1 string
	sha256  string
}

type hashKey struct {
	path  string
	size  int64
	mtime time.Time
}

// hasher computes file hashes once per file version, so large files are
// not read again for every request.
type hasher struct {
	mu     sync.Mutex
	known  map[hashKey]hashes
	flight singleflight.Group
}

func newHasher() *hasher { return &hasher{known: map[hashKey]hashes{}} }

// hash returns the git blob sha1 and, when withSHA256, the SHA-256 of the
// file at abs.
func (h *hasher) hash(abs string, st fs.FileInfo, withSHA256 bool) (hashes, error) {
	key := hashKey{abs, st.Size(), st.ModTime()}
	h.mu.Lock()
	got, ok := h.known[key]
	h.mu.Unlock()
	if ok && (got.sha256 != "" || !withSHA256) {
		return got, nil
	}
	v, err, _ := h.flight.Do(fmt.Sprint(key), func() (any, error) {
		f, err := os.Open(abs)
		if err != nil {
			return hashes{}, err
		}
		defer f.Close()
		s1, s256 := sha1.New(), sha256.New()
		fmt.Fprintf(s1, "blob %d\x00", st.Size())
		if _, err := io.Copy(io.MultiWriter(s1, s256), f); err != nil {
			return hashes{}, fmt.Errorf("hash %s: %w", abs, err)
		}
		r := hashes{hex.EncodeToString(s1.Sum(nil)), hex.EncodeToString(s256.Sum(nil))}
		h.mu.Lock()
		h.known[key] = r
		h.mu.Unlock()
		return r, nil
	})
	if err != nil {
		return hashes{}, err
	}
	return v.(hashes), nil
}

// pointerBlobID is the git blob id of the LFS pointer file for content with
// this SHA-256 and size, as the Hub reports it in a tree's oid.
func pointerBlobID(sha string, size int64) string {
	p := lfsPointer(sha, size)
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(p), p)
	return hex.EncodeToString(h.Sum(nil))
}

func lfsPointer(sha string, size int64) string {
	return fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sha, size)
}

// lfsThreshold is the size above which any file is stored in LFS (the Hub
// refuses larger plain git files).
const lfsThreshold = 10 << 20

// lfsExtensions are the binary formats Hub repositories keep in LFS.
var lfsExtensions = map[string]bool{
	".onnx": true, ".onnx_data": true, ".data": true, ".bin": true, ".safetensors": true, ".pt": true,
	".pth": true, ".ckpt": true, ".h5": true, ".msgpack": true, ".model": true, ".tflite": true,
	".pb": true, ".gguf": true, ".npy": true, ".npz": true, ".ot": true, ".zip": true, ".gz": true,
	".tar": true, ".wasm": true, ".png": true, ".jpg": true, ".jpeg": true, ".ort": true,
}

// isLFS reports whether a plain file would be an LFS file on the Hub.
func isLFS(p string, size int64) bool {
	name := path.Base(p)
	return size > lfsThreshold || lfsExtensions[strings.ToLower(path.Ext(name))] || strings.Contains(name, ".onnx_data")
}

// dirSource serves DIR/ORG/NAME (or DIR/NAME) folders laid out like Hub
// repositories. Each has one revision, main, whose commit is derived from
// the content: the sha1 over the sorted paths and their blob ids.
type dirSource struct {
	root string
	h    *hasher
}

func (d *dirSource) snapshot(repo, rev string) (*snapshot, error) {
	if !hubid.ValidRepoID(repo) {
		return nil, errRepoNotFound
	}
	dir := filepath.Join(d.root, filepath.FromSlash(repo))
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, errRepoNotFound
	}
	var files []*file
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != dir {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f := &file{path: filepath.ToSlash(rel), abs: p, size: st.Size(), mtime: st.ModTime()}
		lfs := isLFS(f.path, f.size)
		hs, err := d.h.hash(p, st, lfs)
		if err != nil {
			return err
		}
		f.blobID = hs.gitSHA1
		if lfs {
			f.sha256, f.blobID = hs.sha256, pointerBlobID(hs.sha256, f.size)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	snap := newSnapshot("", files)
	c := sha1.New()
	for _, f := range snap.files {
		fmt.Fprintf(c, "%s\x00%s\n", f.path, f.blobID)
	}
	snap.commit = hex.EncodeToString(c.Sum(nil))
	if rev != hubid.DefaultRevision && rev != snap.commit {
		return nil, errRevisionNotFound
	}
	return snap, nil
}

// cacheSource serves the repositories of a Hugging Face hub cache: every
// ref and every snapshot commit is a revision.
type cacheSource struct {
	root string
	h    *hasher
}

func (c *cacheSource) snapshot(repo, rev string) (*snapshot, error) {
	if !hubid.ValidRepoID(repo) {
		return nil, errRepoNotFound
	}
	repoDir := filepath.Join(c.root, hubid.RepoFolder(repo))
	if st, err := os.Stat(repoDir); err != nil || !st.IsDir() {
		return nil, errRepoNotFound
	}
	commit := rev
	if !hubid.IsCommit(rev) {
		if strings.Contains(rev, "..") {
			return nil, errRevisionNotFound
		}
		b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(rev)))
		if err != nil {
			return nil, errRevisionNotFound
		}
		commit = strings.TrimSpace(string(b))
	}
	snapDir := filepath.Join(repoDir, "snapshots", commit)
	if !hubid.IsCommit(commit) {
		return nil, errRevisionNotFound
	}
	if st, err := os.Stat(snapDir); err != nil || !st.IsDir() {
		return nil, errRevisionNotFound
	}
	listed := readTreeBlobIDs(filepath.Join(repoDir, "trees", commit+".json"))
	var files []*file
	err := filepath.WalkDir(snapDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			return nil // broken link
		}
		rel, err := filepath.Rel(snapDir, p)
		if err != nil {
			return err
		}
		f := &file{path: filepath.ToSlash(rel), abs: p, size: st.Size(), mtime: st.ModTime()}
		etag := ""
		if target, err := os.Readlink(p); err == nil {
			etag = filepath.Base(target)
		}
		switch {
		case len(etag) == 64:
			f.sha256, f.blobID = etag, pointerBlobID(etag, f.size)
		case len(etag) == 40:
			f.blobID = etag
		default: // a copy (no symlinks): hash it
			lfs := isLFS(f.path, f.size)
			hs, err := c.h.hash(p, st, lfs)
			if err != nil {
				return err
			}
			f.blobID = hs.gitSHA1
			if lfs {
				f.sha256, f.blobID = hs.sha256, pointerBlobID(hs.sha256, f.size)
			}
		}
		if id, ok := listed[f.path]; ok && f.lfs() {
			f.blobID = id // the Hub's own pointer id
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", snapDir, err)
	}
	snap := newSnapshot(commit, files)
	return snap, nil
}

// readTreeBlobIDs reads the blob ids a cached listing recorded.
func readTreeBlobIDs(p string) map[string]string {
	var t struct {
		Files map[string]struct {
			BlobID string `json:"blob_id"`
		} `json:"files"`
	}
	out := map[string]string{}
	b, err := os.ReadFile(p)
	if err != nil || json.Unmarshal(b, &t) != nil {
		return out
	}
	for p, e := range t.Files {
		if len(e.BlobID) == 40 {
			out[p] = e.BlobID
		}
	}
	return out
}

// isHubCache reports whether dir looks like a hub cache (models--* folders).
func isHubCache(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "models--") {
			return true
		}
	}
	return false
}
