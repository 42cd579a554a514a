// run.mjs: runs an ONNX model in ONNX Runtime (onnxruntime-node) and prints
// its outputs as JSON.
//
//   node --input-type=module -e "$(cat run.mjs)" -- MODEL.onnx < inputs.json
//
// inputs.json maps input names to {"type": "float32"|"int64", "dims": [...],
// "data": [...]}; the answer maps output names to {"dims", "data"}.
import * as ort from "onnxruntime-node";

const [model] = process.argv.slice(process.argv[1] === "--" ? 2 : 1);
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const inputs = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const feeds = {};
for (const [name, t] of Object.entries(inputs)) {
  const data = t.type === "int64" ? BigInt64Array.from(t.data.map(BigInt)) : Float32Array.from(t.data);
  feeds[name] = new ort.Tensor(t.type, data, t.dims);
}
const session = await ort.InferenceSession.create(model);
const out = await session.run(feeds);
process.stdout.write(JSON.stringify(Object.fromEntries(
  Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: Array.from(v.data, Number) }]))));
