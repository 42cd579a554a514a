package modelstore

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errReadTimeout is a stream that sent nothing for the read timeout.
var errReadTimeout = errors.New("download stalled: no data within the read timeout")

// maxNoProgress is how many broken streams in a row without a new byte end
// a download.
const maxNoProgress = 5

// partialFile is the file a blob is downloaded into (an *os.File; tests wrap
// it to fill the disk).
type partialFile interface {
	io.ReadWriteSeeker
	io.ReaderAt
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Close() error
}

func openPartial(path string) (partialFile, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

// blobHasher hashes content the way its etag names it: SHA-256 for a 64-hex
// etag (LFS), the git blob sha1 ("blob <size>\0" + content) for a 40-hex one.
func blobHasher(etag string, size int64) hash.Hash {
	if len(etag) == 64 {
		return sha256.New()
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	return h
}

// diskErr marks a full disk as ErrDiskFull.
func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %v", ErrDiskFull, err)
	}
	return err
}

// download fetches one blob into blobs/<etag>, resuming a partial
// blobs/<etag>.incomplete left by an earlier run, verifying size and hash
// while streaming, and publishing only verified content. The caller holds
// the blob's lock. report receives the bytes written so far.
func (s *Store) download(ctx context.Context, repo, commit string, f RepoFile, report func(int64)) error {
	etag := f.Etag()
	blob := s.cache.blobPath(repo, etag)
	partial := blob + ".incomplete"
	probe := func() (fileMeta, error) {
		meta, err := s.hub.head(ctx, repo, commit, f.Path, maxRetries)
		if err != nil {
			return meta, err
		}
		if meta.Etag != etag || meta.Size != f.Size {
			return meta, fmt.Errorf("%w: the listing says %s (%d bytes), the file's headers %s (%d bytes)",
				ErrBadResponse, etag, f.Size, meta.Etag, meta.Size)
		}
		return meta, nil
	}
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return diskErr(err)
	}
	for attempt := 0; ; attempt++ {
		meta, err := probe()
		if err != nil {
			return fmt.Errorf("download %s: %w", f.Path, err)
		}
		err = s.fetch(ctx, meta, partial, probe, report)
		if errors.Is(err, ErrHashMismatch) && attempt == 0 {
			s.log.Warn("downloaded file does not match its hash; downloading again", "file", f.Path, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("download %s: %w", f.Path, err)
		}
		if err := os.Chmod(partial, s.fileMode()); err != nil {
			return fmt.Errorf("publish %s: %w", f.Path, err)
		}
		if err := os.Rename(partial, blob); err != nil {
			return fmt.Errorf("publish %s: %w", f.Path, diskErr(err))
		}
		return nil
	}
}

