package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// wordPiece is BERT's model: greedy longest-match-first over the
// vocabulary, pieces after the first carrying a prefix (##).
type wordPiece struct {
	vocabMap map[string]int32
	// cont maps the text of continuing pieces, without their prefix, to ids.
	cont     map[string]int32
	vocabR   []string
	unk      int32
	unkName  string
	prefix   string
	maxChars int
	// longest is the byte length of the longest vocabulary entry (without
	// the prefix), so no longer candidate is looked up.
	longest int
	cache   *wordCache
}

func newWordPiece(vocab map[string]int32, unk, prefix string, maxChars int) *wordPiece {
	m := &wordPiece{vocabMap: vocab, vocabR: invertVocab(vocab), unk: -1, unkName: unk, prefix: prefix, maxChars: maxChars,
		cache: newWordCache(1 << 16)}
	if id, ok := vocab[unk]; ok {
		m.unk = id
	}
	m.cont = make(map[string]int32)
	for t, id := range vocab {
		if rest, ok := strings.CutPrefix(t, prefix); ok {
			m.cont[rest] = id
		}
		m.longest = max(m.longest, len(t))
	}
	return m
}

func (m *wordPiece) vocab() []string { return m.vocabR }

func (m *wordPiece) tokenID(tok string) (int32, bool) {
	id, ok := m.vocabMap[tok]
	return id, ok
}

func (m *wordPiece) unknown(s string, dst []modelToken) ([]modelToken, error) {
	if m.unk < 0 {
		return dst, fmt.Errorf("wordpiece: unknown token %q is not in the vocabulary", m.unkName)
	}
	return append(dst, modelToken{id: m.unk, start: 0, end: int32(len(s))}), nil
}

func (m *wordPiece) tokenize(sc *scratch, p *piece, dst []modelToken) ([]modelToken, error) {
	s := p.s
	if s == "" {
		return dst, nil
	}
	cacheable := len(s) < maxCachedWord
	if cacheable {
		if toks, ok := m.cache.get(s, false); ok {
			off := int32(0)
			for _, t := range toks {
				dst = append(dst, modelToken{id: t.id, start: off, end: off + t.len})
				off += t.len
			}
			return dst, nil
		}
	}
	n0 := len(dst)
	dst, err := m.split(s, dst)
	if err == nil && cacheable {
		m.cache.put(s, false, dst[n0:])
	}
	return dst, err
}

// split is the greedy longest-match-first search.
func (m *wordPiece) split(s string, dst []modelToken) ([]modelToken, error) {
	if utf8.RuneCountInString(s) > m.maxChars {
		return m.unknown(s, dst)
	}
	n0 := len(dst)
	for start := 0; start < len(s); {
		end := len(s)
		if end-start > m.longest {
			// Back off to a character boundary within reach.
			end = start + m.longest
			for end > start && !utf8.RuneStart(s[end]) {
				end--
			}
		}
		found := int32(-1)
		for start < end {
			var id int32
			var ok bool
			if start == 0 {
				id, ok = m.vocabMap[s[:end]]
			} else {
				id, ok = m.cont[s[start:end]]
			}
			if ok {
				found = id
				break
			}
			_, size := utf8.DecodeLastRuneInString(s[start:end])
			end -= size
		}
		if found < 0 {
			return m.unknown(s, dst[:n0])
		}
		dst = append(dst, modelToken{id: found, start: int32(start), end: int32(end)})
		start = end
	}
	return dst, nil
}

// wordLevel maps whole pieces to ids.
type wordLevel struct {
	vocabMap map[string]int32
	vocabR   []string
	unk      int32
	unkName  string
}

func newWordLevel(vocab map[string]int32, unk string) *wordLevel {
	m := &wordLevel{vocabMap: vocab, vocabR: invertVocab(vocab), unk: -1, unkName: unk}
	if id, ok := vocab[unk]; ok {
		m.unk = id
	}
	return m
}

func (m *wordLevel) vocab() []string { return m.vocabR }

func (m *wordLevel) tokenID(tok string) (int32, bool) {
	id, ok := m.vocabMap[tok]
	return id, ok
}

func (m *wordLevel) tokenize(sc *scratch, p *piece, dst []modelToken) ([]modelToken, error) {
	if p.s == "" {
		return dst, nil
	}
	if id, ok := m.vocabMap[p.s]; ok {
		return append(dst, modelToken{id: id, start: 0, end: int32(len(p.s))}), nil
	}
	if m.unk < 0 {
		return dst, fmt.Errorf("wordlevel: unknown token %q is not in the vocabulary", m.unkName)
	}
	return append(dst, modelToken{id: m.unk, start: 0, end: int32(len(p.s))}), nil
}

func (m *wordPiece) size() int { return len(m.vocabMap) }

func (m *wordLevel) size() int { return len(m.vocabMap) }
