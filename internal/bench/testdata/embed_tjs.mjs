// embed_tjs.mjs: transformers.js feature-extraction throughput.
//   stdin: {"texts": [...], "batches": [8, 32], "seconds": 3}
//   argv:  FIXTURES_DIR NAME
// For each batch size, embeds consecutive slices of the texts (mean pooling,
// normalised) for the given seconds; prints {"best": sentences/s, "batch": n}.
import { pipeline, env } from "@huggingface/transformers";

const [dir, name] = process.argv.slice(process.argv[1] === "--" ? 2 : 1);
env.allowRemoteModels = false;
env.localModelPath = dir;
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const extract = await pipeline("feature-extraction", name, { dtype: "fp32" });
await extract(req.texts.slice(0, 8), { pooling: "mean", normalize: true });
let best = 0, bestBatch = 0;
for (const batch of req.batches) {
  let done = 0, at = 0;
  const start = performance.now();
  while (performance.now() - start < req.seconds * 1000) {
    if (at + batch > req.texts.length) at = 0;
    await extract(req.texts.slice(at, at + batch), { pooling: "mean", normalize: true });
    at += batch;
    done += batch;
  }
  const rate = done / ((performance.now() - start) / 1000);
  if (rate > best) { best = rate; bestBatch = batch; }
}
process.stdout.write(JSON.stringify({ best, batch: bestBatch }));
