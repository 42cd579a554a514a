package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"runner/modelstore/hubid"
)

// List returns the models in the cache: one entry per revision name and
// variant whose files are all present, with Details, Digest and ModifiedAt
// filled. Models fetched by Python's huggingface_hub are listed too when
// their snapshot holds an ONNX model. It makes no request.
func (s *Store) List(ctx context.Context) ([]*Model, error) {
	entries, err := os.ReadDir(string(s.cache))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.cache, err)
	}
	var models []*Model
	for _, e := range entries {
		repo, ok := repoFromFolder(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		models = append(models, s.listRepo(repo)...)
	}
	sort.Slice(models, func(i, j int) bool { return models[i].Name < models[j].Name })
	return models, nil
}

// listRepo lists the complete variants of each snapshot of a repository.
func (s *Store) listRepo(repo string) []*Model {
	names := s.refsByCommit(repo)
	snaps, err := os.ReadDir(filepath.Join(s.cache.repoDir(repo), "snapshots"))
	if err != nil {
		return nil
	}
	var models []*Model
	for _, snap := range snaps {
		commit := snap.Name()
		if !snap.IsDir() || !hubid.IsCommit(commit) {
			continue
		}
		revs := names[commit]
		if len(revs) == 0 {
			revs = []string{commit}
		}
		dir := s.cache.snapshotDir(repo, commit)
		local, err := localFiles(dir)
		if err != nil {
			continue
		}
		for _, v := range findGraphs(local).available {
			for _, rev := range revs {
				ref := Ref{Repo: repo, Variant: v, Revision: rev}
				m, err := s.fromCache(ref, nil, nil)
				if err != nil {
					continue // incomplete
				}
				m.VariantChosen = false
				s.describe(m)
				models = append(models, m)
			}
		}
	}
	return models
}

// refsByCommit maps each commit to the revisions that point to it.
func (s *Store) refsByCommit(repo string) map[string][]string {
	out := map[string][]string{}
	root := filepath.Join(s.cache.repoDir(repo), "refs")
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil
		}
		rev := filepath.ToSlash(rel)
		if commit, ok := s.cache.readRef(repo, rev); ok {
			out[commit] = append(out[commit], rev)
		}
		return nil
	})
	for _, revs := range out {
		sort.Slice(revs, func(i, j int) bool {
			if (revs[i] == DefaultRevision) != (revs[j] == DefaultRevision) {
				return revs[i] == DefaultRevision
			}
			return revs[i] < revs[j]
		})
	}
	return out
}

// Remove deletes a model from the cache. With a variant it removes that
// variant's graphs and external data from the snapshot; without one, or
// when no variant is left, it removes the revision's ref and, unless another
// ref still points to it, the snapshot. Blobs that no remaining snapshot
// links to are deleted; blobs still linked stay. A repository left with no
// snapshot is removed entirely.
func (s *Store) Remove(ctx context.Context, reference string) error {
	ref, err := ParseRef(reference)
	if err != nil {
		return err
	}
	if ref.Local() {
		return fmt.Errorf("%s: %w: runner removes only models in the cache", ref, ErrNotPulled)
	}
	commit, ok := s.cache.readRef(ref.Repo, ref.Rev())
	dir := s.cache.snapshotDir(ref.Repo, commit)
	if !ok || !dirExists(dir) {
		return fmt.Errorf("%s: %w", ref, ErrNotPulled)
	}
	if ref.Variant != "" {
		local, err := localFiles(dir)
		if err != nil {
			return err
		}
		sel, err := selectFiles(ref.Repo, local, ref.Variant, s.opts.GPU, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: %w: %w", ref, ErrNotPulled, err)
		}
		for _, f := range sel.files {
			if isSupportFile(f) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", f.Path, err)
			}
		}
		if local, err = localFiles(dir); err == nil && len(findGraphs(local).available) > 0 {
			return s.collectBlobs(ref.Repo)
		}
	}
	if err := s.dropRevision(ref.Repo, ref.Rev(), commit); err != nil {
		return err
	}
	return s.collectBlobs(ref.Repo)
}

// dropRevision removes a ref and, when no other ref points to its commit,
// the snapshot and what is recorded of it.
func (s *Store) dropRevision(repo, rev, commit string) error {
	if !hubid.IsCommit(rev) {
		p, err := s.cache.refPath(repo, rev)
		if err != nil {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove ref %s: %w", rev, err)
		}
	}
	if len(s.refsByCommit(repo)[commit]) > 0 {
		return nil
	}
	repoDir := s.cache.repoDir(repo)
	for _, p := range []string{
		s.cache.snapshotDir(repo, commit),
		filepath.Join(repoDir, ".no_exist", commit),
		s.cache.treePath(repo, commit),
	} {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
	}
	return nil
}

// collectBlobs deletes the blobs no snapshot links to, and the whole
// repository folder (and its locks) once no snapshot is left.
func (s *Store) collectBlobs(repo string) error {
	repoDir := s.cache.repoDir(repo)
	snaps, _ := os.ReadDir(filepath.Join(repoDir, "snapshots"))
	if len(snaps) == 0 {
		if err := os.RemoveAll(repoDir); err != nil {
			return fmt.Errorf("remove %s: %w", repoDir, err)
		}
		return os.RemoveAll(filepath.Dir(s.cache.lockPath(repo, "x")))
	}
	used := map[string]bool{}
	_ = filepath.WalkDir(filepath.Join(repoDir, "snapshots"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			if target, err := os.Readlink(p); err == nil {
				used[filepath.Base(target)] = true
			}
		}
		return nil
	})
	blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
	for _, b := range blobs {
		name := b.Name()
		if used[name] || strings.Contains(name, ".") { // keep partial downloads
			continue
		}
		if err := os.Remove(filepath.Join(repoDir, "blobs", name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove blob %s: %w", name, err)
		}
	}
	return nil
}
