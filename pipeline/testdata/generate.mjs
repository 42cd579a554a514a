// generate.mjs: transformers.js greedy generation for a fixture decoder.
//   stdin: {"prompts": [[ids...], ...], "chats": [[{role, content}...], ...], "max_new_tokens": 20}
//   argv:  FIXTURES_DIR NAME
// Chats are rendered with the tokenizer's chat template and tokenized as
// transformers.js does, then generated after the prompts.
// Prints {"prompts": [[ids...]...], "outputs": [[new ids...], ...]}
// (end-of-sequence tokens dropped).
import { AutoModelForCausalLM, AutoTokenizer, Tensor, env } from "@huggingface/transformers";

const [dir, name] = process.argv.slice(process.argv[1] === "--" ? 2 : 1);
env.allowRemoteModels = false;
env.localModelPath = dir;

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: "fp32" });
const tokenizer = await AutoTokenizer.from_pretrained(name);
const prompts = [...(req.prompts ?? [])];
for (const chat of req.chats ?? []) {
  const ids = tokenizer.apply_chat_template(chat, { add_generation_prompt: true, tokenize: true, return_tensor: false });
  prompts.push(Array.from(ids.input_ids ?? ids, Number));
}
const eos = [model.generation_config.eos_token_id].flat();
const outputs = [];
for (const ids of prompts) {
  const n = ids.length;
  const input_ids = new Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, n]);
  const attention_mask = new Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]);
  const out = await model.generate({ input_ids, attention_mask, max_new_tokens: req.max_new_tokens, do_sample: false });
  const all = Array.from(out.data, Number).slice(n);
  outputs.push(all.filter((t) => !eos.includes(t)));
}
process.stdout.write(JSON.stringify({ prompts, outputs }));
