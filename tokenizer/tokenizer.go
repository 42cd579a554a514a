package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Tokenizer encodes text to token ids and decodes ids back to text, as
// described by a tokenizer.json. It is safe for concurrent use.
//
// A Tokenizer value is cheap to copy with different truncation or padding
// (WithTruncation, WithPadding); the copies share everything else.
type Tokenizer struct {
	*core
	truncation *Truncation
	padding    *Padding
}

// core is the immutable part of a tokenizer.
type core struct {
	normalizer normalizer
	preTok     preTokenizer
	model      model
	post       postProcessor
	dec        decoder

	added       []AddedToken
	addedByID   map[int]int // id to index in added
	addedByText map[string]int
	rawMatcher  *addedMatcher
	normMatcher *addedMatcher

	// vocab lists every token string by id: the model's, then added tokens.
	vocab []string

	config Config
	pool   sync.Pool // *scratch
}

// scratch holds the buffers one encode call works in.
type scratch struct {
	pieceBufs [][]piece
	nextBuf   int
	matches   []match
	// replaceMatches is for Replace normalizers and Metaspace.
	replaceMatches []match
	spans          []markedSpan
	splits         []addedSplit
	normSplits     []addedSplit
	syms           []symbol
	queue          []mergeItem
	key            []byte
	pendingUnk     int32
	lattice        []latticeNode
	ranges         []pieceRange
	toks           []modelToken
	editOut        []byte
	editAlign      []span
	recs           []tokenRec
	// bytes and spansArena hold normalized texts for one encode call.
	bytes      []byte
	spansArena []span
}

// takePieces returns an empty piece buffer distinct from the ones handed
// out since the last reset, and its slot for putPieces.
func (sc *scratch) takePieces() (int, []piece) {
	if sc.nextBuf == len(sc.pieceBufs) {
		sc.pieceBufs = append(sc.pieceBufs, make([]piece, 0, 64))
	}
	k := sc.nextBuf
	sc.nextBuf++
	return k, sc.pieceBufs[k][:0]
}

// putPieces keeps a buffer that grew, for the next calls.
func (sc *scratch) putPieces(k int, b []piece) { sc.pieceBufs[k] = b[:0] }

func (sc *scratch) reset() { sc.nextBuf = 0 }

// resetArena forgets the arena's contents at the start of an encode call;
// nothing from an earlier call still points into it.
func (sc *scratch) resetArena() {
	sc.bytes = sc.bytes[:0]
	sc.spansArena = sc.spansArena[:0]
}

func (c *core) getScratch() *scratch {
	if sc, ok := c.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{}
}

// EncodeOption changes how one Encode call works.
type EncodeOption func(*encodeSettings)

type encodeSettings struct {
	addSpecial bool
	truncation *Truncation
	padding    *Padding
}

// WithoutSpecialTokens leaves out the tokens the post-processor would add
// (such as [CLS] and [SEP], or <bos>).
func WithoutSpecialTokens() EncodeOption {
	return func(s *encodeSettings) { s.addSpecial = false }
}

// WithTruncationOption truncates this call's encodings as t says (nil: no
// truncation), instead of the tokenizer's setting.
func WithTruncationOption(t *Truncation) EncodeOption {
	return func(s *encodeSettings) { s.truncation = t }
}

// WithPaddingOption pads this call's encodings as p says (nil: no
// padding), instead of the tokenizer's setting.
func WithPaddingOption(p *Padding) EncodeOption {
	return func(s *encodeSettings) { s.padding = p }
}

