package modelstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"runner/modelstore/hubid"
)

// PullOptions adjust one pull.
type PullOptions struct {
	// Include adds files matching these fnmatch patterns (see Match) to the
	// variant's files.
	Include []string
	// Exclude drops files matching these patterns; excluding a graph of the
	// variant is an error.
	Exclude []string
	// Progress, when set, receives the pull's progress events (see
	// Progress). Calls are serialised.
	Progress func(Progress)
}

// Pull fetches one variant of a model into the cache: the variant's ONNX
// graphs with their external data, and the configuration, tokenizer and
// other small files the model needs. With no variant in the reference it
// chooses the best for the device and says so in Model.VariantChosen.
//
// Files already in the cache are not fetched again. Downloads run in
// parallel, resume after broken connections (and after an earlier failed
// pull) and are verified against their SHA-256 or git blob hash before they
// are published. A pull that fails publishes nothing: no snapshot entry, no
// ref; only verified blobs and resumable partial files stay for the next
// try. In offline mode, or when the Hub cannot be reached, Pull returns the
// cached model (Model.FromCache) if it is complete.
//
// A local directory reference is resolved as is.
func (s *Store) Pull(ctx context.Context, reference string, opts PullOptions) (*Model, error) {
	ref, err := ParseRef(reference)
	if err != nil {
		return nil, err
	}
	p := newProgressSink(opts.Progress)
	if ref.Local() {
		m, err := s.resolveLocal(ref)
		if err == nil {
			p.status(StatusSuccess)
		}
		return m, err
	}
	p.status(StatusPullingManifest)
	if s.opts.Offline || hubid.IsCommit(ref.Rev()) {
		m, cerr := s.fromCache(ref, opts.Include, opts.Exclude)
		if cerr == nil {
			m.FromCache = s.opts.Offline
			p.status(StatusSuccess)
			return m, nil
		}
		if s.opts.Offline {
			return nil, fmt.Errorf("%s: %w (HF_HUB_OFFLINE is set): %v", ref, ErrOfflineNotCached, cerr)
		}
	}
	commit, files, err := s.manifest(ctx, ref, 0)
	if err != nil && !errors.Is(err, ErrRevisionNotFound) && ctx.Err() == nil {
		if m, cerr := s.fromCache(ref, opts.Include, opts.Exclude); cerr == nil {
			s.log.Warn("cannot reach the Hub; using the cached model", "model", m.Name, "err", err)
			m.FromCache = true
			p.status(StatusSuccess)
			return m, nil
		}
		if transient(err) {
			commit, files, err = s.manifest(ctx, ref, maxRetries)
		}
	}
	if err != nil {
		if transient(err) || errors.Is(err, ErrBadResponse) {
			return nil, fmt.Errorf("%s: %w; check your connection: %w", ref, ErrOfflineNotCached, err)
		}
		return nil, err
	}
	sel, err := selectFiles(ref.Repo, files, ref.Variant, s.opts.GPU, opts.Include, opts.Exclude)
	if err != nil {
		return nil, err
	}
	for _, f := range sel.files {
		if err := checkRepoPath(f.Path); err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Repo, err)
		}
		if !etagRE.MatchString(f.Etag()) {
			return nil, fmt.Errorf("%s: %w: %s has no valid hash (%q)", ref.Repo, ErrBadResponse, f.Path, f.Etag())
		}
	}
	downloaded, fresh, err := s.fetchAll(ctx, ref.Repo, commit, sel.files, p)
	if err != nil {
		return nil, err
	}
	p.status(StatusVerifying) // every blob was hashed while it streamed
	p.status(StatusWritingManifest)
	if err := s.publish(ref, commit, files, sel, fresh); err != nil {
		return nil, fmt.Errorf("%s: %w", ref, diskErr(err))
	}
	p.status(StatusSuccess)
	m := newModel(ref, commit, s.cache.snapshotDir(ref.Repo, commit), sel)
	m.Downloaded = downloaded
	return m, nil
}

