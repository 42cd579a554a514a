package tokenizer

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownID is returned when decoding an id outside the vocabulary.
var ErrUnknownID = errors.New("tokenizer: unknown token id")

// Decode turns ids back into text. With skipSpecial, special added tokens
// (such as <|endoftext|>) are left out.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) (string, error) {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if skipSpecial && t.IsSpecial(id) {
			continue
		}
		tok, ok := t.IDToToken(id)
		if !ok {
			return "", fmt.Errorf("%w: %d", ErrUnknownID, id)
		}
		toks = append(toks, tok)
	}
	return t.decodeTokens(toks), nil
}

func (t *Tokenizer) decodeTokens(toks []string) string {
	if t.dec == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.dec.decodeChain(toks), "")
}

// StreamDecoder decodes ids one at a time as a model generates them, and
// only ever emits whole characters: bytes of a character split across
// tokens wait for the rest.
//
// It decodes a small window of recent ids each step and emits what the
// window adds to the text, so decoders that look at neighbouring tokens
// (spaces, byte fallback) give the same text as decoding all ids at once.
// While the text ends in U+FFFD (an incomplete character, or a real
// replacement character) nothing is emitted. A StreamDecoder is not safe
// for concurrent use.
type StreamDecoder struct {
	t           *Tokenizer
	skipSpecial bool
	ids         []int
	prefix      string
	prefixIndex int
}

// NewStreamDecoder starts a streaming decode.
func (t *Tokenizer) NewStreamDecoder(skipSpecial bool) *StreamDecoder {
	return &StreamDecoder{t: t, skipSpecial: skipSpecial}
}

// Next adds one id and returns the text it completes, which may be empty
// while a character is still incomplete.
func (d *StreamDecoder) Next(id int) (string, error) {
	d.ids = append(d.ids, id)
	s, err := d.t.Decode(d.ids, d.skipSpecial)
	if err != nil {
		d.ids = d.ids[:len(d.ids)-1]
		return "", err
	}
	if len(s) <= len(d.prefix) || strings.HasSuffix(s, "\uFFFD") {
		return "", nil
	}
	if !strings.HasPrefix(s, d.prefix) {
		// The window's text changed before the new part (a decoder that
		// rewrites earlier tokens); emit nothing rather than wrong text.
		return "", fmt.Errorf("tokenizer: stream decode: text %q does not extend %q", s, d.prefix)
	}
	out := s[len(d.prefix):]
	newPrefixIndex := len(d.ids) - d.prefixIndex
	d.ids = append(d.ids[:0], d.ids[d.prefixIndex:]...)
	if d.prefix, err = d.t.Decode(d.ids, d.skipSpecial); err != nil {
		return "", err
	}
	d.prefixIndex = newPrefixIndex
	return out, nil
}

// Flush returns text held back at the end of a stream (an incomplete
// character, decoded with U+FFFD) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	s, err := d.t.Decode(d.ids, d.skipSpecial)
	out := ""
	if err == nil && len(s) > len(d.prefix) && strings.HasPrefix(s, d.prefix) {
		out = s[len(d.prefix):]
	}
	d.ids, d.prefix, d.prefixIndex = d.ids[:0], "", 0
	return out
}
