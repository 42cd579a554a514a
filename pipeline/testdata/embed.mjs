// embed.mjs: transformers.js feature-extraction vectors for a fixture.
//   stdin: {"texts": [...], "pooling": "mean", "normalize": true}
//   argv:  FIXTURES_DIR NAME
// Prints {"vectors": [[...], ...]}.
import { pipeline, env } from "@huggingface/transformers";

const [dir, name] = process.argv.slice(process.argv[1] === "--" ? 2 : 1);
env.allowRemoteModels = false;
env.localModelPath = dir;

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const extract = await pipeline("feature-extraction", name, { dtype: "fp32" });
const vectors = [];
for (const text of req.texts) {
  const out = await extract(text, { pooling: req.pooling, normalize: req.normalize });
  vectors.push(Array.from(out.data));
}
process.stdout.write(JSON.stringify({ vectors }));