// fetch GETs meta.Location into partial until it holds meta.Size verified
// bytes. Broken streams resume with Range; an expired link is refreshed with
// probe. The partial file keeps only a valid prefix (for a later pull to
// resume), and is deleted when the content proves wrong or the disk fills.
func (s *Store) fetch(ctx context.Context, meta fileMeta, partial string, probe func() (fileMeta, error), report func(int64)) (err error) {
	out, err := s.openPartial(partial)
	if err != nil {
		return diskErr(err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = diskErr(cerr)
		}
		if errors.Is(err, ErrHashMismatch) || errors.Is(err, ErrDiskFull) {
			os.Remove(partial)
		}
	}()
	h := blobHasher(meta.Etag, meta.Size)
	written, err := adoptPartial(out, h, meta.Size)
	if err != nil {
		return err
	}
	report(written)
	noProgress, refreshes := 0, 0
	for written < meta.Size {
		before := written
		n, wait, gerr := s.getRange(ctx, meta.Location, written, meta.Size, out, h, func(n int64) { report(before + n) })
		written += n
		if gerr == nil {
			continue
		}
		var restart *restartError
		switch {
		case errors.As(gerr, &restart):
			s.log.Debug("download restarts from zero", "reason", restart.reason)
			if err := out.Truncate(0); err != nil {
				return diskErr(err)
			}
			if _, err := out.Seek(0, io.SeekStart); err != nil {
				return err
			}
			h, written = blobHasher(meta.Etag, meta.Size), 0
			report(0)
			continue
		case errors.Is(gerr, ErrDiskFull), errors.Is(gerr, ErrHashMismatch), ctx.Err() != nil:
			return gerr
		case expiredLink(gerr, s.hub.endpoint) && refreshes < 3:
			refreshes++
			fresh, perr := probe()
			if perr != nil {
				return perr
			}
			meta.Location = fresh.Location
			continue
		case !transient(gerr):
			return gerr
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if written > before {
			noProgress = 0
		} else {
			noProgress++
		}
		if noProgress >= maxNoProgress {
			return fmt.Errorf("giving up after %d tries without progress: %w", noProgress, gerr)
		}
		if wait == 0 {
			wait = time.Second
			if noProgress > 0 {
				wait = backoff(noProgress - 1)
			}
		}
		s.log.Debug("download interrupted, resuming", "written", written, "err", gerr, "wait", wait)
		if err := s.hub.sleep(ctx, wait); err != nil {
			return err
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != meta.Etag {
		return fmt.Errorf("%w: got %s, want %s", ErrHashMismatch, got, meta.Etag)
	}
	return nil
}

// adoptPartial hashes what an earlier run left in out and positions it for
// appending; a file longer than the blob is emptied.
func adoptPartial(out partialFile, h hash.Hash, size int64) (int64, error) {
	st, err := out.Stat()
	if err != nil {
		return 0, err
	}
	n := st.Size()
	if n > size {
		if err := out.Truncate(0); err != nil {
			return 0, diskErr(err)
		}
		n = 0
	}
	if n > 0 {
		if _, err := io.Copy(h, io.NewSectionReader(out, 0, n)); err != nil {
			return 0, err
		}
	}
	if _, err := out.Seek(n, io.SeekStart); err != nil {
		return 0, err
	}
	return n, nil
}

// restartError asks fetch to start the file again from zero.
type restartError struct{ reason string }

func (e *restartError) Error() string { return "restart download: " + e.reason }

// expiredLink reports whether err is a 400 or 403 from a host other than
// the endpoint: a presigned link that expired.
func expiredLink(err error, endpoint *url.URL) bool {
	var he *HubError
	if !errors.As(err, &he) || (he.Status != http.StatusForbidden && he.Status != http.StatusBadRequest) {
		return false
	}
	u, perr := url.Parse(he.URL)
	return perr == nil && hostPort(u) != hostPort(endpoint)
}

// copyBufferSize is the read size of downloads.
const copyBufferSize = 1 << 20

// getRange GETs u from offset from (bounded to maxResponse bytes when the
// file is larger), writing to out and h. It returns the bytes written, the
// wait a 429 asked for, and the error that ended the stream.
func (s *Store) getRange(ctx context.Context, u string, from, size int64, out io.Writer, h hash.Hash, report func(int64)) (int64, time.Duration, error) {
	end := size - 1
	if s.maxResponse > 0 && size-from > s.maxResponse {
		end = from + s.maxResponse - 1
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := s.hub.newRequest(rctx, http.MethodGet, u)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if from > 0 || end < size-1 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, end))
	}
	timer := time.AfterFunc(s.readTimeout, func() { cancel(errReadTimeout) })
	defer timer.Stop()
	resp, err := s.hub.client.Do(req)
	if err != nil {
		return 0, 0, streamErr(rctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return 0, 0, &restartError{"the server refused the range (416)"}
	case resp.StatusCode == http.StatusOK && from > 0:
		return 0, 0, &restartError{"the server ignored the range"}
	case resp.StatusCode == http.StatusPartialContent:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != from {
			return 0, 0, &restartError{"the server answered another range"}
		}
	default:
		if err := s.hub.checkStatus("download", resp); err != nil {
			return 0, retryAfter(resp), err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("%w: HTTP %d for a download", ErrBadResponse, resp.StatusCode)
		}
	}
	want := end - from + 1
	buf := make([]byte, copyBufferSize)
	var n int64
	for n < want {
		chunk := buf
		if rest := want - n; rest < int64(len(chunk)) {
			chunk = chunk[:rest]
		}
		k, rerr := resp.Body.Read(chunk)
		if k > 0 {
			timer.Reset(s.readTimeout)
			if _, werr := out.Write(chunk[:k]); werr != nil {
				return n, 0, diskErr(werr)
			}
			h.Write(chunk[:k])
			n += int64(k)
			report(n)
		}
		if rerr == io.EOF {
			if n < want {
				return n, 0, io.ErrUnexpectedEOF
			}
			break
		}
		if rerr != nil {
			return n, 0, streamErr(rctx, rerr)
		}
	}
	return n, 0, nil
}

// streamErr reports a stalled stream as errReadTimeout.
func streamErr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errReadTimeout) {
		return errReadTimeout
	}
	return err
}

// contentRangeStart parses the first byte of "bytes a-b/total".
func contentRangeStart(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}
