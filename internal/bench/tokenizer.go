package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"runner/tokenizer"
)

// TokenizerSuite measures encoding speed (tokens per second) on about 1 MB
// of mixed text for each fetched tokenizer file: runner's tokenizer on one
// goroutine and on all cores, against tokenizers.js (and, where its node
// binding was fetched, the Rust tokenizers library) in the same run.
func TokenizerSuite() Suite { return Suite{Name: "tokenizer", Run: runTokenizer} }

var benchTokenizers = []string{"bert-base-uncased", "all-minilm-l6-v2", "cohere", "qwen3", "llama3", "gpt4o", "gemma3", "llama2", "unigram", "unigram-precompiled"}

func runTokenizer(ctx context.Context, env Env, r *Report) error {
	if env.Tokenizers == "" {
		return fmt.Errorf("RUNNER_TEST_TOKENIZERS is not set (run make deps)")
	}
	docs := MixedText(1<<20, 1)
	tmp, err := os.MkdirTemp("", "runner-bench-tok")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	docsPath := filepath.Join(tmp, "docs.json")
	data, err := json.Marshal(docs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(docsPath, data, 0o644); err != nil {
		return err
	}
	reps := 5
	if env.Quick {
		reps = 2
	}
	r.Row("tokenizer", "tokens", "go 1 core tok/s", "go all cores tok/s", "tokenizers.js tok/s", "rust batch tok/s", "go 1 core / js", "go all / js")
	for _, name := range benchTokenizers {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		path := filepath.Join(env.Tokenizers, name, "tokenizer.json")
		if _, err := os.Stat(path); err != nil {
			r.Note("%s: %v", name, err)
			continue
		}
		tk, err := tokenizer.LoadFile(path)
		if err != nil {
			return err
		}
		// tokenizers.js ignores truncation and padding from the file; so
		// do we here, to count the same tokens.
		tk = tk.WithTruncation(0, tokenizer.LongestFirst, 0).WithPadding(nil)
		// One pass first, as the node scripts do, so caches are warm.
		if _, err := tk.EncodeBatch(ctx, docs); err != nil {
			return err
		}
		tokens := 0
		single, err := Median(reps, func() error {
			tokens = 0
			for _, d := range docs {
				e, err := tk.Encode(d)
				if err != nil {
					return err
				}
				tokens += e.Len()
			}
			return nil
		})
		if err != nil {
			return err
		}
		all, err := Median(reps, func() error {
			_, err := tk.EncodeBatch(ctx, docs)
			return err
		})
		if err != nil {
			return err
		}
		js, jsTokens, err := nodeTokenize(ctx, env, "js", path, docsPath, reps)
		if err != nil {
			return fmt.Errorf("%s: tokenizers.js: %w", name, err)
		}
		if jsTokens != tokens {
			r.Note("%s: tokenizers.js counted %d tokens, runner %d", name, jsTokens, tokens)
		}
		rustCol := "n/a"
		rustLib := filepath.Join(env.Tokenizers, "rust", "tokenizers.node")
		if _, err := os.Stat(rustLib); err == nil {
			rust, _, err := nodeTokenize(ctx, env, "rust", path, docsPath, reps)
			if err != nil {
				return fmt.Errorf("%s: rust tokenizers: %w", name, err)
			}
			rustCol = rate(tokens, rust)
		}
		goSingle := float64(tokens) / single.Seconds()
		goAll := float64(tokens) / all.Seconds()
		jsRate := float64(tokens) / js.Seconds()
		r.Row(name, fmt.Sprint(tokens), rate(tokens, single), rate(tokens, all), rate(tokens, js), rustCol,
			Ratio(goSingle, jsRate), Ratio(goAll, jsRate))
	}
	r.Note("text: %d documents, %d bytes of mixed prose, code, CJK, emoji and numbers; medians of %d runs", len(docs), totalLen(docs), reps)
	r.Note("tokenizers.js and rust encode one document at a time on node; rust batch uses its own thread pool")
	return nil
}

func rate(tokens int, d time.Duration) string {
	return fmt.Sprintf("%.0f", float64(tokens)/d.Seconds())
}

func totalLen(docs []string) int {
	n := 0
	for _, d := range docs {
		n += len(d)
	}
	return n
}

// nodeTokenizeScript encodes every document reps times with tokenizers.js
// ("js") or the Rust library's binding ("rust", all documents as one
// batch), and prints the median time and the token count.
const nodeTokenizeScript = `
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const [kind, path, docsPath, repsArg, rustLib] = process.argv.slice(1);
const docs = JSON.parse(readFileSync(docsPath, "utf8"));
const reps = Number(repsArg);
let run;
if (kind === "js") {
  const { Tokenizer } = await import("@huggingface/tokenizers");
  const t = new Tokenizer(JSON.parse(readFileSync(path, "utf8")), {});
  run = async () => { let n = 0; for (const d of docs) n += t.encode(d).ids.length; return n; };
} else {
  const { Tokenizer } = createRequire(import.meta.url)(rustLib);
  const t = Tokenizer.fromFile(path);
  t.disableTruncation(); t.disablePadding();
  run = async () => { let n = 0; for (const e of await t.encodeBatch(docs)) n += e.getIds().length; return n; };
}
await run();
const times = []; let tokens = 0;
for (let i = 0; i < reps; i++) { const s = process.hrtime.bigint(); tokens = await run(); times.push(Number(process.hrtime.bigint() - s) / 1e9); }
times.sort((a, b) => a - b);
console.log(JSON.stringify({ seconds: times[Math.floor(times.length / 2)], tokens }));
`

func nodeTokenize(ctx context.Context, env Env, kind, path, docsPath string, reps int) (time.Duration, int, error) {
	if env.NodeDir == "" {
		return 0, 0, fmt.Errorf("RUNNER_TEST_NODE_DIR is not set (run make deps)")
	}
	rustLib := filepath.Join(env.Tokenizers, "rust", "tokenizers.node")
	cmd := exec.CommandContext(ctx, "node", "--input-type=module", "-e", nodeTokenizeScript, "--",
		kind, path, docsPath, fmt.Sprint(reps), rustLib)
	cmd.Dir = env.NodeDir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, err
	}
	var res struct {
		Seconds float64 `json:"seconds"`
		Tokens  int     `json:"tokens"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, 0, fmt.Errorf("node output %q: %w", out, err)
	}
	return time.Duration(res.Seconds * float64(time.Second)), res.Tokens, nil
}

// MixedText returns about size bytes of varied text in documents of a few
// kilobytes: English prose, code, CJK, other scripts, emoji and numbers,
// the same for a given seed.
func MixedText(size int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	words := strings.Fields("the of and to in is that it was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know get through back much before go good new write our used me man too any day same right look think also around another came come work three word must because does part")
	code := []string{
		"func (s *Server) handle(w http.ResponseWriter, r *http.Request) {\n\tif err := s.check(r); err != nil {\n\t\thttp.Error(w, err.Error(), 400)\n\t\treturn\n\t}\n}\n",
		"def tokenize(text: str) -> list[int]:\n    return [vocab.get(t, UNK) for t in text.split()]\n",
		"const total = items.reduce((acc, x) => acc + x.price * x.qty, 0);\nconsole.log(`total: ${total.toFixed(2)}`);\n",
		"SELECT u.id, COUNT(o.id) FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id;\n",
		"{\"model\": \"all-MiniLM-L6-v2\", \"input\": [\"hello\", \"world\"], \"options\": {\"truncate\": true}}\n",
	}
	other := []string{
		"東京は日本の首都であり、世界有数の大都市です。", "北京是中华人民共和国的首都。", "서울은 대한민국의 수도입니다.",
		"Москва — столица России, крупнейший город страны.", "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
		"القاهرة هي عاصمة مصر وأكبر مدنها.", "मुंबई भारत का सबसे बड़ा शहर है।", "Café au lait, crème brûlée, naïve façade.",
		"Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🚀✨", "Prices: $1,299.99 (−15%) on 2024-11-28 at 09:30; ID #A1B2-C3D4.",
	}
	var docs []string
	total := 0
	for total < size {
		var b strings.Builder
		docLen := 1000 + r.IntN(3000)
		for b.Len() < docLen {
			switch k := r.IntN(10); {
			case k < 6:
				n := 8 + r.IntN(20)
				for i := 0; i < n; i++ {
					w := words[r.IntN(len(words))]
					if i == 0 {
						w = strings.ToUpper(w[:1]) + w[1:]
					}
					b.WriteString(w)
					if i < n-1 {
						b.WriteByte(' ')
					}
				}
				b.WriteString(". ")
			case k < 8:
				b.WriteString(code[r.IntN(len(code))])
			default:
				b.WriteString(other[r.IntN(len(other))])
				b.WriteByte(' ')
			}
			if r.IntN(6) == 0 {
				b.WriteString("\n\n")
			}
		}
		docs = append(docs, b.String())
		total += b.Len()
	}
	return docs
}
