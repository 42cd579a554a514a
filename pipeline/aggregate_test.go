package pipeline

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"runner/internal/testenv"
	"runner/tokenizer"
)

// wordPieceJoin decodes WordPiece tokens as BERT's decoder does, without
// its clean-up: pieces after the first lose ## or get a space.
func wordPieceJoin(toks []string) string {
	var b strings.Builder
	for i, t := range toks {
		if rest, ok := strings.CutPrefix(t, "##"); ok && i > 0 {
			b.WriteString(rest)
			continue
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	}
	return b.String()
}

var nerLabels = []string{"O", "B-ORG", "I-ORG", "B-LOC", "I-LOC"}

// "microsoft corp in redmond" as micro|##soft|corp|in|red|##mond, with
// scores chosen so that every strategy answers differently.
var microsoft = []preEntity{
	{word: "micro", start: 0, end: 5, index: 1, scores: []float64{0.1, 0.7, 0.1, 0.05, 0.05}},
	{word: "##soft", start: 5, end: 9, index: 2, subword: true, scores: []float64{0.1, 0.1, 0.2, 0.5, 0.1}},
	{word: "corp", start: 10, end: 14, index: 3, scores: []float64{0.1, 0.1, 0.6, 0.1, 0.1}},
	{word: "in", start: 15, end: 17, index: 4, scores: []float64{0.9, 0.025, 0.025, 0.025, 0.025}},
	{word: "red", start: 18, end: 21, index: 5, scores: []float64{0.1, 0.05, 0.05, 0.4, 0.4}},
	{word: "##mond", start: 21, end: 25, index: 6, subword: true, scores: []float64{0.05, 0.05, 0.05, 0.05, 0.8}},
}

// The expectations are worked out by hand from transformers'
// TokenClassificationPipeline (aggregate, aggregate_words, group_entities),
// then ignore_labels ["O"].
func TestAggregationStrategies(t *testing.T) {
	cases := []struct {
		agg  Aggregation
		want []Entity
	}{
		{AggregateNone, []Entity{
			{"B-ORG", 0.7, "micro", 0, 5, 1},
			{"B-LOC", 0.5, "##soft", 5, 9, 2},
			{"I-ORG", 0.6, "corp", 10, 14, 3},
			{"B-LOC", 0.4, "red", 18, 21, 5}, // a tie goes to the first class
			{"I-LOC", 0.8, "##mond", 21, 25, 6},
		}},
		// Tokens group by tag, so the word microsoft splits in two.
		{AggregateSimple, []Entity{
			{"ORG", 0.7, "micro", 0, 5, -1},
			{"LOC", 0.5, "##soft", 5, 9, -1},
			{"ORG", 0.6, "corp", 10, 14, -1},
			{"LOC", 0.6, "redmond", 18, 25, -1},
		}},
		// Words take their first token's label: microsoft B-ORG 0.7, then
		// corp I-ORG 0.6 joins it; redmond is red's B-LOC 0.4.
		{AggregateFirst, []Entity{
			{"ORG", 0.65, "microsoft corp", 0, 14, -1},
			{"LOC", 0.4, "redmond", 18, 25, -1},
		}},
		// Words take their most confident token's label: microsoft from
		// micro (0.7 > 0.5), redmond from ##mond (I-LOC 0.8 > 0.4).
		{AggregateMax, []Entity{
			{"ORG", 0.65, "microsoft corp", 0, 14, -1},
			{"LOC", 0.8, "redmond", 18, 25, -1},
		}},
		// Words average their tokens' scores: microsoft [.1 .4 .15 .275
		// .075] is B-ORG 0.4; redmond [.075 .05 .05 .225 .6] is I-LOC 0.6.
		{AggregateAverage, []Entity{
			{"ORG", 0.5, "microsoft corp", 0, 14, -1},
			{"LOC", 0.6, "redmond", 18, 25, -1},
		}},
	}
	for _, c := range cases {
		t.Run(string(c.agg), func(t *testing.T) {
			got := aggregateEntities(microsoft, nerLabels, c.agg, wordPieceJoin)
			got = slices.DeleteFunc(got, func(e Entity) bool { return e.Label == "O" })
			checkEntities(t, got, c.want)
		})
	}
}

func checkEntities(t *testing.T, got, want []Entity) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entities %+v, want %+v", len(got), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Label != w.Label || g.Word != w.Word || g.Start != w.Start || g.End != w.End || g.Index != w.Index || math.Abs(g.Score-w.Score) > 1e-12 {
			t.Errorf("entity %d = %+v, want %+v", i, g, w)
		}
	}
}

