package modelstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"runner/modelstore/hubid"
	"runner/quant"
)

// Ref is a parsed model reference: [hf.co/]ORG/NAME[:VARIANT][@REVISION], or
// a local directory laid out like a Hub repository.
type Ref struct {
	// Repo is the Hub repository id ("org/name"); "" for a local directory.
	Repo string
	// Variant is the variant asked for (lower case), "" to let runner
	// choose. It may name a variant runner does not know; Pull then lists
	// the ones the repository has.
	Variant quant.Variant
	// Revision is the branch, tag or commit; "" means main.
	Revision string
	// Dir is the absolute path of a local directory reference.
	Dir string
}

// DefaultRevision is the revision used when a reference names none.
const DefaultRevision = hubid.DefaultRevision

// Local reports whether the reference is a local directory.
func (r Ref) Local() bool { return r.Dir != "" }

// Rev returns the revision, defaulting to main.
func (r Ref) Rev() string {
	if r.Revision == "" {
		return DefaultRevision
	}
	return r.Revision
}

// String returns the canonical form: ORG/NAME[:VARIANT][@REVISION] (the
// revision only when it is not main), or the directory[:VARIANT].
func (r Ref) String() string {
	s := r.Repo
	if r.Local() {
		s = r.Dir
	}
	if r.Variant != "" {
		s += ":" + string(r.Variant)
	}
	if r.Revision != "" && r.Revision != DefaultRevision {
		s += "@" + r.Revision
	}
	return s
}

// WithVariant returns a copy of r naming variant v.
func (r Ref) WithVariant(v quant.Variant) Ref {
	r.Variant = v
	return r
}

// hubPrefixes are host prefixes users paste in front of a repo id.
var hubPrefixes = []string{"https://huggingface.co/", "http://huggingface.co/", "huggingface.co/", "https://hf.co/", "hf.co/"}

// ParseRef parses a model reference. Paths that start with "/", ".", "~" or a
// drive letter are local directories; so is anything that is not a valid
// repo id but names an existing directory. The tag "latest" (which Ollama
// clients add) means no variant.
func ParseRef(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Ref{}, fmt.Errorf("%w: empty", ErrInvalidReference)
	}
	if looksLikePath(s) {
		return parseLocal(s)
	}
	rest := s
	for _, p := range hubPrefixes {
		if len(rest) > len(p) && strings.EqualFold(rest[:len(p)], p) {
			rest = rest[len(p):]
			break
		}
	}
	var r Ref
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		r.Revision = rest[i+1:]
		rest = rest[:i]
		if r.Revision == "" {
			return Ref{}, fmt.Errorf("%w: %q has an empty revision", ErrInvalidReference, s)
		}
		if err := checkRevision(r.Revision); err != nil {
			return Ref{}, fmt.Errorf("%w: %q: %v", ErrInvalidReference, s, err)
		}
	}
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		r.Variant = parseVariant(rest[i+1:])
		rest = rest[:i]
	}
	if !hubid.ValidRepoID(rest) {
		if st, err := os.Stat(s); err == nil && st.IsDir() {
			return parseLocal(s)
		}
		return Ref{}, fmt.Errorf("%w: %q is not ORG/NAME[:VARIANT][@REVISION] or a directory", ErrInvalidReference, s)
	}
	r.Repo = rest
	return r, nil
}

func parseVariant(s string) quant.Variant {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "latest" {
		return ""
	}
	if v, ok := quant.Parse(s); ok {
		return v
	}
	return quant.Variant(s)
}

func looksLikePath(s string) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") || strings.HasPrefix(s, `\`) {
		return true
	}
	return len(s) >= 2 && s[1] == ':' && (s[0]|0x20) >= 'a' && (s[0]|0x20) <= 'z' && (len(s) == 2 || s[2] == '/' || s[2] == '\\')
}

// parseLocal turns a directory, optionally followed by :VARIANT, into a Ref.
func parseLocal(s string) (Ref, error) {
	dir, variant := s, quant.Variant("")
	if st, err := os.Stat(expandHome(s)); err != nil || !st.IsDir() {
		i := strings.LastIndexByte(s, ':')
		if i <= 1 { // none, or a drive letter
			return Ref{}, fmt.Errorf("%w: %s is not a directory", ErrInvalidReference, s)
		}
		dir, variant = s[:i], parseVariant(s[i+1:])
	}
	dir = expandHome(dir)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return Ref{}, fmt.Errorf("%w: %s is not a directory", ErrInvalidReference, dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Ref{}, fmt.Errorf("%w: %s: %v", ErrInvalidReference, dir, err)
	}
	return Ref{Dir: abs, Variant: variant}, nil
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}
