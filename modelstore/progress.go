package modelstore

import (
	"sync"
	"time"
)

// Progress is one step of a pull. It has exactly the fields of Ollama's
// api.ProgressResponse, in the same order, so api.ProgressResponse(p)
// converts it and /api/pull can stream it as NDJSON unchanged.
//
// A pull reports, in order: StatusPullingManifest; for each file, events
// with Status "pulling <first 12 hex of its hash>", Digest ("sha256:<hex>"
// for LFS files, "sha1:<hex>" for git blobs), Total and Completed bytes
// (files already cached report Completed == Total at once);
// StatusVerifying; StatusWritingManifest; StatusSuccess.
type Progress struct {
	Status    string `json:"status"`
	Digest    string `json:"digest,omitempty"`
	Total     int64  `json:"total,omitempty"`
	Completed int64  `json:"completed,omitempty"`
}

// The statuses of a pull, as Ollama words them.
const (
	StatusPullingManifest = "pulling manifest"
	StatusVerifying       = "verifying sha256 digest"
	StatusWritingManifest = "writing manifest"
	StatusSuccess         = "success"
)

// progressInterval is the least time between two events of one file.
const progressInterval = 100 * time.Millisecond

// progressSink serialises and throttles events to a caller's callback, so
// the callback needs no locking of its own.
type progressSink struct {
	fn   func(Progress)
	mu   sync.Mutex
	last map[string]time.Time
}

func newProgressSink(fn func(Progress)) *progressSink {
	return &progressSink{fn: fn, last: map[string]time.Time{}}
}

func (p *progressSink) status(s string) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn(Progress{Status: s})
}

// file reports a file's progress; events closer than progressInterval are
// dropped, except the first and the last.
func (p *progressSink) file(etag string, total, completed int64) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	last, seen := p.last[etag]
	if seen && completed < total && now.Sub(last) < progressInterval {
		return
	}
	p.last[etag] = now
	p.fn(Progress{Status: "pulling " + etag[:min(12, len(etag))], Digest: digestOf(etag), Total: total, Completed: completed})
}

// digestOf names a blob the way Ollama names layers: algorithm:hex.
func digestOf(etag string) string {
	if len(etag) == 64 {
		return "sha256:" + etag
	}
	return "sha1:" + etag
}