// Grouping keeps O groups for the caller to filter, never merges a B- into
// the group before it, and treats a label without B-/I- as a continuation
// of its own tag.
func TestGroupEntities(t *testing.T) {
	ents := []Entity{
		{Label: "B-PER", Score: 0.9, Word: "anna", Start: 0, End: 4},
		{Label: "B-PER", Score: 0.8, Word: "bob", Start: 5, End: 8},
		{Label: "I-PER", Score: 0.6, Word: "smith", Start: 9, End: 14},
		{Label: "O", Score: 0.5, Word: "and", Start: 15, End: 18},
		{Label: "O", Score: 0.7, Word: "the", Start: 19, End: 22},
		{Label: "MISC", Score: 0.2, Word: "x", Start: 23, End: 24},
		{Label: "MISC", Score: 0.4, Word: "##y", Start: 24, End: 25},
		{Label: "I-LOC-EAST", Score: 1, Word: "kyiv", Start: 26, End: 30},
	}
	checkEntities(t, groupEntities(ents, wordPieceJoin), []Entity{
		{"PER", 0.9, "anna", 0, 4, -1},
		{"PER", 0.7, "bob smith", 5, 14, -1},
		{"O", 0.6, "and the", 15, 22, -1},
		{"MISC", 0.3, "xy", 23, 25, -1},
		{"LOC-EAST", 1, "kyiv", 26, 30, -1},
	})
}

// Words are found as transformers finds them: by the continuing-subword
// prefix where the tokenizer has one, else by a space before the token;
// unknown tokens keep their text and start a word; offsets count
// characters.
func TestPreEntitiesWordBoundaries(t *testing.T) {
	cases := []struct {
		tokenizer, text string
		// want lists the tokens as WORD@START:END, a + before those that
		// continue a word.
		want []string
	}{
		{"all-minilm-l6-v2/tokenizer.json", "Café unbelievably 🙂 ok", []string{
			"cafe@0:4", "un@5:7", "+##bel@7:10", "+##ie@10:12", "+##va@12:14", "+##bly@14:17", "🙂@18:19", "ok@20:22",
		}},
		// Byte-level BPE has no prefix: a token continues a word unless a
		// space is next to its start (offsets here include the space).
		{"gpt4o/tokenizer.json", "Hello worldwide, 東京!", []string{
			"Hello@0:5", "Ġworldwide@5:15", "+,@15:16", "ĠæĿ±äº¬@16:19", "+!@19:20",
		}},
	}
	for _, c := range cases {
		t.Run(c.tokenizer, func(t *testing.T) {
			tok, err := tokenizer.LoadFile(testenv.TokenizerFile(t, c.tokenizer))
			if err != nil {
				t.Fatal(err)
			}
			enc, err := tok.Encode(c.text, tokenizer.WithPaddingOption(nil), tokenizer.WithTruncationOption(nil))
			if err != nil {
				t.Fatal(err)
			}
			scores := make([][]float64, enc.Len())
			for j := range scores {
				if enc.SpecialTokensMask[j] == 0 {
					scores[j] = []float64{1}
				}
			}
			pre := preEntities(tok, c.text, enc, scores)
			runes := []rune(c.text)
			var got []string
			for _, p := range pre {
				s := fmt.Sprintf("%s@%d:%d", p.word, p.start, p.end)
				if p.subword {
					s = "+" + s
				}
				got = append(got, s)
				if p.end > len(runes) || p.start > p.end {
					t.Fatalf("token %q has offsets %d:%d in %d characters", p.word, p.start, p.end, len(runes))
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("tokens %q, want %q", got, c.want)
			}
		})
	}
}
