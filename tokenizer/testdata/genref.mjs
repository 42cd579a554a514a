// genref.mjs writes the reference encodings the Go tests compare with.
//
// The reference is the Hugging Face tokenizers library itself (Rust), through
// the prebuilt node binding that `scripts/deps.sh tokenizers` fetches.
//
//   make tokenizer-reference
//   (or: node tokenizer/testdata/genref.mjs DEPS_DIR/tokenizers tokenizer/testdata/reference)
//
// For each tokenizer it records, over the corpus (corpus.mjs): ids and
// character offsets with and without special tokens, pairs with type ids,
// truncation with overflowing windows, padding, and decoded text. Tokens are
// recorded only where they differ from the vocabulary entry of their id.
// Files are gzipped JSON.
import { createRequire } from "node:module";
import { writeFileSync, readFileSync, existsSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { corpus, pairs } from "./corpus.mjs";
import { components } from "./components.mjs";

const [tokDir, outDir] = process.argv.slice(2);
if (!tokDir || !outDir) {
  console.error("usage: genref.mjs TOKENIZERS_DIR OUT_DIR");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const { Tokenizer } = require(join(tokDir, "rust", "tokenizers.node"));

const names = ["bert-base-uncased", "all-minilm-l6-v2", "cohere", "qwen3", "llama3", "gpt4o", "gemma3", "llama2", "unigram", "unigram-precompiled"];
const texts = corpus();
const textPairs = pairs();
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "corpus.json"), JSON.stringify({ texts, pairs: textPairs }));

function record(t, e, withTypes) {
  const ids = e.getIds();
  const r = { i: ids, o: e.getOffsets().flat() };
  const toks = e.getTokens();
  const exc = {};
  toks.forEach((tok, k) => { if (t.idToToken(ids[k]) !== tok) exc[k] = tok; });
  if (Object.keys(exc).length) r.t = exc;
  if (withTypes) {
    r.y = e.getTypeIds();
    r.s = e.getSpecialTokensMask();
    r.a = e.getAttentionMask();
  }
  const over = e.getOverflowing();
  if (over.length) r.v = over.map((o) => record(t, o, withTypes));
  return r;
}

const truncations = [
  { maxLength: 8, stride: 0, strategy: "LongestFirst", direction: "right" },
  { maxLength: 12, stride: 3, strategy: "LongestFirst", direction: "right" },
  { maxLength: 10, stride: 2, strategy: "LongestFirst", direction: "left" },
  { maxLength: 16, stride: 1, strategy: "OnlyFirst", direction: "right" },
  { maxLength: 16, stride: 0, strategy: "OnlySecond", direction: "right" },
];
const paddings = [
  { direction: "right", padId: 0, padTypeId: 0, padToken: "[PAD]" },
  { maxLength: 64, direction: "left", padId: 3, padTypeId: 1, padToken: "<pad>" },
  { direction: "right", padToMultipleOf: 8, padId: 1, padTypeId: 0, padToken: "<pad>" },
];

// strideSafe reports whether truncation leaves every truncated sequence
// longer than the stride; the reference aborts the process otherwise.
async function strideSafe(t, a, b, tr) {
  const la = (await t.encode(a, null, { addSpecialTokens: false })).getIds().length;
  const lb = b === null ? 0 : (await t.encode(b, null, { addSpecialTokens: false })).getIds().length;
  const full = (await t.encode(a, b, { addSpecialTokens: true })).getIds().length;
  const plain = (await t.encode(a, b, { addSpecialTokens: false })).getIds().length;
  const max = tr.maxLength - (full - plain);
  if (max <= 0) return false;
  const total = la + lb;
  if (total <= max) return true;
  const ok = (len, target) => len <= target || target > tr.stride;
  if (b === null) return ok(la, max - 0);
  if (tr.strategy === "OnlyFirst") return ok(la, la - (total - max));
  if (tr.strategy === "OnlySecond") return ok(lb, lb - (total - max));
  let n1 = Math.min(la, lb), n2 = Math.max(la, lb);
  if (n1 > max) n2 = n1; else n2 = Math.max(n1, max - n1);
  if (n1 + n2 > max) { n1 = Math.floor(max / 2); n2 = n1 + (max % 2); }
  const [ta, tb] = la > lb ? [n2, n1] : [n1, n2];
  return ok(la, ta) && ok(lb, tb);
}

