package tokenizer

import (
	"errors"
	"fmt"
	"math"
)

// unigram is SentencePiece's unigram model: the split with the highest
// total score (Viterbi), unknown characters scored below every piece and
// fused, with optional byte fallback.
type unigram struct {
	vocabMap     map[string]int32
	vocabR       []string
	scores       []float64
	unk          int32
	byteFallback bool
	trie         *byteTrie
	unkScore     float64
	fallbackIDs  [256]int32
}

// unkPenalty is how far below the lowest piece score an unknown scores.
const unkPenalty = 10.0

func newUnigram(pieces []string, scores []float64, unk int, byteFallback bool) (*unigram, error) {
	m := &unigram{
		vocabMap: make(map[string]int32, len(pieces)), vocabR: pieces, scores: scores,
		unk: -1, byteFallback: byteFallback, trie: newByteTrie(),
	}
	if unk >= len(pieces) {
		return nil, fmt.Errorf("unigram: unk_id %d is outside the vocabulary of %d", unk, len(pieces))
	}
	if unk >= 0 {
		m.unk = int32(unk)
	}
	minScore := math.Inf(1)
	for id, p := range pieces {
		m.vocabMap[p] = int32(id)
		if scores[id] < minScore {
			minScore = scores[id]
		}
		m.trie.insert(p, int32(id))
	}
	m.unkScore = minScore - unkPenalty
	for b := 0; b < 256; b++ {
		m.fallbackIDs[b] = -1
		if id, ok := m.vocabMap[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.fallbackIDs[b] = id
		}
	}
	return m, nil
}

func (m *unigram) vocab() []string { return m.vocabR }

func (m *unigram) tokenID(tok string) (int32, bool) {
	id, ok := m.vocabMap[tok]
	return id, ok
}

// errMissingUnk is returned when a unigram model meets an unknown piece
// but has no unknown token.
var errMissingUnk = errors.New("unigram: the text has an unknown piece and the model has no unk_id")

// latticeNode is the best path ending at a byte position.
type latticeNode struct {
	score float64
	start int32 // -1: unreached
	id    int32
}

func (m *unigram) tokenize(sc *scratch, p *piece, dst []modelToken) ([]modelToken, error) {
	s := p.s
	if s == "" {
		return dst, nil
	}
	n := len(s)
	if cap(sc.lattice) < n+1 {
		sc.lattice = make([]latticeNode, n+1)
	}
	best := sc.lattice[:n+1]
	for i := range best {
		best[i] = latticeNode{start: -1}
	}
	best[0].start = 0
	for start := 0; start < n; {
		here := best[start].score
		charLen := runeLen(s, start)
		single := false
		node := int32(0)
		for k := start; k < n; k++ {
			node = m.trie.child(node, s[k])
			if node < 0 {
				break
			}
			id := m.trie.value(node)
			if id < 0 {
				continue
			}
			end := k + 1
			cand := m.scores[id] + here
			if t := &best[end]; t.start < 0 || cand > t.score {
				*t = latticeNode{score: cand, start: int32(start), id: id}
			}
			if end-start == charLen {
				single = true
			}
		}
		if !single {
			if m.unk < 0 {
				return dst, errMissingUnk
			}
			cand := m.unkScore + here
			if t := &best[start+charLen]; t.start < 0 || cand > t.score {
				*t = latticeNode{score: cand, start: int32(start), id: m.unk}
			}
		}
		start += charLen
	}
	// Walk back, fusing runs of unknowns.
	sc.ranges = sc.ranges[:0]
	for end := n; end > 0; {
		nd := best[end]
		st := int(nd.start)
		if nd.id == m.unk && len(sc.ranges) > 0 && sc.ranges[len(sc.ranges)-1].unk {
			sc.ranges[len(sc.ranges)-1].start = st
		} else {
			sc.ranges = append(sc.ranges, pieceRange{st, end, nd.id == m.unk})
		}
		end = st
	}
	for i := len(sc.ranges) - 1; i >= 0; i-- {
		r := sc.ranges[i]
		str := s[r.start:r.end]
		id, ok := m.vocabMap[str]
		if ok {
			dst = append(dst, modelToken{id: id, start: int32(r.start), end: int32(r.end)})
			continue
		}
		if m.byteFallback {
			all := true
			for k := 0; k < len(str); k++ {
				if m.fallbackIDs[str[k]] < 0 {
					all = false
					break
				}
			}
			if all {
				for k := 0; k < len(str); k++ {
					dst = append(dst, modelToken{id: m.fallbackIDs[str[k]], start: int32(r.start), end: int32(r.end)})
				}
				continue
			}
		}
		if m.unk < 0 {
			return dst, errMissingUnk
		}
		dst = append(dst, modelToken{id: m.unk, start: int32(r.start), end: int32(r.end), value: str, hasValue: true})
	}
	return dst, nil
}

// pieceRange is a byte range of a piece, and whether it is unknown.
type pieceRange struct {
	start, end int
	unk        bool
}

// byteTrie is a byte-wise trie with transitions in one hash table.
type byteTrie struct {
	next   *u64Table
	values []int32 // per node: token id, or -1
}

func newByteTrie() *byteTrie {
	return &byteTrie{next: newU64Table(64), values: []int32{-1}}
}

func (t *byteTrie) insert(s string, id int32) {
	node := int32(0)
	for i := 0; i < len(s); i++ {
		k := uint64(node)<<8 | uint64(s[i])
		c, ok := t.next.get(k)
		if !ok {
			c = int64(len(t.values))
			t.values = append(t.values, -1)
			t.next.put(k, c)
		}
		node = int32(c)
	}
	t.values[node] = id
}

// child returns the node after byte b from node, or -1.
func (t *byteTrie) child(node int32, b byte) int32 {
	c, ok := t.next.get(uint64(node)<<8 | uint64(b))
	if !ok {
		return -1
	}
	return int32(c)
}

func (t *byteTrie) value(node int32) int32 { return t.values[node] }

func (m *unigram) size() int { return len(m.vocabR) }
