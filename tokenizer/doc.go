// Package tokenizer reads Hugging Face tokenizer.json files and encodes
// text to token ids (and back) exactly as the Hugging Face tokenizers
// library does, in pure Go.
//
// # Basics
//
//	tk, err := tokenizer.LoadDir(dir) // tokenizer.json (+ tokenizer_config.json)
//	enc, err := tk.Encode("Hello world")
//	enc.IDs, enc.AttentionMask, enc.Offsets // model inputs, byte offsets
//	pair, err := tk.EncodePair(query, document) // cross-encoders, rerankers
//	encs, err := tk.EncodeBatch(ctx, texts)     // in parallel, padded together
//	text, err := tk.Decode(ids, true)           // skipping special tokens
//
// For generation, a StreamDecoder turns ids into text one at a time and
// only ever emits whole UTF-8 characters:
//
//	d := tk.NewStreamDecoder(true)
//	for id := range generated {
//		piece, err := d.Next(id)
//		...
//	}
//
// # Offsets
//
// Encoding.Offsets are byte offsets into the encoded string ([Start, End),
// {0, 0} for special tokens and padding; for a pair, each text's tokens
// point into that text). Transformers reports character (code point)
// offsets; RuneOffsets converts, with the same rules as the reference
// (tokens that cover part of a character cover the whole character).
//
// # Truncation and padding
//
// Truncation and padding set in tokenizer.json apply, as in the reference
// library (tokenizers.js ignores them). WithTruncation and WithPadding
// return a copy of the tokenizer with other settings, and the options
// WithTruncationOption and WithPaddingOption change them for one call.
// Truncation keeps the cut-off tokens as Overflowing windows (with stride
// tokens of overlap), each processed like the main encoding.
//
// # What is supported
//
// Models: BPE (byte-level or not, byte fallback, ignore_merges,
// continuing_subword_prefix, end_of_word_suffix, unknown-token fusing; no
// dropout), WordPiece, Unigram, WordLevel. Normalizers: BertNormalizer,
// NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend,
// Append, Nmt, Precompiled (SentencePiece), Sequence. Pre-tokenizers:
// ByteLevel, Split, Metaspace, Whitespace, WhitespaceSplit,
// BertPreTokenizer, Punctuation, Digits, CharDelimiterSplit, Sequence.
// Post-processors: TemplateProcessing, BertProcessing, RobertaProcessing,
// ByteLevel, Sequence. Decoders: ByteLevel, Metaspace, WordPiece,
// ByteFallback, Fuse, Strip, Replace, BPEDecoder, CTC, Sequence. Others
// fail to load with ErrUnsupported.
//
// # Reference
//
// The behaviour to match is the Hugging Face tokenizers library (Rust),
// which transformers and the models' own training used; tests compare with
// its output (version 0.22.2, through a prebuilt node binding) on real
// tokenizer files and a corpus of several hundred texts: ids, tokens,
// character offsets, pairs, truncation with overflowing windows, padding
// and decoding (testdata/genref.mjs writes the reference data).
// tokenizers.js departs from it in places, and this package follows the
// Rust library there: tokenizers.js ignores truncation and padding from
// tokenizer.json, lowercases Greek capital sigma by context (ς) where the
// BERT normalizer lowercases each character alone (σ), does not pad CJK
// ideographs outside the Basic Multilingual Plane, and does not apply byte
// fallback in Unigram models.
//
// # Caveats
//
// Regular expressions in Split and Replace patterns run on regexp2 (a
// backtracking engine with look-around, like the Oniguruma engine the
// reference uses); the split patterns of GPT-2, Llama 3, Qwen and GPT-4o
// are recognized and scanned by hand instead, which is much faster. Unicode
// tables are Go's, which can differ from the reference's on characters
// added in recent Unicode versions. Added tokens take the ids the
// reference gives them on load (the ids in the file are ignored, as there).
// Text that is not valid UTF-8 has each invalid byte replaced by U+FFFD
// before encoding.
package tokenizer
