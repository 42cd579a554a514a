package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"

	"golang.org/x/text/unicode/norm"
)

// charsmapRules is a SentencePiece-style normalization map: NFKC for the
// characters of some blocks where it changes them, removal of control
// characters, and a few multi-character keys (composed accents, Hangul
// jamo) that only match as whole grapheme clusters.
func charsmapRules() map[string]string {
	rules := map[string]string{}
	blocks := [][2]rune{{0x00A0, 0x024F}, {0x2000, 0x2BFF}, {0x3000, 0x30FF}, {0xFB00, 0xFB4F}, {0xFF00, 0xFFEF}, {0x1D400, 0x1D7FF}}
	for _, b := range blocks {
		for r := b[0]; r <= b[1]; r++ {
			s := string(r)
			if k := norm.NFKC.String(s); k != s {
				rules[s] = k
			}
		}
	}
	for r := rune(1); r < 0x20; r++ {
		if r != '\t' && r != '\n' && r != '\r' {
			rules[string(r)] = ""
		}
	}
	rules["\x7f"] = ""
	rules["\t"] = " "
	rules["\u200b"] = ""
	for _, v := range "aeiouAEIOU" {
		rules[string(v)+"\u0301"] = norm.NFC.String(string(v) + "\u0301")
		rules[string(v)+"\u0300"] = norm.NFC.String(string(v) + "\u0300")
	}
	rules["\u1100\u1161"] = "가"
	return rules
}

// buildCharsmap encodes rules as a precompiled_charsmap: the byte size of a
// darts-clone double-array trie, the trie, then the NUL-terminated
// replacements it points to.
func buildCharsmap(rules map[string]string) (string, error) {
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pool []byte
	values := map[string]uint32{}
	for _, k := range keys {
		values[k] = uint32(len(pool))
		pool = append(pool, rules[k]...)
		pool = append(pool, 0)
	}
	// A trie of the keys.
	type node struct {
		children map[byte]*node
		leaf     bool
		value    uint32
		pos      uint32
	}
	root := &node{children: map[byte]*node{}}
	for _, k := range keys {
		n := root
		for i := 0; i < len(k); i++ {
			c, ok := n.children[k[i]]
			if !ok {
				c = &node{children: map[byte]*node{}}
				n.children[k[i]] = c
			}
			n = c
		}
		n.leaf, n.value = true, values[k]
	}
	// Place nodes breadth first: each node gets a base (distinct from all
	// others) where its children's labels and its leaf land on free units.
	units := make([]uint32, 1)
	used := map[uint32]bool{0: true}
	bases := map[uint32]bool{}
	grow := func(n uint32) {
		for uint32(len(units)) <= n {
			units = append(units, 0)
		}
	}
	queue := []*node{root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		labels := make([]byte, 0, len(n.children))
		for c := range n.children {
			labels = append(labels, c)
		}
		sort.Slice(labels, func(i, j int) bool { return labels[i] < labels[j] })
		var base uint32
		for base = 1; ; base++ {
			if bases[base] || (n.leaf && used[base]) {
				continue
			}
			ok := true
			for _, c := range labels {
				if used[base^uint32(c)] {
					ok = false
					break
				}
			}
			if ok {
				break
			}
		}
		bases[base] = true
		offset := n.pos ^ base
		if offset >= 1<<21 {
			return "", fmt.Errorf("charsmap trie too large (offset %d)", offset)
		}
		grow(n.pos)
		units[n.pos] |= offset << 10
		if n.leaf {
			units[n.pos] |= 1 << 8
			used[base] = true
			grow(base)
			units[base] = 1<<31 | n.value
		}
		for _, c := range labels {
			child := n.children[c]
			child.pos = base ^ uint32(c)
			used[child.pos] = true
			grow(child.pos)
			units[child.pos] |= uint32(c)
			queue = append(queue, child)
		}
	}
	out := make([]byte, 4, 4+4*len(units)+len(pool))
	binary.LittleEndian.PutUint32(out, uint32(4*len(units)))
	for _, u := range units {
		out = binary.LittleEndian.AppendUint32(out, u)
	}
	out = append(out, pool...)
	return base64.StdEncoding.EncodeToString(out), nil
}
