package modelstore

import (
	"fmt"
	"path/filepath"
	"strings"
)

// checkRepoPath rejects a file path from the Hub that could escape the
// snapshot: empty, absolute, a drive or UNC path, a NUL byte, or any "." or
// ".." segment (split on "/" and "\").
func checkRepoPath(p string) error {
	if p == "" || strings.ContainsRune(p, 0) {
		return fmt.Errorf("%w: %q", ErrUnsafePath, p)
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || filepath.IsAbs(p) ||
		(len(p) >= 2 && p[1] == ':') {
		return fmt.Errorf("%w: %q is absolute", ErrUnsafePath, p)
	}
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." || seg == "." {
			return fmt.Errorf("%w: %q has a %q segment", ErrUnsafePath, p, seg)
		}
	}
	if strings.Contains(p, "//") || strings.HasSuffix(p, "/") {
		return fmt.Errorf("%w: %q has an empty segment", ErrUnsafePath, p)
	}
	return nil
}

// joinUnder joins a checked repo path onto root and confirms the result
// stays under root.
func joinUnder(root, p string) (string, error) {
	if err := checkRepoPath(p); err != nil {
		return "", err
	}
	full := filepath.Join(root, filepath.FromSlash(p))
	rel, err := filepath.Rel(root, full)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %q leaves %s", ErrUnsafePath, p, root)
	}
	return full, nil
}

// checkRevision rejects revisions that would escape refs/ when used as a
// path (refs/pr/1 is fine).
func checkRevision(rev string) error {
	if err := checkRepoPath(rev); err != nil {
		return fmt.Errorf("revision %q: %w", rev, err)
	}
	return nil
}

// Match reports whether name matches pattern with Python's fnmatch rules, as
// huggingface_hub's allow and ignore patterns do: "*" matches any run of
// characters including "/", "?" one character, "[seq]" and "[!seq]" a
// character set (with ranges). A pattern ending in "/" matches everything
// under that folder; "\" is read as "/". Matching is case-sensitive.
func Match(pattern, name string) bool {
	pattern = strings.ReplaceAll(pattern, `\`, "/")
	if strings.HasSuffix(pattern, "/") {
		pattern += "*"
	}
	return fnmatch(pattern, name)
}

// MatchAny reports whether name matches any of the patterns.
func MatchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if Match(p, name) {
			return true
		}
	}
	return false
}

// fnmatch matches by code point, backtracking over the last "*" (linear
// in practice).
func fnmatch(pattern, text string) bool {
	pat, name := []rune(pattern), []rune(text)
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) {
		if p < len(pat) {
			switch pat[p] {
			case '*':
				starP, starN = p, n
				p++
				continue
			case '?':
				p++
				n++
				continue
			case '[':
				ok, width, valid := matchClass(pat[p:], name[n])
				if valid && ok {
					p += width
					n++
					continue
				}
				if !valid && name[n] == '[' { // an unclosed "[" is literal
					p++
					n++
					continue
				}
			default:
				if pat[p] == name[n] {
					p++
					n++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starN++
		p, n = starP+1, starN
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// matchClass matches c against the class at the start of pat ("[...]").
// valid is false when the class is not closed; width is its length.
func matchClass(pat []rune, c rune) (ok bool, width int, valid bool) {
	i := 1
	negate := false
	if i < len(pat) && pat[i] == '!' {
		negate = true
		i++
	}
	first := i
	if i < len(pat) && pat[i] == ']' { // a leading "]" is literal
		i++
	}
	for i < len(pat) && pat[i] != ']' {
		i++
	}
	if i >= len(pat) {
		return false, 0, false
	}
	set := pat[first:i]
	for j := 0; j < len(set); j++ {
		lo, hi := set[j], set[j]
		if j+2 < len(set) && set[j+1] == '-' {
			hi = set[j+2]
			j += 2
		}
		if lo <= c && c <= hi {
			ok = true
			break
		}
	}
	return ok != negate, i + 1, true
}
