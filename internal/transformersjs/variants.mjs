// variants.mjs: runs a model variant in transformers.js (see transformersjs.go).
//   stdin: {"mode": "embed", "dtype": "q8", "texts": [...]}
//      or  {"mode": "generate", "dtype": "q4", "ids": [...], "max_new_tokens": 20}
//   argv:  MODELS_DIR NAME
// transformers.js picks the file by dtype (q8: onnx/model_quantized.onnx,
// q4: onnx/model_q4.onnx...). Prints {"vectors": [[...]...]} (mean pooled,
// normalised) or {"ids": [...]} (greedy, the prompt left out).
import { pipeline, AutoModelForCausalLM, Tensor, env } from "@huggingface/transformers";

const [dir, name] = process.argv.slice(process.argv[1] === "--" ? 2 : 1);
env.allowRemoteModels = false;
env.localModelPath = dir;

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));

if (req.mode === "embed") {
  const extract = await pipeline("feature-extraction", name, { dtype: req.dtype });
  const vectors = [];
  for (const text of req.texts) {
    const out = await extract(text, { pooling: "mean", normalize: true });
    vectors.push(Array.from(out.data));
  }
  process.stdout.write(JSON.stringify({ vectors }));
} else {
  const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: req.dtype });
  const ids = new Tensor("int64", BigInt64Array.from(req.ids.map(BigInt)), [1, req.ids.length]);
  const out = await model.generate({
    input_ids: ids,
    attention_mask: new Tensor("int64", new BigInt64Array(req.ids.length).fill(1n), [1, req.ids.length]),
    max_new_tokens: req.max_new_tokens,
    min_new_tokens: req.max_new_tokens,
    do_sample: false,
  });
  process.stdout.write(JSON.stringify({ ids: Array.from(out.data, Number).slice(req.ids.length) }));
}