// manifest resolves the revision to a commit and lists the commit's files,
// from trees/<commit>.json when cached.
func (s *Store) manifest(ctx context.Context, ref Ref, retries int) (string, []RepoFile, error) {
	commit := ref.Rev()
	if !hubid.IsCommit(commit) {
		var err error
		if commit, err = s.hub.resolveRevision(ctx, ref.Repo, ref.Rev(), retries); err != nil {
			return "", nil, err
		}
	}
	if files, ok := s.cache.readTree(ref.Repo, commit); ok {
		return commit, files, nil
	}
	files, err := s.hub.listTree(ctx, ref.Repo, commit, retries)
	return commit, files, err
}

// fetchAll makes sure every selected file's blob is in the cache, fetching
// the missing ones in parallel. It returns the bytes downloaded and the
// etags of blobs this pull created.
func (s *Store) fetchAll(ctx context.Context, repo, commit string, files []RepoFile, p *progressSink) (int64, map[string]bool, error) {
	var downloaded atomic.Int64
	var mu sync.Mutex
	fresh := map[string]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, f := range files {
		etag := f.Etag()
		if s.cache.snapshotHas(repo, commit, f.Path) || fileExists(s.cache.blobPath(repo, etag)) {
			p.file(etag, f.Size, f.Size)
			continue
		}
		g.Go(func() error {
			n, created, err := s.fetchBlob(gctx, repo, commit, f, p)
			var missing *entryMissing
			if errors.As(err, &missing) && hubid.IsCommit(missing.commit) {
				if werr := s.cache.writeNoExist(repo, missing.commit, f.Path); werr != nil {
					s.log.Warn("cannot record a missing file", "file", f.Path, "err", werr)
				}
			}
			if err != nil {
				return err
			}
			downloaded.Add(n)
			if created {
				mu.Lock()
				fresh[etag] = true
				mu.Unlock()
			}
			return nil
		})
	}
	err := g.Wait()
	return downloaded.Load(), fresh, err
}

// fetchBlob downloads one blob once: goroutines of this Store share one
// download, and other processes wait on the blob's lock file.
func (s *Store) fetchBlob(ctx context.Context, repo, commit string, f RepoFile, p *progressSink) (n int64, created bool, err error) {
	etag := f.Etag()
	blob := s.cache.blobPath(repo, etag)
	type result struct {
		n       int64
		created bool
	}
	for {
		v, err, shared := s.flight.Do(blob, func() (any, error) {
			release, err := acquireLock(ctx, s.cache.lockPath(repo, etag))
			if err != nil {
				return result{}, err
			}
			defer release()
			if fileExists(blob) { // another process fetched it meanwhile
				return result{}, nil
			}
			var first, last int64 = -1, 0
			err = s.download(ctx, repo, commit, f, func(n int64) {
				if first < 0 {
					first = n
				}
				last = n
				p.file(etag, f.Size, n)
			})
			return result{n: last - max(first, 0), created: err == nil}, err
		})
		if err != nil && shared && errors.Is(err, context.Canceled) && ctx.Err() == nil {
			continue // the goroutine that led the download was cancelled, not us
		}
		if err != nil {
			return 0, false, err
		}
		p.file(etag, f.Size, f.Size)
		r := v.(result)
		return r.n, r.created, nil
	}
}

// publish links the selected files into the snapshot, then records the
// listing and the ref: the model appears in the cache only once complete.
func (s *Store) publish(ref Ref, commit string, listing []RepoFile, sel selection, fresh map[string]bool) error {
	symlinks := s.useSymlinks()
	uses := map[string]int{}
	for _, f := range sel.files {
		uses[f.Etag()]++
	}
	for _, f := range sel.files {
		if s.cache.snapshotHas(ref.Repo, commit, f.Path) {
			continue
		}
		etag := f.Etag()
		move := fresh[etag] && uses[etag] == 1
		if err := s.cache.link(ref.Repo, commit, f.Path, etag, symlinks, move); err != nil {
			return fmt.Errorf("link %s: %w", f.Path, err)
		}
	}
	if _, err := os.Stat(s.cache.treePath(ref.Repo, commit)); err != nil {
		if err := s.cache.writeTree(ref.Repo, commit, listing, s.fileMode()); err != nil {
			return err
		}
	}
	if err := s.cache.writeRef(ref.Repo, ref.Rev(), commit, s.fileMode()); err != nil {
		return err
	}
	s.writeCacheDirTag()
	return nil
}

