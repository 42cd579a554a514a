package tokenizer

import (
	"fmt"
	"strings"
)

// bpe is the byte-pair-encoding model: a word starts as characters (or
// bytes, under ByteLevel) and pairs are merged by rank, lowest first and
// leftmost on ties.
type bpe struct {
	vocabMap     map[string]int32
	vocabR       []string
	merges       *u64Table // pairKey to packMerge(rank, id)
	unk          int32     // -1 without an unknown token
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	prefix       string // continuing_subword_prefix
	suffix       string // end_of_word_suffix

	alphabet *byteAlphabet
	// byteIDs[b] is the id of the byte-level character for b (-1 if none),
	// used when no prefix or suffix complicates the lookup.
	byteIDs [256]int32
	// fallbackIDs[b] is the id of the token <0xXX> for b (-1 if none).
	fallbackIDs [256]int32
	cache       *wordCache
}

// mergeTarget is what a pair of ids merges into, and the merge's rank.
type mergeTarget struct{ rank, id int32 }

func packMerge(t mergeTarget) int64 { return int64(t.rank)<<32 | int64(uint32(t.id)) }

// merge looks up the merge of a pair.
func (m *bpe) merge(a, b int32) (mergeTarget, bool) {
	v, ok := m.merges.get(pairKey(a, b))
	return mergeTarget{rank: int32(v >> 32), id: int32(uint32(v))}, ok
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

type bpeConfig struct {
	vocab        map[string]int32
	merges       [][2]string
	unk          string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	prefix       string
	suffix       string
}

func newBPE(c bpeConfig) (*bpe, error) {
	m := &bpe{
		vocabMap: c.vocab, unk: -1, fuseUnk: c.fuseUnk, byteFallback: c.byteFallback,
		ignoreMerges: c.ignoreMerges, prefix: c.prefix, suffix: c.suffix,
		alphabet: newByteAlphabet(), cache: newWordCache(1 << 16),
	}
	m.vocabR = invertVocab(c.vocab)
	if c.unk != "" {
		id, ok := c.vocab[c.unk]
		if ok {
			m.unk = id
		}
	}
	m.merges = newU64Table(len(c.merges))
	for rank, pair := range c.merges {
		a, ok := c.vocab[pair[0]]
		if !ok {
			return nil, fmt.Errorf("merge %d: %q is not in the vocabulary", rank, pair[0])
		}
		b, ok := c.vocab[pair[1]]
		if !ok {
			return nil, fmt.Errorf("merge %d: %q is not in the vocabulary", rank, pair[1])
		}
		right := pair[1]
		if len(right) >= len(c.prefix) {
			right = right[len(c.prefix):]
		}
		merged, ok := c.vocab[pair[0]+right]
		if !ok {
			return nil, fmt.Errorf("merge %d: %q is not in the vocabulary", rank, pair[0]+right)
		}
		m.merges.put(pairKey(a, b), packMerge(mergeTarget{int32(rank), merged}))
	}
	for b := 0; b < 256; b++ {
		m.byteIDs[b] = -1
		if id, ok := c.vocab[m.alphabet.str[b]]; ok {
			m.byteIDs[b] = id
		}
		m.fallbackIDs[b] = -1
		if id, ok := c.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.fallbackIDs[b] = id
		}
	}
	return m, nil
}

// invertVocab lists tokens by id.
func invertVocab(v map[string]int32) []string {
	n := int32(0)
	for _, id := range v {
		if id+1 > n {
			n = id + 1
		}
	}
	r := make([]string, n)
	for t, id := range v {
		if id >= 0 {
			r[id] = t
		}
	}
	return r
}

func (m *bpe) vocab() []string { return m.vocabR }

func (m *bpe) tokenID(tok string) (int32, bool) {
	id, ok := m.vocabMap[tok]
	return id, ok
}

// maxCachedWord is the longest piece (in bytes) kept in the word cache.
const maxCachedWord = 256

func (m *bpe) tokenize(sc *scratch, p *piece, dst []modelToken) ([]modelToken, error) {
	s := p.s
	if s == "" {
		return dst, nil
	}
	if m.ignoreMerges {
		key := s
		if p.byteLevel {
			sc.key = m.alphabet.appendEncoded(sc.key[:0], s)
			if id, ok := m.vocabMap[string(sc.key)]; ok {
				return append(dst, modelToken{id: id, start: 0, end: int32(len(s))}), nil
			}
		} else if id, ok := m.vocabMap[key]; ok {
			return append(dst, modelToken{id: id, start: 0, end: int32(len(s))}), nil
		}
	}
	cacheable := len(s) < maxCachedWord
	if cacheable {
		if toks, ok := m.cache.get(s, p.byteLevel); ok {
			off := int32(0)
			for _, t := range toks {
				dst = append(dst, modelToken{id: t.id, start: off, end: off + t.len})
				off += t.len
			}
			return dst, nil
		}
	}
	if err := m.initialSymbols(sc, s, p.byteLevel); err != nil {
		return dst, err
	}
	m.mergeAll(sc)
	n0 := len(dst)
	off := int32(0)
	for i := 0; i >= 0 && i < len(sc.syms); i = int(sc.syms[i].next) {
		sy := &sc.syms[i]
		if sy.len == 0 {
			continue
		}
		dst = append(dst, modelToken{id: sy.id, start: off, end: off + sy.len})
		off += sy.len
	}
	if cacheable {
		m.cache.put(s, p.byteLevel, dst[n0:])
	}
	return dst, nil
}

// symbol is a part of a word during merging: a doubly linked list over
// sc.syms, removed symbols having len 0.
type symbol struct {
	id         int32
	prev, next int32
	len        int32
}

