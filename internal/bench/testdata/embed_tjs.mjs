// embed_tjs.mjs: transformers.js feature-extraction throughput, as a timing
// server driven over stdin and stdout.
//   argv:  FIXTURES_DIR NAME DTYPE
//   stdin: one JSON request per line: first {"texts": [...]}, then
//          {"batch": B, "seconds": S} for each timing wanted.
//   stdout: one JSON line per request: {"ready": true}, then {"rate": n}
//          sentences per second, embedding consecutive slices of B texts
//          (mean pooling, normalised) for S seconds.
import { pipeline, env } from "@huggingface/transformers";
import { createInterface } from "node:readline";

const [dir, name, dtype] = process.argv.slice(process.argv[1] === "--" ? 2 : 1);
env.allowRemoteModels = false;
env.localModelPath = dir;
const extract = await pipeline("feature-extraction", name, { dtype: dtype || "fp32" });

let texts = [], at = 0;
for await (const line of createInterface({ input: process.stdin })) {
  const req = JSON.parse(line);
  if (req.texts) {
    texts = req.texts;
    await extract(texts.slice(0, 8), { pooling: "mean", normalize: true });
    process.stdout.write(JSON.stringify({ ready: true }) + "\n");
    continue;
  }
  let done = 0;
  const start = performance.now();
  while (performance.now() - start < req.seconds * 1000) {
    if (at + req.batch > texts.length) at = 0;
    await extract(texts.slice(at, at + req.batch), { pooling: "mean", normalize: true });
    at += req.batch;
    done += req.batch;
  }
  process.stdout.write(JSON.stringify({ rate: done / ((performance.now() - start) / 1000) }) + "\n");
}
