package tokenizer

import (
	"hash/maphash"
	"sync/atomic"
)

// wordCache remembers how words were split, shared by all goroutines
// without locks: a fixed array of slots, each an atomic pointer to an
// immutable entry; a new word replaces whatever shared its slot.
type wordCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cacheEntry]
	mask  uint64
}

type cacheEntry struct {
	key       string
	byteLevel bool
	toks      []cachedToken
}

// cachedToken is a token of a cached word: its id and byte length.
type cachedToken struct{ id, len int32 }

func newWordCache(size int) *wordCache {
	return &wordCache{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[cacheEntry], size), mask: uint64(size - 1)}
}

func (c *wordCache) get(key string, byteLevel bool) ([]cachedToken, bool) {
	e := c.slots[maphash.String(c.seed, key)&c.mask].Load()
	if e == nil || e.key != key || e.byteLevel != byteLevel {
		return nil, false
	}
	return e.toks, true
}

func (c *wordCache) put(key string, byteLevel bool, toks []modelToken) {
	ct := make([]cachedToken, len(toks))
	for i, t := range toks {
		ct[i] = cachedToken{t.id, t.end - t.start}
	}
	// The key may point into a larger input; copy it so the cache does not
	// keep that input alive.
	k := string(append([]byte(nil), key...))
	c.slots[maphash.String(c.seed, key)&c.mask].Store(&cacheEntry{key: k, byteLevel: byteLevel, toks: ct})
}
