package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrUnsupported is returned for tokenizer.json components this package
// does not implement.
var ErrUnsupported = errors.New("unsupported tokenizer component")

// LoadFile reads a tokenizer.json. Truncation and padding set in the file
// apply, as in the Hugging Face tokenizers library.
func LoadFile(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	t, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return t, nil
}

// LoadDir reads dir/tokenizer.json and, when present,
// dir/tokenizer_config.json (see Config).
func LoadDir(dir string) (*Tokenizer, error) {
	t, err := LoadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	data, err := os.ReadFile(cfgPath)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", cfgPath, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", cfgPath, err)
	}
	t.core.config = cfg
	return t, nil
}

// Load builds a tokenizer from the contents of a tokenizer.json.
func Load(data []byte) (*Tokenizer, error) {
	var f struct {
		AddedTokens   []addedTokenJSON `json:"added_tokens"`
		Normalizer    json.RawMessage  `json:"normalizer"`
		PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
		Model         json.RawMessage  `json:"model"`
		PostProcessor json.RawMessage  `json:"post_processor"`
		Decoder       json.RawMessage  `json:"decoder"`
		Truncation    json.RawMessage  `json:"truncation"`
		Padding       json.RawMessage  `json:"padding"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	if isNull(f.Model) {
		return nil, errNoModel
	}
	c := &core{}
	var err error
	if c.normalizer, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	if c.preTok, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	if c.model, err = parseModel(f.Model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if c.dec, err = parseDecoder(f.Decoder); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	c.setAdded(f.AddedTokens)
	if c.post, err = parsePostProcessor(f.PostProcessor); err != nil {
		return nil, fmt.Errorf("post_processor: %w", err)
	}
	shareLastTemplate(c.post)
	t := &Tokenizer{core: c}
	if t.truncation, err = parseTruncation(f.Truncation); err != nil {
		return nil, fmt.Errorf("truncation: %w", err)
	}
	if t.padding, err = parsePadding(f.Padding); err != nil {
		return nil, fmt.Errorf("padding: %w", err)
	}
	return t, nil
}

func isNull(m json.RawMessage) bool {
	m = bytes.TrimSpace(m)
	return len(m) == 0 || string(m) == "null"
}

type addedTokenJSON struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// setAdded registers the added tokens as the reference implementation
// does when it loads a tokenizer.json: in file order, each token takes the
// id of an equal added token or vocabulary entry if there is one, else the
// next id after the vocabulary and the added tokens (the ids written in
// the file are not used). Matching tries special tokens first, then the
// others.
func (c *core) setAdded(list []addedTokenJSON) {
	c.addedByID = make(map[int]int)
	c.addedByText = make(map[string]int)
	vocabSize := c.model.size()
	maxAdded := -1
	var order []int // indexes into c.added: specials, then others, in order
	var specials, others []int
	seen := make(map[AddedToken]bool, len(list))
	for _, a := range list {
		if a.Content == "" {
			continue
		}
		t := AddedToken{Content: a.Content, SingleWord: a.SingleWord, LStrip: a.LStrip,
			RStrip: a.RStrip, Normalized: a.Normalized, Special: a.Special}
		// An identical token (all options equal) is added once.
		if seen[t] {
			continue
		}
		seen[t] = true
		id := -1
		if i, ok := c.addedByText[a.Content]; ok {
			id = c.added[i].ID
		} else if mid, ok := c.model.tokenID(a.Content); ok {
			id = int(mid)
		} else if maxAdded < 0 {
			id = vocabSize
		} else if maxAdded >= vocabSize || vocabSize == 0 {
			id = maxAdded + 1
		} else {
			id = vocabSize
		}
		t.ID = id
		maxAdded = max(maxAdded, id)
		if i, ok := c.addedByID[id]; ok {
			c.added[i] = t
			c.addedByText[a.Content] = i
			continue
		}
		idx := len(c.added)
		c.added = append(c.added, t)
		c.addedByID[id] = idx
		c.addedByText[a.Content] = idx
		if t.Special {
			specials = append(specials, idx)
		} else {
			others = append(others, idx)
		}
	}
	order = append(specials, others...)
	var raw, nrm []int
	for _, i := range order {
		if c.added[i].Normalized {
			nrm = append(nrm, i)
		} else {
			raw = append(raw, i)
		}
	}
	build := func(idx []int, normalize bool) *addedMatcher {
		toks := make([]AddedToken, len(idx))
		contents := make([]string, len(idx))
		for k, i := range idx {
			toks[k] = c.added[i]
			contents[k] = c.added[i].Content
			if normalize && c.normalizer != nil {
				contents[k] = c.normalizer.normalize(normalized{s: contents[k]}).s
			}
		}
		return newAddedMatcher(toks, contents)
	}
	c.rawMatcher = build(raw, false)
	c.normMatcher = build(nrm, true)
	// The vocabulary by id: the model's, extended by added tokens.
	mv := c.model.vocab()
	n := len(mv)
	for _, a := range c.added {
		n = max(n, a.ID+1)
	}
	c.vocab = make([]string, n)
	copy(c.vocab, mv)
	for _, a := range c.added {
		if a.ID >= 0 {
			c.vocab[a.ID] = a.Content
		}
	}
}

// parseSequence parses a Sequence component: the list under key, each item
// with parse; items that parse to nothing (null) are dropped.
func parseSequence[T comparable](m json.RawMessage, key string, parse func(json.RawMessage) (T, error)) ([]T, error) {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(m, &v); err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v[key], &items); err != nil && !isNull(v[key]) {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	var zero T
	var seq []T
	for i, x := range items {
		item, err := parse(x)
		if err != nil {
			return nil, fmt.Errorf("sequence item %d: %w", i, err)
		}
		if item != zero {
			seq = append(seq, item)
		}
	}
	return seq, nil
}

// typed reads the "type" field of a component.
func typed(m json.RawMessage) (string, error) {
	var t struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(m, &t); err != nil {
		return "", err
	}
	return t.Type, nil
}

// patternJSON is {"String": "..."} or {"Regex": "..."}.
type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p patternJSON) compile() (pattern, error) {
	switch {
	case p.String != nil:
		return literalPattern(*p.String), nil
	case p.Regex != nil:
		return compileRegex(*p.Regex)
	}
	return nil, errors.New("pattern has neither String nor Regex")
}

func parseNormalizer(m json.RawMessage) (normalizer, error) {
	if isNull(m) {
		return nil, nil
	}
	typ, err := typed(m)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		seq, err := parseSequence(m, "normalizers", parseNormalizer)
		return normalizerSeq(seq), err
	case "BertNormalizer":
		v := struct {
			CleanText          *bool `json:"clean_text"`
			HandleChineseChars *bool `json:"handle_chinese_chars"`
			StripAccents       *bool `json:"strip_accents"`
			Lowercase          *bool `json:"lowercase"`
		}{}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		b := bertNormalizer{cleanText: orTrue(v.CleanText), chineseChars: orTrue(v.HandleChineseChars), lowercase: orTrue(v.Lowercase)}
		b.stripAccents = b.lowercase
		if v.StripAccents != nil {
			b.stripAccents = *v.StripAccents
		}
		return b, nil
	case "NFC":
		return unicodeNormalizer{norm.NFC}, nil
	case "NFD":
		return unicodeNormalizer{norm.NFD}, nil
	case "NFKC":
		return unicodeNormalizer{norm.NFKC}, nil
	case "NFKD":
		return unicodeNormalizer{norm.NFKD}, nil
	case "Lowercase":
		return lowercaseNormalizer{}, nil
	case "StripAccents":
		return stripAccentsNormalizer{}, nil
	case "Nmt":
		return nmtNormalizer{}, nil
	case "Strip":
		v := struct {
			Left  *bool `json:"strip_left"`
			Right *bool `json:"strip_right"`
		}{}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		return stripNormalizer{left: orTrue(v.Left), right: orTrue(v.Right)}, nil
	case "Replace":
		var v struct {
			Pattern patternJSON `json:"pattern"`
			Content string      `json:"content"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		p, err := v.Pattern.compile()
		if err != nil {
			return nil, err
		}
		return replaceNormalizer{pattern: p, content: v.Content}, nil
	case "Prepend":
		var v struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		return prependNormalizer{v.Prepend}, nil
	case "Append":
		var v struct {
			Append string `json:"append"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		return appendNormalizer{v.Append}, nil
	case "Precompiled":
		var v struct {
			Charsmap *string `json:"precompiled_charsmap"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		if v.Charsmap == nil || *v.Charsmap == "" {
			return nil, nil
		}
		return newPrecompiled(*v.Charsmap)
	}
	return nil, fmt.Errorf("%w: normalizer %q", ErrUnsupported, typ)
}

func orTrue(b *bool) bool { return b == nil || *b }

func parseBehavior(s string) (splitBehavior, error) {
	switch s {
	case "Removed":
		return splitRemoved, nil
	case "Isolated", "":
		return splitIsolated, nil
	case "MergedWithPrevious":
		return splitMergedWithPrevious, nil
	case "MergedWithNext":
		return splitMergedWithNext, nil
	case "Contiguous":
		return splitContiguous, nil
	}
	return 0, fmt.Errorf("%w: split behavior %q", ErrUnsupported, s)
}

// parsePrependScheme reads prepend_scheme, or the older add_prefix_space.
func parsePrependScheme(scheme *string, addPrefixSpace *bool) (prependScheme, error) {
	if scheme != nil {
		switch strings.ToLower(*scheme) {
		case "always":
			return prependAlways, nil
		case "never":
			return prependNever, nil
		case "first":
			return prependFirst, nil
		}
		return 0, fmt.Errorf("%w: prepend_scheme %q", ErrUnsupported, *scheme)
	}
	if addPrefixSpace != nil && !*addPrefixSpace {
		return prependNever, nil
	}
	return prependAlways, nil
}

func parseReplacement(s string) (rune, error) {
	r, size := utf8.DecodeRuneInString(s)
	if s == "" || size != len(s) {
		return 0, fmt.Errorf("replacement %q must be one character", s)
	}
	return r, nil
}

func parsePreTokenizer(m json.RawMessage) (preTokenizer, error) {
	if isNull(m) {
		return nil, nil
	}
	typ, err := typed(m)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		seq, err := parseSequence(m, "pretokenizers", parsePreTokenizer)
		return preTokenizerSeq(seq), err
	case "BertPreTokenizer":
		return bertPreTokenizer{}, nil
	case "Whitespace":
		return whitespacePreTokenizer{}, nil
	case "WhitespaceSplit":
		return &runeSplitter{pred: isWhitespace, behavior: splitRemoved}, nil
	case "Punctuation":
		var v struct {
			Behavior string `json:"behavior"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		b, err := parseBehavior(v.Behavior)
		if err != nil {
			return nil, err
		}
		return &runeSplitter{pred: isBertPunct, behavior: b}, nil
	case "Digits":
		var v struct {
			Individual bool `json:"individual_digits"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		return digitsPreTokenizer{individual: v.Individual}, nil
	case "CharDelimiterSplit":
		var v struct {
			Delimiter string `json:"delimiter"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		d, err := parseReplacement(v.Delimiter)
		if err != nil {
			return nil, err
		}
		return &runeSplitter{pred: func(r rune) bool { return r == d }, behavior: splitRemoved}, nil
	case "Split":
		var v struct {
			Pattern  patternJSON `json:"pattern"`
			Behavior string      `json:"behavior"`
			Invert   bool        `json:"invert"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		p, err := v.Pattern.compile()
		if err != nil {
			return nil, err
		}
		b, err := parseBehavior(v.Behavior)
		if err != nil {
			return nil, err
		}
		return &splitPreTokenizer{pattern: p, behavior: b, invert: v.Invert}, nil
	case "Metaspace":
		var v struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			Split          *bool   `json:"split"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		r, err := parseReplacement(v.Replacement)
		if err != nil {
			return nil, err
		}
		scheme, err := parsePrependScheme(v.PrependScheme, v.AddPrefixSpace)
		if err != nil {
			return nil, err
		}
		return &metaspacePreTokenizer{replacement: r, repl: string(r), scheme: scheme, split: orTrue(v.Split)}, nil
	case "ByteLevel":
		var v struct {
			AddPrefixSpace *bool `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		b := &byteLevelPreTokenizer{addPrefixSpace: orTrue(v.AddPrefixSpace)}
		if orTrue(v.UseRegex) {
			b.regex = fastPattern(gpt2Pattern)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: pre-tokenizer %q", ErrUnsupported, typ)
}

// isWhitespace is Unicode White_Space, as the reference's char::is_whitespace.
func isWhitespace(r rune) bool { return unicode.IsSpace(r) }

func parseModel(m json.RawMessage) (model, error) {
	var v struct {
		Type                    string          `json:"type"`
		Vocab                   json.RawMessage `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
		UnkToken                *string         `json:"unk_token"`
		UnkID                   *int            `json:"unk_id"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
		FuseUnk                 bool            `json:"fuse_unk"`
		ByteFallback            bool            `json:"byte_fallback"`
		IgnoreMerges            bool            `json:"ignore_merges"`
		MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
		Dropout                 *float64        `json:"dropout"`
	}
	if err := json.Unmarshal(m, &v); err != nil {
		return nil, err
	}
	typ := v.Type
	if typ == "" {
		switch {
		case !isNull(v.Merges):
			typ = "BPE"
		case v.MaxInputCharsPerWord != nil || v.ContinuingSubwordPrefix != nil:
			typ = "WordPiece"
		case bytes.HasPrefix(bytes.TrimSpace(v.Vocab), []byte("[")):
			typ = "Unigram"
		default:
			typ = "WordLevel"
		}
	}
	str := func(p *string, def string) string {
		if p == nil {
			return def
		}
		return *p
	}
	switch typ {
	case "BPE":
		vocab, err := parseVocab(v.Vocab)
		if err != nil {
			return nil, err
		}
		merges, err := parseMerges(v.Merges)
		if err != nil {
			return nil, err
		}
		return newBPE(bpeConfig{
			vocab: vocab, merges: merges, unk: str(v.UnkToken, ""), fuseUnk: v.FuseUnk,
			byteFallback: v.ByteFallback, ignoreMerges: v.IgnoreMerges,
			prefix: str(v.ContinuingSubwordPrefix, ""), suffix: str(v.EndOfWordSuffix, ""),
		})
	case "WordPiece":
		vocab, err := parseVocab(v.Vocab)
		if err != nil {
			return nil, err
		}
		maxChars := 100
		if v.MaxInputCharsPerWord != nil {
			maxChars = *v.MaxInputCharsPerWord
		}
		return newWordPiece(vocab, str(v.UnkToken, "[UNK]"), str(v.ContinuingSubwordPrefix, "##"), maxChars), nil
	case "WordLevel":
		vocab, err := parseVocab(v.Vocab)
		if err != nil {
			return nil, err
		}
		return newWordLevel(vocab, str(v.UnkToken, "<unk>")), nil
	case "Unigram":
		var entries []json.RawMessage
		if err := json.Unmarshal(v.Vocab, &entries); err != nil {
			return nil, fmt.Errorf("unigram vocab: %w", err)
		}
		pieces := make([]string, len(entries))
		scores := make([]float64, len(entries))
		for i, e := range entries {
			var pair [2]json.RawMessage
			if err := json.Unmarshal(e, &pair); err != nil {
				return nil, fmt.Errorf("unigram vocab entry %d: %w", i, err)
			}
			if err := json.Unmarshal(pair[0], &pieces[i]); err != nil {
				return nil, fmt.Errorf("unigram vocab entry %d: %w", i, err)
			}
			if err := json.Unmarshal(pair[1], &scores[i]); err != nil {
				return nil, fmt.Errorf("unigram vocab entry %d: %w", i, err)
			}
		}
		unk := -1
		if v.UnkID != nil {
			unk = *v.UnkID
		}
		return newUnigram(pieces, scores, unk, v.ByteFallback)
	}
	return nil, fmt.Errorf("%w: model %q", ErrUnsupported, typ)
}

func parseVocab(m json.RawMessage) (map[string]int32, error) {
	var v map[string]int32
	if err := json.Unmarshal(m, &v); err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	// Ids index tables by id: refuse negative ones and ones so far apart
	// that the tables would be mostly holes.
	limit := int64(4*len(v) + 1024)
	for t, id := range v {
		if id < 0 || int64(id) > limit {
			return nil, fmt.Errorf("vocab: token %q has id %d, outside 0..%d", t, id, limit)
		}
	}
	return v, nil
}

// parseMerges reads merges as ["a b", ...] or [["a", "b"], ...].
func parseMerges(m json.RawMessage) ([][2]string, error) {
	if isNull(m) {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(m, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			p, ok := parseMerge(s)
			if !ok {
				return nil, fmt.Errorf("merge %d: %q is not two tokens", i, s)
			}
			out[i] = p
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(m, &pairs); err != nil {
		return nil, fmt.Errorf("merges: %w", err)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("merge %d: want two tokens, got %q", i, p)
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}
