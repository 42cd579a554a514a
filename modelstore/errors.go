package modelstore

import (
	"errors"
	"fmt"
	"strings"

	"runner/quant"
)

// Errors a pull, resolve or remove can end with. Callers test them with
// errors.Is; each says what the user can do about it.
var (
	// ErrInvalidReference is returned when a model reference is not
	// [hf.co/]ORG/NAME[:VARIANT][@REVISION] or a local directory.
	ErrInvalidReference = errors.New("invalid model reference")

	// ErrRepoNotFound is returned when the Hub has no such repository, or it
	// is private and no token (HF_TOKEN) with access was sent.
	ErrRepoNotFound = errors.New("repository not found (check the name; private repos need HF_TOKEN)")

	// ErrGated is returned when the repository is gated: accept its terms on
	// the Hub and set HF_TOKEN to a token of that account.
	ErrGated = errors.New("gated repository: accept its conditions on the Hub and set HF_TOKEN")

	// ErrBadToken is returned when the Hub rejects the token itself.
	ErrBadToken = errors.New("invalid Hub token (check HF_TOKEN)")

	// ErrForbidden is returned when the token lacks permission for the
	// repository, or the repository is disabled.
	ErrForbidden = errors.New("access to this repository is forbidden")

	// ErrRevisionNotFound is returned when the repository has no such
	// branch, tag or commit.
	ErrRevisionNotFound = errors.New("revision not found")

	// ErrEntryNotFound is returned when a file is missing from a revision.
	ErrEntryNotFound = errors.New("file not found in the repository")

	// ErrVariantNotFound is returned (inside a *VariantError) when the
	// repository has no files for the requested variant.
	ErrVariantNotFound = errors.New("variant not found")

	// ErrNoONNX is returned when a repository or directory holds no ONNX
	// model at all.
	ErrNoONNX = errors.New("no ONNX model in the repository")

	// ErrDiskFull is returned when the cache's disk ran out of space; nothing
	// was published.
	ErrDiskFull = errors.New("no space left on the cache's disk")

	// ErrOfflineNotCached is returned when the model is not in the cache and
	// the Hub may not or cannot be reached (HF_HUB_OFFLINE, or no network).
	ErrOfflineNotCached = errors.New("model not in the cache and the Hub cannot be reached (offline)")

	// ErrNotPulled is returned by Resolve, Show and Remove when the model is
	// not in the cache and pulling was not allowed.
	ErrNotPulled = errors.New("model not pulled")

	// ErrHashMismatch is returned when downloaded content does not match the
	// hash the Hub announced; the bad data was discarded.
	ErrHashMismatch = errors.New("downloaded file does not match its hash")

	// ErrUnsafePath is returned when the Hub names a file outside the
	// repository (an absolute path, a drive, or a ".." segment).
	ErrUnsafePath = errors.New("unsafe file path from the Hub")

	// ErrBadResponse is returned when the Hub's answer lacks what the
	// protocol requires (commit, etag or size headers, a parseable listing).
	ErrBadResponse = errors.New("unexpected response from the Hub")
)

// HubError is an HTTP error answer from the Hub, with what it said. It
// unwraps to one of the sentinel errors above when the answer maps to one.
type HubError struct {
	// Op is what was being done ("resolve revision", "download onnx/model.onnx").
	Op string
	// URL is the request URL.
	URL string
	// Status is the HTTP status code.
	Status int
	// Code is the X-Error-Code header (RepoNotFound, GatedRepo...).
	Code string
	// Message is the X-Error-Message header.
	Message string
	// RequestID is the X-Request-Id header, for reports to the Hub.
	RequestID string
	// Err is the sentinel this answer maps to, or nil.
	Err error
}

func (e *HubError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", e.Op)
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// Unwrap returns the sentinel the answer maps to.
func (e *HubError) Unwrap() error { return e.Err }

// VariantError says which variants a repository does have when the one
// asked for is missing. It unwraps to ErrVariantNotFound.
type VariantError struct {
	Repo      string
	Want      string
	Available []quant.Variant
}

func (e *VariantError) Error() string {
	names := make([]string, len(e.Available))
	for i, v := range e.Available {
		names[i] = string(v)
	}
	have := "none"
	if len(names) > 0 {
		have = strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s: variant %q not found; available: %s", e.Repo, e.Want, have)
}

// Unwrap returns ErrVariantNotFound.
func (e *VariantError) Unwrap() error { return ErrVariantNotFound }
