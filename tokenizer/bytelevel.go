package tokenizer

// The byte-level alphabet of GPT-2: every byte maps to a printable
// character. Bytes that are printable Latin-1 map to themselves; the others
// (controls, space, soft hyphen...) map to U+0100 onwards, in byte order.
type byteAlphabet struct {
	char [256]rune   // byte to character
	str  [256]string // byte to the character's UTF-8
	byte map[rune]byte
}

func newByteAlphabet() *byteAlphabet {
	a := &byteAlphabet{byte: make(map[rune]byte, 256)}
	n := 0
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		r := rune(b)
		if !printable {
			r = rune(256 + n)
			n++
		}
		a.char[b] = r
		a.str[b] = string(r)
		a.byte[r] = byte(b)
	}
	return a
}

// appendEncoded appends the byte-level form of s to dst.
func (a *byteAlphabet) appendEncoded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, a.str[s[i]]...)
	}
	return dst
}

// appendDecoded appends the bytes of a byte-level token to dst; ok is
// false (and dst unchanged) when some character is outside the alphabet.
func (a *byteAlphabet) appendDecoded(dst []byte, tok string) ([]byte, bool) {
	n := len(dst)
	for _, r := range tok {
		b, ok := a.byte[r]
		if !ok {
			return dst[:n], false
		}
		dst = append(dst, b)
	}
	return dst, true
}
