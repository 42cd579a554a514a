package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

func parsePostProcessor(m json.RawMessage) (postProcessor, error) {
	if isNull(m) {
		return nil, nil
	}
	typ, err := typed(m)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		seq, err := parseSequence(m, "processors", parsePostProcessor)
		return processorSeq(seq), err
	case "ByteLevel":
		var v struct {
			TrimOffsets    *bool `json:"trim_offsets"`
			AddPrefixSpace *bool `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		return &byteLevelProcessing{trimOffsets: orTrue(v.TrimOffsets), addPrefixSpace: orTrue(v.AddPrefixSpace)}, nil
	case "BertProcessing", "RobertaProcessing":
		var v struct {
			Sep            [2]json.RawMessage `json:"sep"`
			Cls            [2]json.RawMessage `json:"cls"`
			TrimOffsets    *bool              `json:"trim_offsets"`
			AddPrefixSpace *bool              `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		var sepTok, clsTok string
		var sep, cls int
		for _, x := range []struct {
			raw [2]json.RawMessage
			tok *string
			id  *int
		}{{v.Sep, &sepTok, &sep}, {v.Cls, &clsTok, &cls}} {
			if err := json.Unmarshal(x.raw[0], x.tok); err != nil {
				return nil, fmt.Errorf("special token: %w", err)
			}
			if err := json.Unmarshal(x.raw[1], x.id); err != nil {
				return nil, fmt.Errorf("special token id: %w", err)
			}
		}
		if typ == "BertProcessing" {
			return &bertProcessing{sep: sep, cls: cls, sepTok: sepTok, clsTok: clsTok}, nil
		}
		return &robertaProcessing{sep: sep, cls: cls, sepTok: sepTok, clsTok: clsTok,
			trimOffsets: orTrue(v.TrimOffsets), addPrefixSpace: orTrue(v.AddPrefixSpace)}, nil
	case "TemplateProcessing":
		var v struct {
			Single        json.RawMessage `json:"single"`
			Pair          json.RawMessage `json:"pair"`
			SpecialTokens map[string]struct {
				ID     string   `json:"id"`
				IDs    []int    `json:"ids"`
				Tokens []string `json:"tokens"`
			} `json:"special_tokens"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		t := &templateProcessing{specials: make(map[string]templateSpecial)}
		for k, sp := range v.SpecialTokens {
			if len(sp.IDs) != len(sp.Tokens) {
				return nil, fmt.Errorf("special token %q: %d ids for %d tokens", k, len(sp.IDs), len(sp.Tokens))
			}
			t.specials[k] = templateSpecial{ids: sp.IDs, tokens: sp.Tokens}
		}
		if t.single, err = parseTemplate(v.Single); err != nil {
			return nil, fmt.Errorf("single: %w", err)
		}
		if t.pair, err = parseTemplate(v.Pair); err != nil {
			return nil, fmt.Errorf("pair: %w", err)
		}
		for _, tpl := range [][]templatePiece{t.single, t.pair} {
			for _, p := range tpl {
				if p.seq >= 0 {
					continue
				}
				sp, ok := t.specials[p.special]
				if !ok {
					return nil, fmt.Errorf("template uses %q, which is not among its special tokens", p.special)
				}
				if sp.enc == nil {
					sp.enc = map[int]*Encoding{}
					t.specials[p.special] = sp
				}
				sp.enc[p.typeID] = specialEncoding(sp.ids, sp.tokens, p.typeID)
			}
		}
		return t, nil
	}
	return nil, fmt.Errorf("%w: post-processor %q", ErrUnsupported, typ)
}

// parseTemplate reads a template as a list of pieces, or as a string like
// "[CLS] $A [SEP] $B:1 [SEP]:1".
func parseTemplate(m json.RawMessage) ([]templatePiece, error) {
	if isNull(m) {
		return nil, nil
	}
	var str string
	if json.Unmarshal(m, &str) == nil {
		var out []templatePiece
		for _, f := range strings.Fields(str) {
			name, typ, _ := strings.Cut(f, ":")
			typeID := 0
			if typ != "" {
				if _, err := fmt.Sscanf(typ, "%d", &typeID); err != nil {
					return nil, fmt.Errorf("type id in %q: %w", f, err)
				}
			}
			switch name {
			case "$", "$A", "$a", "$0":
				out = append(out, templatePiece{seq: 0, typeID: typeID})
			case "$B", "$b", "$1":
				out = append(out, templatePiece{seq: 1, typeID: typeID})
			default:
				if strings.HasPrefix(name, "$") && typ == "" {
					return nil, fmt.Errorf("unknown sequence %q", name)
				}
				out = append(out, templatePiece{seq: -1, special: name, typeID: typeID})
			}
		}
		return out, nil
	}
	var items []struct {
		Sequence *struct {
			ID     string `json:"id"`
			TypeID int    `json:"type_id"`
		} `json:"Sequence"`
		SpecialToken *struct {
			ID     string `json:"id"`
			TypeID int    `json:"type_id"`
		} `json:"SpecialToken"`
	}
	if err := json.Unmarshal(m, &items); err != nil {
		return nil, err
	}
	out := make([]templatePiece, 0, len(items))
	for _, it := range items {
		switch {
		case it.Sequence != nil:
			seq := 0
			if it.Sequence.ID == "B" {
				seq = 1
			}
			out = append(out, templatePiece{seq: seq, typeID: it.Sequence.TypeID})
		case it.SpecialToken != nil:
			out = append(out, templatePiece{seq: -1, special: it.SpecialToken.ID, typeID: it.SpecialToken.TypeID})
		default:
			return nil, errors.New("template piece is neither Sequence nor SpecialToken")
		}
	}
	return out, nil
}

func parseDecoder(m json.RawMessage) (decoder, error) {
	if isNull(m) {
		return nil, nil
	}
	typ, err := typed(m)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		seq, err := parseSequence(m, "decoders", parseDecoder)
		return decoderSeq(seq), err
	case "ByteLevel":
		return byteLevelDecoder{alphabet: newByteAlphabet()}, nil
	case "Metaspace":
		var v struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
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
		return metaspaceDecoder{replacement: r, scheme: scheme}, nil
	case "WordPiece":
		var v struct {
			Prefix  *string `json:"prefix"`
			Cleanup *bool   `json:"cleanup"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		prefix := "##"
		if v.Prefix != nil {
			prefix = *v.Prefix
		}
		return wordPieceDecoder{prefix: prefix, cleanup: orTrue(v.Cleanup)}, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Strip":
		var v struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		r, err := parseReplacement(v.Content)
		if err != nil {
			return nil, err
		}
		return stripDecoder{content: r, start: v.Start, stop: v.Stop}, nil
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
		return replaceDecoder{pattern: p, content: v.Content}, nil
	case "BPEDecoder":
		var v struct {
			Suffix *string `json:"suffix"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		suffix := "</w>"
		if v.Suffix != nil {
			suffix = *v.Suffix
		}
		return bpeSuffixDecoder{suffix: suffix}, nil
	case "CTC":
		var v struct {
			Pad       *string `json:"pad_token"`
			Delimiter *string `json:"word_delimiter_token"`
			Cleanup   *bool   `json:"cleanup"`
		}
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, err
		}
		d := ctcDecoder{pad: "<pad>", delimiter: "|", cleanup: orTrue(v.Cleanup)}
		if v.Pad != nil {
			d.pad = *v.Pad
		}
		if v.Delimiter != nil {
			d.delimiter = *v.Delimiter
		}
		return d, nil
	}
	return nil, fmt.Errorf("%w: decoder %q", ErrUnsupported, typ)
}

func parseDirection(s string) (Direction, error) {
	switch s {
	case "", "Right":
		return Right, nil
	case "Left":
		return Left, nil
	}
	return 0, fmt.Errorf("%w: direction %q", ErrUnsupported, s)
}

func parseTruncation(m json.RawMessage) (*Truncation, error) {
	if isNull(m) {
		return nil, nil
	}
	var v struct {
		Direction string `json:"direction"`
		MaxLength int    `json:"max_length"`
		Strategy  string `json:"strategy"`
		Stride    int    `json:"stride"`
	}
	if err := json.Unmarshal(m, &v); err != nil {
		return nil, err
	}
	t := &Truncation{MaxLength: v.MaxLength, Stride: v.Stride}
	var err error
	if t.Direction, err = parseDirection(v.Direction); err != nil {
		return nil, err
	}
	switch v.Strategy {
	case "", "LongestFirst":
		t.Strategy = LongestFirst
	case "OnlyFirst":
		t.Strategy = OnlyFirst
	case "OnlySecond":
		t.Strategy = OnlySecond
	default:
		return nil, fmt.Errorf("%w: truncation strategy %q", ErrUnsupported, v.Strategy)
	}
	return t, nil
}

func parsePadding(m json.RawMessage) (*Padding, error) {
	if isNull(m) {
		return nil, nil
	}
	var v struct {
		Strategy   json.RawMessage `json:"strategy"`
		Direction  string          `json:"direction"`
		MultipleOf *int            `json:"pad_to_multiple_of"`
		PadID      int             `json:"pad_id"`
		PadTypeID  int             `json:"pad_type_id"`
		PadToken   string          `json:"pad_token"`
	}
	if err := json.Unmarshal(m, &v); err != nil {
		return nil, err
	}
	p := &Padding{ID: v.PadID, TypeID: v.PadTypeID, Token: v.PadToken}
	if v.MultipleOf != nil {
		p.MultipleOf = *v.MultipleOf
	}
	var err error
	if p.Direction, err = parseDirection(v.Direction); err != nil {
		return nil, err
	}
	var name string
	if json.Unmarshal(v.Strategy, &name) == nil {
		if name != "BatchLongest" {
			return nil, fmt.Errorf("%w: padding strategy %q", ErrUnsupported, name)
		}
		return p, nil
	}
	var fixed struct {
		Fixed *int `json:"Fixed"`
	}
	if err := json.Unmarshal(v.Strategy, &fixed); err != nil || fixed.Fixed == nil {
		return nil, fmt.Errorf("%w: padding strategy %s", ErrUnsupported, v.Strategy)
	}
	p.Length = *fixed.Fixed
	return p, nil
}

// Config is what tokenizer_config.json adds to tokenizer.json.
type Config struct {
	// ModelMaxLength is the longest input the model takes (0: unknown).
	ModelMaxLength int
	// BOSToken, EOSToken, PadToken and UnkToken name the special tokens
	// ("" when not set).
	BOSToken, EOSToken, PadToken, UnkToken string
	// AddBOSToken and AddEOSToken are the add_bos_token and add_eos_token
	// flags (nil when not set).
	AddBOSToken, AddEOSToken *bool
	// ChatTemplate is the Jinja chat template, when given as one string.
	ChatTemplate string
}

// ParseConfig reads a tokenizer_config.json.
func ParseConfig(data []byte) (Config, error) {
	var v struct {
		ModelMaxLength *float64        `json:"model_max_length"`
		BOS            json.RawMessage `json:"bos_token"`
		EOS            json.RawMessage `json:"eos_token"`
		Pad            json.RawMessage `json:"pad_token"`
		Unk            json.RawMessage `json:"unk_token"`
		AddBOS         *bool           `json:"add_bos_token"`
		AddEOS         *bool           `json:"add_eos_token"`
		ChatTemplate   json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Config{}, err
	}
	c := Config{AddBOSToken: v.AddBOS, AddEOSToken: v.AddEOS}
	// transformers writes a huge number when the length is unknown.
	if v.ModelMaxLength != nil && *v.ModelMaxLength > 0 && *v.ModelMaxLength < math.MaxInt32 {
		c.ModelMaxLength = int(*v.ModelMaxLength)
	}
	c.BOSToken = tokenName(v.BOS)
	c.EOSToken = tokenName(v.EOS)
	c.PadToken = tokenName(v.Pad)
	c.UnkToken = tokenName(v.Unk)
	_ = json.Unmarshal(v.ChatTemplate, &c.ChatTemplate)
	return c, nil
}

// tokenName reads a special token given as a string or as an added-token
// object with "content".
func tokenName(m json.RawMessage) string {
	if isNull(m) {
		return ""
	}
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	var obj struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(m, &obj) == nil {
		return obj.Content
	}
	return ""
}

// Config returns what tokenizer_config.json said (zero without one).
func (t *Tokenizer) Config() Config { return t.config }

// SpecialTokenID returns the id of a special token named in the config,
// such as t.Config().EOSToken; ok is false when it is unset or unknown.
func (t *Tokenizer) SpecialTokenID(name string) (int, bool) {
	if name == "" {
		return 0, false
	}
	return t.TokenToID(name)
}

// shareLastTemplate lets a template processing share its special tokens'
// encodings when it is the last processor to run.
func shareLastTemplate(p postProcessor) {
	switch x := p.(type) {
	case *templateProcessing:
		x.shareSpecials = true
	case processorSeq:
		if len(x) > 0 {
			shareLastTemplate(x[len(x)-1])
		}
	}
}

// SpecialIDs are the ids of the special tokens a model uses; -1 where
// unknown.
type SpecialIDs struct {
	BOS, EOS, Pad, Unk int
}

// SpecialIDs resolves the special tokens named in tokenizer_config.json
// (LoadDir), falling back for padding on the padding token of
// tokenizer.json.
func (t *Tokenizer) SpecialIDs() SpecialIDs {
	id := func(name string) int {
		if v, ok := t.SpecialTokenID(name); ok {
			return v
		}
		return -1
	}
	ids := SpecialIDs{BOS: id(t.config.BOSToken), EOS: id(t.config.EOSToken), Pad: id(t.config.PadToken), Unk: id(t.config.UnkToken)}
	if ids.Pad < 0 && t.padding != nil {
		ids.Pad = t.padding.ID
	}
	return ids
}
