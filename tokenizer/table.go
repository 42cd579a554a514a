package tokenizer

import "math/bits"

// u64Table is an open-addressing hash table from uint64 keys to int64
// values, built once and then only read: faster than a Go map for the
// lookups of BPE merges and trie transitions.
type u64Table struct {
	keys  []uint64 // key+1; 0 marks an empty slot
	vals  []int64
	shift uint
	count int
}

func newU64Table(n int) *u64Table {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return &u64Table{keys: make([]uint64, size), vals: make([]int64, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

func (t *u64Table) slot(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> t.shift }

// put sets the value of key k (k must be below 2^64-1).
func (t *u64Table) put(k uint64, v int64) {
	if (t.count+1)*2 > len(t.keys) {
		t.grow()
	}
	mask := uint64(len(t.keys) - 1)
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case 0:
			t.keys[i], t.vals[i] = k+1, v
			t.count++
			return
		case k + 1:
			t.vals[i] = v
			return
		}
	}
}

func (t *u64Table) get(k uint64) (int64, bool) {
	mask := uint64(len(t.keys) - 1)
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case 0:
			return 0, false
		case k + 1:
			return t.vals[i], true
		}
	}
}

func (t *u64Table) grow() {
	old := *t
	*t = *newU64Table(len(old.keys))
	for i, k := range old.keys {
		if k != 0 {
			t.put(k-1, old.vals[i])
		}
	}
}