for (const name of (process.env.ONLY_COMPONENTS ? [] : names)) {
  const path = join(tokDir, name, "tokenizer.json");
  if (!existsSync(path)) {
    console.error(`skip ${name}: ${path} missing`);
    continue;
  }
  const t = Tokenizer.fromFile(path);
  const out = { reference: "tokenizers (Rust) 0.22.2 via @anush008/tokenizers 0.6.0", single: [], plain: [], pairs: [], decode: [], decodeSkip: [], truncation: [], padding: [] };
  for (const s of texts) {
    const e = await t.encode(s, null, { addSpecialTokens: true });
    out.single.push(record(t, e, false));
    out.decode.push(await t.decode(e.getIds(), false));
    out.decodeSkip.push(await t.decode(e.getIds(), true));
    const p = await t.encode(s, null, { addSpecialTokens: false });
    out.plain.push(record(t, p, false));
  }
  for (const [a, b] of textPairs) {
    const e = await t.encode(a, b, { addSpecialTokens: true });
    out.pairs.push(record(t, e, true));
  }
  // Truncation and padding on fresh instances (they are tokenizer state).
  for (const tr of truncations) {
    const tt = Tokenizer.fromFile(path);
    tt.disablePadding();
    tt.setTruncation(tr.maxLength, { stride: tr.stride, strategy: tr.strategy, direction: tr.direction });
    const rows = [];
    for (let k = 0; k < textPairs.length; k++) {
      const [a, b] = textPairs[k];
      // Short pairs only: overflowing windows of both texts combine, and
      // long pairs would make the file large.
      if ((await t.encode(a, b, { addSpecialTokens: false })).getIds().length > 32) continue;
      if (!(await strideSafe(t, a, b, tr)) || !(await strideSafe(t, a + " " + b, null, tr))) {
        rows.push({ pair: k, skipped: true });
        continue;
      }
      let r;
      try {
        r = record(tt, await tt.encode(a, b, { addSpecialTokens: true }), true);
      } catch (err) {
        r = { err: String(err.message || err) };
      }
      let single;
      try {
        single = record(tt, await tt.encode(a + " " + b, null, { addSpecialTokens: true }), true);
      } catch (err) {
        single = { err: String(err.message || err) };
      }
      rows.push({ pair: k, r, single });
    }
    out.truncation.push({ params: tr, rows });
  }
  for (const pd of paddings) {
    const tt = Tokenizer.fromFile(path);
    tt.disableTruncation();
    tt.setPadding(pd);
    const batch = textPairs.slice(0, 6).map(([a]) => a);
    const encs = await tt.encodeBatch(batch, { addSpecialTokens: true });
    out.padding.push({ params: pd, texts: batch, rows: encs.map((e) => record(tt, e, true)) });
  }
  writeFileSync(join(outDir, `${name}.json.gz`), gzipSync(JSON.stringify(out), { level: 9 }));
  console.error(`${name}: ${texts.length} texts, ${textPairs.length} pairs`);
}

// Components: patched configurations over a subset of the corpus.
export function patched(base, c) {
  const j = JSON.parse(JSON.stringify(base));
  for (const [k, v] of Object.entries(c.patch || {})) j[k] = v;
  if (c.model) Object.assign(j.model, c.model);
  for (const k of c.dropModelKeys || []) delete j.model[k];
  if (c.addTokens) j.added_tokens = [...(j.added_tokens || []), ...c.addTokens];
  return j;
}
const subset = texts.filter((_, i) => i % 3 === 0);
const compOut = { reference: "tokenizers (Rust) 0.22.2 via @anush008/tokenizers 0.6.0", texts: subset, configs: components, cases: [] };
for (const c of components) {
  const base = JSON.parse(readFileSync(join(tokDir, c.base, "tokenizer.json"), "utf8"));
  const t = Tokenizer.fromString(JSON.stringify(patched(base, c)));
  const single = [], decode = [], pairsOut = [];
  for (const s of subset) {
    const e = await t.encode(s, null, { addSpecialTokens: true });
    single.push(record(t, e, true));
    decode.push(await t.decode(e.getIds(), false));
  }
  for (const [a, b] of textPairs.slice(0, 12)) pairsOut.push(record(t, await t.encode(a, b, { addSpecialTokens: true }), true));
  compOut.cases.push({ name: c.name, single, decode, pairs: pairsOut });
  console.error(`component ${c.name}`);
}
writeFileSync(join(outDir, "components.json.gz"), gzipSync(JSON.stringify(compOut), { level: 9 }));
