// Package hubid holds the names the Hugging Face Hub protocol is built
// on, shared by the Hub client (modelstore) and the mirror server: repo ids,
// commit hashes, the cache's folder names and the URL encoding of paths and
// revisions.
package hubid

import (
	"regexp"
	"strings"
)

// DefaultRevision is the revision used when a reference names none.
const DefaultRevision = "main"

// RepoFolder returns the cache folder name of a model repository:
// "models--" plus the id with "/" replaced by "--".
func RepoFolder(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IsCommit reports whether rev is a full lowercase 40-hex commit hash, which
// never gets a ref and is served from the cache without any request.
func IsCommit(rev string) bool { return commitRE.MatchString(rev) }

// escape percent-encodes s as Python's urllib.parse.quote does: every UTF-8
// byte outside A-Z a-z 0-9 _ . - ~ becomes %XX, and "/" is kept only when
// keepSlash is set.
func escape(s string, keepSlash bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == '-', c == '~', c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// EscapePath encodes a repo file path for a URL, keeping "/".
func EscapePath(p string) string { return escape(p, true) }

// EscapeRevision encodes a revision for a URL, "/" included
// (refs/pr/1 becomes refs%2Fpr%2F1).
func EscapeRevision(rev string) string { return escape(rev, false) }

var repoPart = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$`)

// ValidRepoID reports whether id is a valid Hub repository id: an optional
// namespace and a name, each of letters, digits, "_", "." and "-", starting
// and ending with a letter, digit or "_", at most 96 characters, without
// "--" or "..", not ending in ".git".
func ValidRepoID(id string) bool {
	if strings.Contains(id, "--") || strings.Contains(id, "..") || strings.HasSuffix(id, ".git") {
		return false
	}
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		return false
	}
	for _, p := range parts {
		if !repoPart.MatchString(p) {
			return false
		}
	}
	return true
}
