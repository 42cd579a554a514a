package modelstore

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"runner/modelstore/hubid"
)

// cacheDir is a Hugging Face hub cache (HF_HUB_CACHE), laid out exactly as
// Python's huggingface_hub writes it:
//
//	.locks/models--org--name/<etag>.lock
//	models--org--name/blobs/<etag>
//	models--org--name/refs/<revision>          40 hex, no newline
//	models--org--name/snapshots/<commit>/<path> relative symlink to the blob
//	models--org--name/.no_exist/<commit>/<path>
//	models--org--name/trees/<commit>.json
type cacheDir string

// repoFromFolder inverts RepoFolder; ok is false for other folders.
func repoFromFolder(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "models--")
	if !ok || rest == "" {
		return "", false
	}
	return strings.Replace(rest, "--", "/", 1), true
}

func (c cacheDir) repoDir(repo string) string {
	return filepath.Join(string(c), hubid.RepoFolder(repo))
}

func (c cacheDir) blobPath(repo, etag string) string {
	return filepath.Join(c.repoDir(repo), "blobs", etag)
}

func (c cacheDir) lockPath(repo, etag string) string {
	return filepath.Join(string(c), ".locks", hubid.RepoFolder(repo), etag+".lock")
}

func (c cacheDir) snapshotDir(repo, commit string) string {
	return filepath.Join(c.repoDir(repo), "snapshots", commit)
}

func (c cacheDir) refPath(repo, rev string) (string, error) {
	return joinUnder(filepath.Join(c.repoDir(repo), "refs"), rev)
}

// readRef returns the commit a revision points to in the cache. A 40-hex
// revision is its own commit. It is lenient where Python is strict: a
// trailing newline written by another tool is ignored.
func (c cacheDir) readRef(repo, rev string) (string, bool) {
	if hubid.IsCommit(rev) {
		return rev, true
	}
	p, err := c.refPath(repo, rev)
	if err != nil {
		return "", false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	commit := strings.TrimSpace(string(b))
	return commit, hubid.IsCommit(commit)
}

// writeRef points refs/<rev> at commit, atomically and without a newline,
// and only when rev is not the commit itself and the content changes.
func (c cacheDir) writeRef(repo, rev, commit string, mode fs.FileMode) error {
	if rev == commit || hubid.IsCommit(rev) {
		return nil
	}
	p, err := c.refPath(repo, rev)
	if err != nil {
		return err
	}
	if b, err := os.ReadFile(p); err == nil && string(b) == commit {
		return nil
	}
	return writeFileAtomic(p, []byte(commit), mode)
}

// treeCache is trees/<commit>.json: the complete listing of one commit.
type treeCache struct {
	FormatVersion int                       `json:"format_version"`
	Files         map[string]treeCacheEntry `json:"files"`
}

type treeCacheEntry struct {
	Size      int64  `json:"size"`
	BlobID    string `json:"blob_id"`
	LFSSHA256 string `json:"lfs_sha256,omitempty"`
	LFSSize   int64  `json:"lfs_size,omitempty"`
	XetHash   string `json:"xet_hash,omitempty"`
}

func (c cacheDir) treePath(repo, commit string) string {
	return filepath.Join(c.repoDir(repo), "trees", commit+".json")
}

// readTree loads the cached listing of a commit.
func (c cacheDir) readTree(repo, commit string) ([]RepoFile, bool) {
	b, err := os.ReadFile(c.treePath(repo, commit))
	if err != nil {
		return nil, false
	}
	var t treeCache
	if err := json.Unmarshal(b, &t); err != nil || t.FormatVersion != 1 || t.Files == nil {
		return nil, false
	}
	files := make([]RepoFile, 0, len(t.Files))
	for p, e := range t.Files {
		f := RepoFile{Path: p, Size: e.Size, BlobID: e.BlobID, LFSSHA256: e.LFSSHA256, XetHash: e.XetHash}
		if e.LFSSize > 0 {
			f.Size = e.LFSSize
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, true
}

// writeTree stores the complete listing of a commit, atomically.
func (c cacheDir) writeTree(repo, commit string, files []RepoFile, mode fs.FileMode) error {
	t := treeCache{FormatVersion: 1, Files: make(map[string]treeCacheEntry, len(files))}
	for _, f := range files {
		e := treeCacheEntry{Size: f.Size, BlobID: f.BlobID, XetHash: f.XetHash}
		if f.LFSSHA256 != "" {
			e.LFSSHA256, e.LFSSize = f.LFSSHA256, f.Size
		}
		t.Files[f.Path] = e
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return writeFileAtomic(c.treePath(repo, commit), b, mode)
}

// writeNoExist records that path is missing at commit, as Python does on
// EntryNotFound.
func (c cacheDir) writeNoExist(repo, commit, path string) error {
	p, err := joinUnder(filepath.Join(c.repoDir(repo), ".no_exist", commit), path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// link makes snapshots/<commit>/<path> point at blobs/<etag>: a relative
// symlink, or without symlinks a copy of the blob (moved when the blob is
// new and no other snapshot needs it, as Python does).
func (c cacheDir) link(repo, commit, path, etag string, symlinks, moveBlob bool) error {
	dst, err := joinUnder(c.snapshotDir(repo, commit), path)
	if err != nil {
		return err
	}
	blob := c.blobPath(repo, etag)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if !symlinks {
		if moveBlob {
			return os.Rename(blob, dst)
		}
		return copyFile(blob, dst)
	}
	target, err := filepath.Rel(filepath.Dir(dst), blob)
	if err != nil {
		return err
	}
	if got, err := os.Readlink(dst); err == nil && got == target {
		return nil
	}
	// The link is made under a hidden name and renamed over dst, so that a
	// reader (another pull, a load listing the snapshot) never finds dst
	// missing while it is replaced.
	tmp, err := tempName(dst)
	if err != nil {
		return err
	}
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// tempName returns an unused hidden name beside path, for a file that is
// renamed over path once complete. Hidden names are never listed as
// snapshot files.
func tempName(path string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%x.tmp", filepath.Base(path), b)), nil
}

// snapshotHas reports whether snapshots/<commit>/<path> exists and resolves
// to a regular file (a symlink to a blob, or the file itself).
func (c cacheDir) snapshotHas(repo, commit, path string) bool {
	p, err := joinUnder(c.snapshotDir(repo, commit), path)
	if err != nil {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// snapshotFiles lists the files under a snapshot (slash paths, sorted),
// skipping broken links.
func snapshotFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
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
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(files)
	return files, err
}

// writeFileAtomic writes data to a temp file beside path, gives it mode and
// renames it into place.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	tmp, err := tempName(dst)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// newFileMode returns the mode a new file gets in dir (0666 less the
// umask), found the way Python finds it: by creating one.
func newFileMode(dir string) fs.FileMode {
	if err := os.MkdirAll(dir, 0o755); err == nil {
		probe := filepath.Join(dir, ".mode-probe-"+randomHex(4))
		if f, err := os.OpenFile(probe, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666); err == nil {
			st, serr := f.Stat()
			f.Close()
			os.Remove(probe)
			if serr == nil {
				return st.Mode().Perm()
			}
		}
	}
	return 0o644
}

// symlinksWork tests once whether dir's filesystem supports relative
// symlinks, as Python does before its first link.
func symlinksWork(dir string) bool {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false
	}
	tmp, err := os.MkdirTemp(dir, ".symlink-probe-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "src"), nil, 0o644); err != nil {
		return false
	}
	return os.Symlink("src", filepath.Join(tmp, "dst")) == nil
}
