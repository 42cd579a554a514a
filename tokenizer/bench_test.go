package tokenizer_test

import (
	"path/filepath"
	"testing"

	"runner/internal/bench"
	"runner/internal/testenv"
	"runner/tokenizer"
)

// BenchmarkEncode encodes about 1 MB of mixed text with each fetched
// tokenizer (go test -bench Encode ./tokenizer).
func BenchmarkEncode(b *testing.B) {
	docs := bench.MixedText(1<<20, 1)
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	for _, name := range []string{"bert-base-uncased", "cohere", "qwen3", "llama3", "gpt4o", "gemma3", "llama2", "unigram"} {
		b.Run(name, func(b *testing.B) {
			tk, err := tokenizer.LoadFile(testenv.TokenizerFile(b, filepath.Join(name, "tokenizer.json")))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			tokens := 0
			for b.Loop() {
				tokens = 0
				for _, d := range docs {
					e, err := tk.Encode(d)
					if err != nil {
						b.Fatal(err)
					}
					tokens += e.Len()
				}
			}
			b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
