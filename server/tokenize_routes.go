package server

import (
	"net/http"

	"runner/tokenizer"
)

func (s *Server) tokenizeRoutes() {
	s.handle("POST /api/tokenize", s.tokenize)
	s.handle("POST /api/detokenize", s.detokenize)
}

// tokenizeRequest takes the text as text or content (llama.cpp's name).
type tokenizeRequest struct {
	Model   string `json:"model"`
	Text    string `json:"text"`
	Content string `json:"content"`
	// Pair, when set, is encoded as the second text (cross-encoders).
	Pair *string `json:"pair"`
	// AddSpecial adds the model's special tokens (default true).
	AddSpecial *bool `json:"add_special"`
}

type tokenizeResponse struct {
	Model  string   `json:"model"`
	Tokens []int    `json:"tokens"`
	Pieces []string `json:"pieces"`
	// Offsets are [start, end) in characters of the text (of the pair's
	// second text for its tokens); special tokens get [0, 0].
	Offsets [][2]int `json:"offsets"`
	TypeIDs []int    `json:"type_ids,omitempty"`
}

// tokenize is POST /api/tokenize: the model's token ids for a text.
func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) error {
	var req tokenizeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	text := req.Text
	if text == "" {
		text = req.Content
	}
	l, err := s.cfg.Models.acquire(r.Context(), req.Model)
	if err != nil {
		return err
	}
	defer l.release(nil)
	opts := []tokenizer.EncodeOption{tokenizer.WithTruncationOption(nil), tokenizer.WithPaddingOption(nil)}
	if req.AddSpecial != nil && !*req.AddSpecial {
		opts = append(opts, tokenizer.WithoutSpecialTokens())
	}
	tok := l.Tokenizer()
	var enc *tokenizer.Encoding
	texts := []string{text}
	if req.Pair != nil {
		texts = append(texts, *req.Pair)
		enc, err = tok.EncodePair(text, *req.Pair, opts...)
	} else {
		enc, err = tok.Encode(text, opts...)
	}
	if err != nil {
		return badRequest("tokenize: %v", err)
	}
	resp := tokenizeResponse{Model: req.Model, Tokens: enc.IDs, Pieces: enc.Tokens, Offsets: make([][2]int, len(enc.IDs))}
	for i, o := range enc.Offsets {
		if seq := enc.SequenceIDs[i]; seq >= 0 {
			o = tokenizer.RuneOffsets(texts[seq], []tokenizer.Offset{o})[0]
		}
		resp.Offsets[i] = [2]int{o.Start, o.End}
	}
	if req.Pair != nil {
		resp.TypeIDs = enc.TypeIDs
	}
	return writeJSON(w, http.StatusOK, resp)
}

type detokenizeRequest struct {
	Model  string `json:"model"`
	Tokens []int  `json:"tokens"`
	// SkipSpecial leaves special tokens out of the text (default false).
	SkipSpecial bool `json:"skip_special"`
}

// detokenize is POST /api/detokenize: the text of token ids.
func (s *Server) detokenize(w http.ResponseWriter, r *http.Request) error {
	var req detokenizeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	l, err := s.cfg.Models.acquire(r.Context(), req.Model)
	if err != nil {
		return err
	}
	defer l.release(nil)
	text, err := l.Tokenizer().Decode(req.Tokens, req.SkipSpecial)
	if err != nil {
		return badRequest("detokenize: %v", err)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"model": req.Model, "text": text, "content": text})
}
