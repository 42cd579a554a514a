// generate_tjs.mjs: transformers.js greedy decode speed.
//   stdin: {"prompt": "...", "new_tokens": 64}
//   argv:  FIXTURES_DIR NAME
// Times generate() with new_tokens and with 1 new token; the difference is
// the decode time. Prints {"rate": tokens/s}.
import { AutoModelForCausalLM, AutoTokenizer, env } from "@huggingface/transformers";

const [dir, name] = process.argv.slice(process.argv[1] === "--" ? 2 : 1);
env.allowRemoteModels = false;
env.localModelPath = dir;
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const tokenizer = await AutoTokenizer.from_pretrained(name);
const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: "fp32" });
const inputs = tokenizer(req.prompt);
const time = async (n) => {
  const start = performance.now();
  const out = await model.generate({ ...inputs, max_new_tokens: n, min_new_tokens: n, do_sample: false });
  return [performance.now() - start, out.dims[1] - inputs.input_ids.dims[1]];
};
await time(2);
const rates = [];
for (let i = 0; i < 3; i++) {
  const [one] = await time(1);
  const [many, made] = await time(req.new_tokens);
  rates.push((made - 1) / ((many - one) / 1000));
}
rates.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ rate: rates[1] }));
