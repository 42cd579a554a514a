package tokenizer_test

import (
	"fmt"
	"path/filepath"

	"runner/tokenizer"
)

func Example() {
	tk, err := tokenizer.LoadFile(filepath.Join("testdata", "tiny", "wordpiece.json"))
	if err != nil {
		panic(err)
	}
	enc, err := tk.EncodePair("Is it the world?", "Hello worlds!")
	if err != nil {
		panic(err)
	}
	fmt.Println(enc.Tokens)
	fmt.Println(enc.IDs)
	fmt.Println(enc.TypeIDs)
	fmt.Println(enc.Offsets[1:4])
	text, _ := tk.Decode(enc.IDs, true)
	fmt.Println(text)
	// Output:
	// [[CLS] is it the world ? [SEP] hello world ##s ! [SEP]]
	// [2 11 12 5 6 13 3 7 6 10 14 3]
	// [0 0 0 0 0 0 0 1 1 1 1 1]
	// [{0 2} {3 5} {6 9}]
	// is it the world? hello worlds!
}

func ExampleStreamDecoder() {
	tk, err := tokenizer.LoadFile(filepath.Join("testdata", "tiny", "bpe.json"))
	if err != nil {
		panic(err)
	}
	enc, _ := tk.Encode("Hello 東京", tokenizer.WithoutSpecialTokens())
	d := tk.NewStreamDecoder(true)
	for _, id := range enc.IDs {
		piece, _ := d.Next(id)
		fmt.Printf("%d → %q\n", id, piece)
	}
	// Output:
	// 267 → "Hello"
	// 32 → " "
	// 230 → ""
	// 157 → ""
	// 177 → "東"
	// 228 → ""
	// 186 → ""
	// 172 → "京"
}

func ExampleRuneOffsets() {
	text := "Zürich 東京"
	offsets := []tokenizer.Offset{{0, 7}, {8, 11}, {11, 14}}
	fmt.Println(tokenizer.RuneOffsets(text, offsets))
	// Output: [{0 6} {7 8} {8 9}]
}