func (t *Tokenizer) settings(opts []EncodeOption) encodeSettings {
	s := encodeSettings{addSpecial: true, truncation: t.truncation, padding: t.padding}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// WithTruncation returns a copy of t that truncates encodings to maxLen
// tokens (special tokens included), keeping stride tokens of overlap
// between overflowing windows. A maxLen of 0 or less turns truncation off.
func (t *Tokenizer) WithTruncation(maxLen int, strategy TruncationStrategy, stride int) *Tokenizer {
	c := *t
	if maxLen <= 0 {
		c.truncation = nil
		return &c
	}
	c.truncation = &Truncation{MaxLength: maxLen, Strategy: strategy, Stride: stride}
	return &c
}

// WithPadding returns a copy of t that pads encodings as p says (nil: no
// padding).
func (t *Tokenizer) WithPadding(p *Padding) *Tokenizer {
	c := *t
	if p != nil {
		cp := *p
		p = &cp
	}
	c.padding = p
	return &c
}

// Truncation returns the truncation in effect (nil if none).
func (t *Tokenizer) Truncation() *Truncation { return t.truncation }

// Padding returns the padding in effect (nil if none).
func (t *Tokenizer) Padding() *Padding { return t.padding }

// Encode encodes one text. Offsets in the result are byte offsets into
// text. Text that is not valid UTF-8 has each invalid byte replaced by
// U+FFFD first, and offsets then refer to that corrected text.
func (t *Tokenizer) Encode(text string, opts ...EncodeOption) (*Encoding, error) {
	s := t.settings(opts)
	e, err := t.encode(text, nil, &s)
	if err != nil {
		return nil, err
	}
	if s.padding != nil {
		padAll([]*Encoding{e}, s.padding)
	}
	return e, nil
}

// EncodePair encodes a pair of texts (a question and a passage, a query
// and a document), as cross-encoders and rerankers take them.
func (t *Tokenizer) EncodePair(a, b string, opts ...EncodeOption) (*Encoding, error) {
	s := t.settings(opts)
	e, err := t.encode(a, &b, &s)
	if err != nil {
		return nil, err
	}
	if s.padding != nil {
		padAll([]*Encoding{e}, s.padding)
	}
	return e, nil
}

// EncodeBatch encodes texts in parallel on all cores; padding, if any,
// applies across the batch (to its longest encoding unless a length is
// fixed).
func (t *Tokenizer) EncodeBatch(ctx context.Context, texts []string, opts ...EncodeOption) ([]*Encoding, error) {
	return t.encodeBatch(ctx, len(texts), func(i int) (string, *string) { return texts[i], nil }, opts)
}

// EncodePairBatch encodes pairs of texts in parallel, like EncodeBatch.
func (t *Tokenizer) EncodePairBatch(ctx context.Context, pairs [][2]string, opts ...EncodeOption) ([]*Encoding, error) {
	return t.encodeBatch(ctx, len(pairs), func(i int) (string, *string) { return pairs[i][0], &pairs[i][1] }, opts)
}

func (t *Tokenizer) encodeBatch(ctx context.Context, n int, input func(int) (string, *string), opts []EncodeOption) ([]*Encoding, error) {
	s := t.settings(opts)
	out := make([]*Encoding, n)
	workers := min(runtime.GOMAXPROCS(0), n)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		next    int
		firstEr error
	)
	// Items are handed out in small chunks so uneven texts balance.
	const chunk = 16
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if firstEr != nil || next >= n {
					mu.Unlock()
					return
				}
				lo := next
				next = min(next+chunk, n)
				hi := next
				mu.Unlock()
				for i := lo; i < hi; i++ {
					a, b := input(i)
					e, err := t.encode(a, b, &s)
					if err != nil {
						mu.Lock()
						if firstEr == nil {
							firstEr = fmt.Errorf("item %d: %w", i, err)
						}
						mu.Unlock()
						return
					}
					out[i] = e
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if firstEr != nil {
		return nil, firstEr
	}
	if s.padding != nil {
		padAll(out, s.padding)
	}
	return out, nil
}

// encode runs the pipeline up to post-processing (not padding).
func (t *Tokenizer) encode(a string, b *string, s *encodeSettings) (*Encoding, error) {
	sc := t.getScratch()
	defer t.pool.Put(sc)
	sc.resetArena()
	texts := []string{validUTF8(a)}
	if b != nil {
		texts = append(texts, validUTF8(*b))
	}
	ea, err := t.encodeSequence(sc, texts[0], 0)
	if err != nil {
		return nil, err
	}
	var eb *Encoding
	if b != nil {
		if eb, err = t.encodeSequence(sc, texts[1], 1); err != nil {
			return nil, err
		}
	}
	if tr := s.truncation; tr != nil {
		params := *tr
		if s.addSpecial && t.post != nil {
			params.MaxLength = max(0, params.MaxLength-t.post.addedTokens(b != nil))
		}
		if err := truncatePair(ea, eb, params); err != nil {
			return nil, err
		}
	}
	encs := []*Encoding{ea}
	if eb != nil {
		encs = append(encs, eb)
	}
	if t.post != nil {
		encs = t.post.process(encs, texts, s.addSpecial)
	} else {
		for i, e := range encs {
			setSeqDeep(e, i)
		}
	}
	return mergeEncodings(encs), nil
}

// validUTF8 replaces each invalid byte of s with U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

// encodeSequence encodes one text without special tokens.
func (t *Tokenizer) encodeSequence(sc *scratch, text string, seq int) (*Encoding, error) {
	sc.reset()
	slot, pieces := sc.takePieces()
	defer func() { sc.putPieces(slot, pieces) }()
	sc.splits = t.rawMatcher.split(text, sc.splits[:0])
	for _, sp := range sc.splits {
		if sp.token >= 0 {
			pieces = append(pieces, piece{normalized: normalized{s: text[sp.start:sp.end], base: sp.start, sc: sc}, token: sp.token})
			continue
		}
		n := normalized{s: text[sp.start:sp.end], base: sp.start, sc: sc}
		if t.normalizer != nil {
			n = t.normalizer.normalize(n)
		}
		sc.normSplits = t.normMatcher.split(n.s, sc.normSplits[:0])
		for _, ns := range sc.normSplits {
			if ns.start == ns.end {
				continue
			}
			pieces = append(pieces, piece{normalized: n.slice(ns.start, ns.end), token: ns.token})
		}
	}
	if t.preTok != nil {
		sc.putPieces(slot, pieces)
		var in []piece
		in, pieces = pieces, nil
		slot, pieces = sc.takePieces()
		pieces = t.preTok.preTokenize(sc, in, pieces)
	}
	recs := sc.recs[:0]
	word := 0
	for i := range pieces {
		p := &pieces[i]
		if p.s == "" {
			continue
		}
		if p.token >= 0 {
			st, en := p.original(0, len(p.s))
			recs = append(recs, tokenRec{id: int(p.token), tok: strings.Clone(p.s), off: Offset{st, en}, word: word})
			word++
			continue
		}
		var err error
		sc.toks, err = t.model.tokenize(sc, p, sc.toks[:0])
		if err != nil {
			return nil, err
		}
		for _, tk := range sc.toks {
			st, en := p.original(int(tk.start), int(tk.end))
			val := t.vocab[tk.id]
			if tk.hasValue {
				val = strings.Clone(tk.value)
			}
			recs = append(recs, tokenRec{id: int(tk.id), tok: val, off: Offset{st, en}, word: word})
		}
		word++
	}
	sc.recs = recs
	return newEncoding(recs, seq), nil
}

// tokenRec is a token on its way into an Encoding.
type tokenRec struct {
	id   int
	tok  string
	off  Offset
	word int
}

// roomAround is how many tokens newEncoding leaves free before and after
// the text, where a post-processor's special tokens then go without
// copying the text.
const roomAround = 4

// encodingRoom remembers the free space around an encoding's tokens.
type encodingRoom struct {
	n    int // tokens of the text
	ints []int
	toks []string
	offs []Offset
}

// newEncoding builds an encoding of one text from its tokens, with one
// allocation for all the int slices and room for special tokens around.
func newEncoding(recs []tokenRec, seq int) *Encoding {
	n := len(recs)
	w := n + 2*roomAround
	ints := make([]int, 6*w)
	toks := make([]string, w)
	offs := make([]Offset, w)
	part := func(k int) []int { return ints[k*w+roomAround : k*w+roomAround+n : k*w+roomAround+n] }
	e := &Encoding{
		IDs: part(0), TypeIDs: part(1), AttentionMask: part(2), SpecialTokensMask: part(3),
		WordIDs: part(4), SequenceIDs: part(5),
		Tokens:  toks[roomAround : roomAround+n : roomAround+n],
		Offsets: offs[roomAround : roomAround+n : roomAround+n],
		room:    &encodingRoom{n: n, ints: ints, toks: toks, offs: offs},
	}
	for i, r := range recs {
		e.IDs[i] = r.id
		e.TypeIDs[i] = seq
		e.AttentionMask[i] = 1
		e.WordIDs[i] = r.word
		e.SequenceIDs[i] = seq
		e.Tokens[i] = r.tok
		e.Offsets[i] = r.off
	}
	return e
}

// mergeInRoom merges encs in the room around one of them, if one has room
// enough for the others; it returns nil otherwise.
func mergeInRoom(encs []*Encoding) *Encoding {
	for i, e := range encs {
		if e.room == nil || e.room.n != e.Len() {
			continue
		}
		before, after := 0, 0
		for _, x := range encs[:i] {
			before += x.Len()
		}
		for _, x := range encs[i+1:] {
			after += x.Len()
		}
		if before > roomAround || after > roomAround {
			return nil
		}
		r := e.room
		n := r.n
		w := n + 2*roomAround
		start := roomAround - before
		total := before + n + after
		part := func(k int) []int { return r.ints[k*w+start : k*w+start+total : k*w+start+total] }
		out := &Encoding{
			IDs: part(0), TypeIDs: part(1), AttentionMask: part(2), SpecialTokensMask: part(3),
			WordIDs: part(4), SequenceIDs: part(5),
			Tokens:  r.toks[start : start+total : start+total],
			Offsets: r.offs[start : start+total : start+total],
		}
		at := 0
		for j, x := range encs {
			if j == i {
				at += n
				continue
			}
			copy(out.IDs[at:], x.IDs)
			copy(out.TypeIDs[at:], x.TypeIDs)
			copy(out.AttentionMask[at:], x.AttentionMask)
			copy(out.SpecialTokensMask[at:], x.SpecialTokensMask)
			copy(out.WordIDs[at:], x.WordIDs)
			copy(out.SequenceIDs[at:], x.SequenceIDs)
			copy(out.Tokens[at:], x.Tokens)
			copy(out.Offsets[at:], x.Offsets)
			at += x.Len()
		}
		e.room = nil
		return out
	}
	return nil
}

// TokenToID returns the id of a token (added tokens first, then the
// model's vocabulary).
func (t *Tokenizer) TokenToID(tok string) (int, bool) {
	if i, ok := t.addedByText[tok]; ok {
		return t.added[i].ID, true
	}
	id, ok := t.model.tokenID(tok)
	return int(id), ok
}

// IDToToken returns the token string of an id.
func (t *Tokenizer) IDToToken(id int) (string, bool) {
	if i, ok := t.addedByID[id]; ok {
		return t.added[i].Content, true
	}
	v := t.model.vocab()
	if id < 0 || id >= len(v) {
		return "", false
	}
	if v[id] != "" {
		return v[id], true
	}
	// An empty string is a token only if the vocabulary has it at id.
	got, ok := t.model.tokenID("")
	return "", ok && int(got) == id
}

// VocabSize returns the number of ids, added tokens included (the largest
// id plus one).
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// AddedTokens returns the added tokens (special tokens among them).
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// IsSpecial reports whether id is a special added token.
func (t *Tokenizer) IsSpecial(id int) bool {
	i, ok := t.addedByID[id]
	return ok && t.added[i].Special
}

// errNoModel is returned for a tokenizer.json without a model.
var errNoModel = errors.New("tokenizer.json has no model")

// arenaChunk is the size of the blocks the scratch arena hands out from.
const arenaChunk = 64 << 10

// arenaString copies b into memory that lives until the scratch is reset
// and returns it as a string. Strings from the arena never leave an encode
// call: whatever reaches an Encoding is cloned.
func (sc *scratch) arenaString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(sc.bytes)+len(b) > cap(sc.bytes) {
		// Blocks double, so a long text soon fits in one block, which
		// the next call reuses.
		sc.bytes = make([]byte, 0, max(arenaChunk, 2*cap(sc.bytes), 2*len(b)))
	}
	start := len(sc.bytes)
	sc.bytes = append(sc.bytes, b...)
	return unsafe.String(&sc.bytes[start], len(b))
}

// arenaSpans copies a into memory that lives until the encode call ends.
func (sc *scratch) arenaSpans(a []span) []span {
	if len(sc.spansArena)+len(a) > cap(sc.spansArena) {
		sc.spansArena = make([]span, 0, max(arenaChunk/8, 2*cap(sc.spansArena), 2*len(a)))
	}
	start := len(sc.spansArena)
	sc.spansArena = append(sc.spansArena, a...)
	return sc.spansArena[start:len(sc.spansArena):len(sc.spansArena)]
}
