package tokenizer

// DecodeTokens turns token strings back into text through the decoder, as
// transformers' convert_tokens_to_string does: pieces after the first lose
// their continuing-subword prefix, byte-level tokens become text, and so
// on. The strings need not be in the vocabulary.
func (t *Tokenizer) DecodeTokens(tokens []string) string { return t.decodeTokens(tokens) }

// ContinuingSubwordPrefix returns the prefix the model puts on pieces that
// continue a word ("##" for WordPiece), or "" when its tokens do not say
// where words continue (byte-level BPE, Unigram, WordLevel).
func (t *Tokenizer) ContinuingSubwordPrefix() string {
	switch m := t.model.(type) {
	case *wordPiece:
		return m.prefix
	case *bpe:
		return m.prefix
	}
	return ""
}

// UnknownID returns the id of the unknown token: the one
// tokenizer_config.json names, else the model's own; false when there is
// none.
func (t *Tokenizer) UnknownID() (int, bool) {
	if name := t.config.UnkToken; name != "" {
		if id, ok := t.TokenToID(name); ok {
			return id, true
		}
	}
	var id int32 = -1
	switch m := t.model.(type) {
	case *wordPiece:
		id = m.unk
	case *bpe:
		id = m.unk
	case *wordLevel:
		id = m.unk
	case *unigram:
		id = m.unk
	}
	return int(id), id >= 0
}