// writeCacheDirTag marks the cache for backup tools, as Python does (best
// effort).
func (s *Store) writeCacheDirTag() {
	p := filepath.Join(string(s.cache), "CACHEDIR.TAG")
	if fileExists(p) {
		return
	}
	const tag = "Signature: 8a477f597d28d172789f06886806bc55\n" +
		"# This file is a cache directory tag created by huggingface_hub.\n" +
		"# For information about cache directory tags, see:\n" +
		"#\thttps://bford.info/cachedir/\n"
	_ = writeFileAtomic(p, []byte(tag), s.fileMode())
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Resolve turns a reference into a model on disk: a local directory as is,
// a cached model without any request, or (when opts.Pull allows) a fresh
// pull. With no variant in the reference, the best variant already in the
// cache is used before any pull.
func (s *Store) Resolve(ctx context.Context, reference string, opts ResolveOptions) (*Model, error) {
	ref, err := ParseRef(reference)
	if err != nil {
		return nil, err
	}
	if ref.Local() {
		return s.resolveLocal(ref)
	}
	m, cerr := s.fromCache(ref, opts.Include, opts.Exclude)
	if cerr == nil {
		return m, nil
	}
	if !opts.Pull {
		return nil, cerr
	}
	return s.Pull(ctx, reference, opts.PullOptions)
}

// ResolveOptions adjust Resolve.
type ResolveOptions struct {
	// Pull allows fetching a model that is not in the cache.
	Pull bool
	PullOptions
}

// fromCache finds a complete model in the cache without any request.
func (s *Store) fromCache(ref Ref, include, exclude []string) (*Model, error) {
	commit, ok := s.cache.readRef(ref.Repo, ref.Rev())
	dir := s.cache.snapshotDir(ref.Repo, commit)
	if !ok || !dirExists(dir) {
		return nil, fmt.Errorf("%s: %w", ref, ErrNotPulled)
	}
	local, err := localFiles(dir)
	if err != nil {
		return nil, err
	}
	sel, err := selectFiles(ref.Repo, local, ref.Variant, s.opts.GPU, include, exclude)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", ref, ErrNotPulled, err)
	}
	if listing, ok := s.cache.readTree(ref.Repo, commit); ok {
		// The Hub's listing says what the variant needs; all of it must be here.
		// Graphs, their data and included files are required; support files
		// a pull excluded are not.
		want, err := selectFiles(ref.Repo, listing, sel.variant, s.opts.GPU, include, exclude)
		if err == nil {
			present := want.files[:0:0]
			for _, f := range want.files {
				if s.cache.snapshotHas(ref.Repo, commit, f.Path) {
					present = append(present, f)
				} else if !isSupportFile(f) || MatchAny(include, f.Path) {
					return nil, fmt.Errorf("%s: %w: %s is missing from the snapshot", ref, ErrNotPulled, f.Path)
				}
			}
			want.files, want.chosen = present, sel.chosen
			sel = want
		}
	}
	return newModel(ref, commit, dir, sel), nil
}

// resolveLocal describes a local directory laid out like a Hub repository.
func (s *Store) resolveLocal(ref Ref) (*Model, error) {
	files, err := localFiles(ref.Dir)
	if err != nil {
		return nil, err
	}
	sel, err := selectFiles(ref.Dir, files, ref.Variant, s.opts.GPU, nil, nil)
	if err != nil {
		return nil, err
	}
	return newModel(ref, "", ref.Dir, sel), nil
}

// localFiles lists a snapshot or local directory as repo files, with sizes
// and, for symlinks into blobs/, the blob's hash.
func localFiles(dir string) ([]RepoFile, error) {
	paths, err := snapshotFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	files := make([]RepoFile, 0, len(paths))
	for _, p := range paths {
		if strings.HasPrefix(p, ".") || strings.Contains(p, "/.") {
			continue // .git, .cache and other hidden folders
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		st, err := os.Stat(full)
		if err != nil {
			continue
		}
		f := RepoFile{Path: p, Size: st.Size()}
		if target, err := os.Readlink(full); err == nil {
			switch etag := filepath.Base(target); len(etag) {
			case 64:
				f.LFSSHA256 = etag
			case 40:
				f.BlobID = etag
			}
		}
		files = append(files, f)
	}
	return files, nil
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
