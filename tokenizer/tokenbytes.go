package tokenizer

import "strings"

// TokenBytes returns the bytes token id contributes to decoded text when it
// follows other tokens: byte-level tokens give their raw bytes (which may
// be part of a multi-byte character), byte-fallback tokens such as <0xE2>
// their one byte, and other tokens the text the decoder makes of them
// (with ▁ as a space, without a WordPiece ## prefix). Special tokens, ids
// outside the vocabulary and tokens that decode to nothing give nil.
//
// Constrained generation uses it to tell which tokens may come next.
func (t *Tokenizer) TokenBytes(id int) []byte {
	if t.IsSpecial(id) {
		return nil
	}
	tok, ok := t.IDToToken(id)
	if !ok {
		return nil
	}
	if a := t.byteLevelAlphabet(); a != nil {
		if b, ok := a.appendDecoded(nil, tok); ok {
			return nilIfEmpty(b)
		}
	}
	if t.hasDecoder(func(d decoder) bool { _, ok := d.(byteFallbackDecoder); return ok }) {
		if b, ok := parseByteToken(tok); ok {
			return []byte{b}
		}
	}
	// Decode after an anchor token so that decoders which treat the first
	// token specially (dropping a leading space) see this one mid-text.
	const anchor = "a"
	text := t.decodeTokens([]string{anchor, tok})
	prefix := t.decodeTokens([]string{anchor})
	if !strings.HasPrefix(text, prefix) {
		return nil
	}
	return nilIfEmpty([]byte(text[len(prefix):]))
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// byteLevelAlphabet returns the byte-level alphabet of the decoder chain,
// or nil when it has no byte-level decoder.
func (t *Tokenizer) byteLevelAlphabet() *byteAlphabet {
	var a *byteAlphabet
	t.hasDecoder(func(d decoder) bool {
		if bl, ok := d.(byteLevelDecoder); ok {
			a = bl.alphabet
			return true
		}
		return false
	})
	return a
}

// hasDecoder reports whether match accepts the decoder or one in its chain.
func (t *Tokenizer) hasDecoder(match func(decoder) bool) bool {
	if seq, ok := t.dec.(decoderSeq); ok {
		for _, d := range seq {
			if match(d) {
				return true
			}
		}
		return false
	}
	return t.dec != nil && match(t.dec)
}
