package tokenizer

// modelToken is one token produced by a model for a piece: its id, its
// byte range in the piece, and, rarely, a value that differs from the
// vocabulary's string for the id (Unigram's unknown pieces).
type modelToken struct {
	id         int32
	start, end int32
	value      string
	hasValue   bool
}

// A model turns one pre-tokenized piece into tokens.
type model interface {
	tokenize(sc *scratch, p *piece, dst []modelToken) ([]modelToken, error)
	// vocab lists the model's tokens by id ("" where an id is unused).
	vocab() []string
	// size is the number of entries in the vocabulary.
	size() int
	// tokenID looks a token up in the model's vocabulary.
	tokenID(tok string) (int32, bool)
}