func (sc *scratch) addSymbol(id, n int32) {
	i := int32(len(sc.syms))
	sc.syms = append(sc.syms, symbol{id: id, prev: i - 1, next: i + 1, len: n})
}

// initialSymbols splits s into its first symbols: characters (or bytes),
// with byte fallback and unknown-token fusing as configured.
func (m *bpe) initialSymbols(sc *scratch, s string, byteLevel bool) error {
	sc.syms = sc.syms[:0]
	if byteLevel && m.prefix == "" && m.suffix == "" {
		for i := 0; i < len(s); i++ {
			id := m.byteIDs[s[i]]
			if id < 0 {
				if err := m.unknownUnit(sc, m.alphabet.str[s[i]], 1); err != nil {
					return err
				}
				continue
			}
			m.flushUnk(sc)
			sc.addSymbol(id, 1)
		}
		m.flushUnk(sc)
		m.linkSymbols(sc)
		return nil
	}
	for i := 0; i < len(s); {
		var unit string
		var size int
		if byteLevel {
			unit, size = m.alphabet.str[s[i]], 1
		} else {
			size = runeLen(s, i)
			unit = s[i : i+size]
		}
		key := unit
		if (i > 0 && m.prefix != "") || (i+size == len(s) && m.suffix != "") {
			sc.key = sc.key[:0]
			if i > 0 {
				sc.key = append(sc.key, m.prefix...)
			}
			sc.key = append(sc.key, unit...)
			if i+size == len(s) {
				sc.key = append(sc.key, m.suffix...)
			}
			key = string(sc.key) // rare: only with a prefix or suffix
		}
		if id, ok := m.vocabMap[key]; ok {
			m.flushUnk(sc)
			sc.addSymbol(id, int32(size))
		} else if err := m.unknownUnit(sc, key, int32(size)); err != nil {
			return err
		}
		i += size
	}
	m.flushUnk(sc)
	m.linkSymbols(sc)
	return nil
}

// unknownUnit handles a unit missing from the vocabulary: its bytes as
// <0xXX> tokens when byte fallback has them all, else the unknown token
// (fused with a preceding one if fuse_unk), else nothing.
func (m *bpe) unknownUnit(sc *scratch, key string, size int32) error {
	if m.byteFallback {
		all := true
		for i := 0; i < len(key); i++ {
			if m.fallbackIDs[key[i]] < 0 {
				all = false
				break
			}
		}
		if all {
			m.flushUnk(sc)
			for i := 0; i < len(key); i++ {
				sc.addSymbol(m.fallbackIDs[key[i]], 1)
			}
			return nil
		}
	}
	if m.unk < 0 {
		return nil
	}
	if sc.pendingUnk > 0 {
		if m.fuseUnk {
			sc.pendingUnk += size
			return nil
		}
		sc.addSymbol(m.unk, sc.pendingUnk)
	}
	sc.pendingUnk = size
	return nil
}

func (m *bpe) flushUnk(sc *scratch) {
	if sc.pendingUnk > 0 {
		sc.addSymbol(m.unk, sc.pendingUnk)
		sc.pendingUnk = 0
	}
}

func (m *bpe) linkSymbols(sc *scratch) {
	if n := len(sc.syms); n > 0 {
		sc.syms[n-1].next = -1
	}
}

// mergeAll applies merges until none applies, with a priority queue of
// candidate pairs ordered by (rank, position); stale entries are skipped.
func (m *bpe) mergeAll(sc *scratch) {
	syms := sc.syms
	q := sc.queue[:0]
	for i := 0; i+1 < len(syms); i++ {
		if t, ok := m.merge(syms[i].id, syms[i+1].id); ok {
			q = heapPush(q, mergeItem{rank: t.rank, pos: int32(i), id: t.id})
		}
	}
	for len(q) > 0 {
		var top mergeItem
		top, q = heapPop(q)
		cur := &syms[top.pos]
		if cur.len == 0 || cur.next < 0 {
			continue
		}
		nextPos := cur.next
		right := syms[nextPos]
		if t, ok := m.merge(cur.id, right.id); !ok || t.id != top.id {
			continue
		}
		cur.id = top.id
		cur.len += right.len
		cur.next = right.next
		syms[nextPos].len = 0
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if t, ok := m.merge(syms[cur.prev].id, cur.id); ok {
				q = heapPush(q, mergeItem{rank: t.rank, pos: cur.prev, id: t.id})
			}
		}
		if cur.next >= 0 {
			if t, ok := m.merge(cur.id, syms[cur.next].id); ok {
				q = heapPush(q, mergeItem{rank: t.rank, pos: top.pos, id: t.id})
			}
		}
	}
	sc.queue = q
}

// mergeItem is a candidate merge in the queue.
type mergeItem struct{ rank, pos, id int32 }

func (a mergeItem) less(b mergeItem) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

func heapPush(h []mergeItem, x mergeItem) []mergeItem {
	h = append(h, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []mergeItem) (mergeItem, []mergeItem) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h[r].less(h[l]) {
			c = r
		}
		if !h[c].less(h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return top, h
}

// runeLen is the byte length of the UTF-8 character at s[i].
func runeLen(s string, i int) int {
	c := s[i]
	switch {
	case c < 0x80:
		return 1
	case c < 0xE0:
		return min(2, len(s)-i)
	case c < 0xF0:
		return min(3, len(s)-i)
	default:
		return min(4, len(s)-i)
	}
}

// parseMerge splits a merge written as "a b".
func parseMerge(s string) ([2]string, bool) {
	a, b, ok := strings.Cut(s, " ")
	return [2]string{a, b}, ok
}

func (m *bpe) size() int { return len(m.vocabMap) }
