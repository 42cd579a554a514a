package tokenizer

import (
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

var fastPatternSources = []string{gpt2Pattern, llama3Pattern, qwenPattern, o200kPattern}

// regexMatches finds the matches of src in s with the regex engine.
func regexMatches(t testing.TB, src, s string) []match {
	t.Helper()
	re, err := regexp2.Compile(src, regexp2.None)
	if err != nil {
		t.Fatal(err)
	}
	return (&regexPattern{src: src, re: re}).findAll(s, nil)
}

// fastRegexCases are strings that exercise the patterns' alternatives and
// backtracking.
var fastRegexCases = []string{
	"", "a", " ", "  ", "   x", "x   ", "a  b", "\n", "\n\n", " \n ", "  \n  x", "\r\n\r\n", "\t\tx", "x\t \n",
	"it's", "IT'S", "it'S", "we're", "'ll", "'LL", "'lL", "'x", "''s", "I'm'd", "don't've",
	"HelloWorld", "HELLOworld", "helloWORLD", "ǅungla", "ǅǅ", "ÀÉÎõü", "AB'S", "aB'Cd", "ΣΊΣΥΦΟΣ σοφός",
	"a\u0301b", "\u0301a", "A\u0301", "\u0301", " \u0301", "x\u0301\u0302Y", "ß", "ʰʲ", "ˆa", "中文字", "日本語テキスト",
	"123456789", "1,234.56", "١٢٣٤", "²³", "Ⅻⅻ", "12ab34", "a1", " 1", " 12345",
	"...", " ...", "!?\n", " !!\r\n\n", "a/b//c", " //\n", "<|endoftext|>", "(x)", " (", "\u00a0x", "\u3000日本",
	"😀", " 😀", "😀😀 😀", "👨‍👩‍👧", "\u200b", "\ufeffx", "a\u0085b", "\u2028\u2029", "x\u00a0\u00a0y",
}

func TestFastPatternsMatchRegex(t *testing.T) {
	corpus := loadCorpus(t)
	inputs := append(slices.Clone(fastRegexCases), corpus.Texts...)
	for _, src := range fastPatternSources {
		fast := fastPattern(src)
		name := fast.(*tilingPattern).name
		t.Run(name, func(t *testing.T) {
			for _, s := range inputs {
				want := regexMatches(t, src, s)
				got := fast.findAll(s, nil)
				if !slices.Equal(got, want) {
					t.Errorf("%q:\n got %v\nwant %v", s, got, want)
				}
			}
		})
	}
}

func FuzzFastPatterns(f *testing.F) {
	for _, s := range fastRegexCases {
		f.Add(s)
	}
	res := make([]*regexPattern, len(fastPatternSources))
	for i, src := range fastPatternSources {
		re, err := regexp2.Compile(src, regexp2.None)
		if err != nil {
			f.Fatal(err)
		}
		res[i] = &regexPattern{src: src, re: re}
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		for i, src := range fastPatternSources {
			want := res[i].findAll(s, nil)
			got := fastPattern(src).findAll(s, nil)
			if !slices.Equal(got, want) {
				t.Errorf("pattern %d on %q:\n got %v\nwant %v", i, s, got, want)
			}
		}
	})
}

func TestOnigWordClass(t *testing.T) {
	tests := []struct{ in, want string }{
		{`\d+`, `\d+`},
		{`\w+`, `[` + wordClass + `]+`},
		{`[\w-]+|\W`, `[` + wordClass + `-]+|[^` + wordClass + `]`},
		{`[^\w\s]`, `[^` + wordClass + `\s]`},
		{`\\w`, `\\w`},
		{`[]\w]`, `[]` + wordClass + `]`},
	}
	for _, tc := range tests {
		if got := onigWordClass(tc.in); got != tc.want {
			t.Errorf("onigWordClass(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	p, err := compileRegex(`\w+`)
	if err != nil {
		t.Fatal(err)
	}
	// U+0903 (Devanagari visarga) is a spacing mark: a word character.
	if got := p.findAll("ab\u0903c d", nil); !slices.Equal(got, []match{{0, 6}, {7, 8}}) {
		t.Errorf("\\w+ matches %v", got)
	}
}
