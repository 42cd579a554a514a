package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// AddedToken is a token matched in the text before the model runs, such as
// a special token like <|endoftext|>.
type AddedToken struct {
	ID      int
	Content string
	// SingleWord: only match when not inside a word.
	SingleWord bool
	// LStrip and RStrip: the match takes the whitespace on its left or right.
	LStrip, RStrip bool
	// Normalized: match against the normalized text rather than the input.
	Normalized bool
	// Special tokens are skipped by Decode when asked to skip them.
	Special bool
}

// addedMatcher finds added tokens in text, leftmost and longest first,
// like an Aho-Corasick automaton in leftmost-longest mode.
type addedMatcher struct {
	trie   *byteTrie
	first  [256]bool // bytes that can start a match
	tokens []AddedToken
	empty  bool
}

func newAddedMatcher(tokens []AddedToken, contents []string) *addedMatcher {
	m := &addedMatcher{trie: newByteTrie(), tokens: tokens, empty: true}
	for i, c := range contents {
		if c == "" {
			continue
		}
		m.empty = false
		// Keep the first of equal patterns, as an automaton built in order
		// reports the first pattern added.
		node := int32(0)
		exists := true
		for k := 0; k < len(c) && exists; k++ {
			node = m.trie.child(node, c[k])
			exists = node >= 0
		}
		if exists && m.trie.value(node) >= 0 {
			continue
		}
		m.trie.insert(c, int32(i))
		m.first[c[0]] = true
	}
	return m
}

// longestAt returns the index of the longest token starting at s[i] and its
// end, or -1.
func (m *addedMatcher) longestAt(s string, i int) (int, int) {
	node := int32(0)
	best, bestEnd := -1, 0
	for k := i; k < len(s); k++ {
		node = m.trie.child(node, s[k])
		if node < 0 {
			break
		}
		if v := m.trie.value(node); v >= 0 {
			best, bestEnd = int(v), k+1
		}
	}
	return best, bestEnd
}

// addedSplit is a part of the text: an added token (token >= 0) or text.
type addedSplit struct {
	start, end int
	token      int32
}

// split cuts s into added tokens and the text between them, applying the
// tokens' single_word, lstrip and rstrip rules.
func (m *addedMatcher) split(s string, dst []addedSplit) []addedSplit {
	if m == nil || m.empty || s == "" {
		return append(dst, addedSplit{0, len(s), -1})
	}
	prev := 0
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		idx, end := m.longestAt(s, i)
		if idx < 0 {
			i++
			continue
		}
		tok := &m.tokens[idx]
		start, stop := i, end
		i = end
		if tok.SingleWord {
			if (start > 0 && endsWithWordChar(s[:start])) || (stop < len(s) && startsWithWordChar(s[stop:])) {
				continue
			}
		}
		if tok.LStrip {
			start = max(trailingSpaceStart(s[:start]), prev)
		}
		if tok.RStrip {
			stop += leadingSpaceLen(s[stop:])
		}
		if prev < start {
			dst = append(dst, addedSplit{prev, start, -1})
		}
		dst = append(dst, addedSplit{start, stop, int32(tok.ID)})
		prev = stop
	}
	if prev != len(s) {
		dst = append(dst, addedSplit{prev, len(s), -1})
	}
	return dst
}

func endsWithWordChar(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordRune(r)
}

func startsWithWordChar(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordRune(r)
}

// trailingSpaceStart returns where the whitespace at the end of s begins.
func trailingSpaceStart(s string) int {
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[:len(s)-size]
	}
	return len(s)
}

// leadingSpaceLen returns the length of the whitespace that starts s.
func leadingSpaceLen(s string) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !unicode.IsSpace(r) {
			break
		}
		n += size
	}
	return n
}
