// rerank.mjs: transformers.js scoring (query, document) pairs with a
// cross-encoder, as a timing server driven over stdin and stdout.
//   argv:  FIXTURES_DIR NAME
//   stdin: one JSON request per line: first {"query": "...", "docs": [...]},
//          then {"batch": B} for each timing wanted.
//   stdout: one JSON line per request: {"ready": true} once loaded, then
//          {"ms": MILLISECONDS, "logits": [...]} for scoring every document
//          in batches of B pairs (padded to the longest of each batch).
import { AutoTokenizer, AutoModelForSequenceClassification, env } from "@huggingface/transformers";
import { createInterface } from "node:readline";

const [dir, name] = process.argv.slice(process.argv[1] === "--" ? 2 : 1);
env.allowRemoteModels = false;
env.localModelPath = dir;

const tokenizer = await AutoTokenizer.from_pretrained(name);
const model = await AutoModelForSequenceClassification.from_pretrained(name, { dtype: "fp32" });

let query, docs;
async function scoreAll(batch) {
  const logits = [];
  for (let i = 0; i < docs.length; i += batch) {
    const part = docs.slice(i, i + batch);
    const inputs = tokenizer(part.map(() => query), { text_pair: part, padding: true, truncation: true });
    const out = await model(inputs);
    logits.push(...Array.from(out.logits.data, Number));
  }
  return logits;
}

for await (const line of createInterface({ input: process.stdin })) {
  const req = JSON.parse(line);
  if (req.docs) {
    ({ query, docs } = req);
    process.stdout.write(JSON.stringify({ ready: true }) + "\n");
    continue;
  }
  const t0 = performance.now();
  const logits = await scoreAll(req.batch);
  process.stdout.write(JSON.stringify({ ms: performance.now() - t0, logits }) + "\n");
}
