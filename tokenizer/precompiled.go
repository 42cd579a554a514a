package tokenizer

import "fmt"

func newPrecompiled(charsmap string) (normalizer, error) {
	return nil, fmt.Errorf("%w: Precompiled", ErrUnsupported)
}
