// encoders.mjs: what transformers.js answers for a fixture's encoder task.
//   stdin: {"task": TASK, "texts": [...], ...}
//   argv:  FIXTURES_DIR NAME
// Tasks:
//   "cross-encoder": raw logits of (texts[i], pairs[i]) through
//     AutoModelForSequenceClassification, one pair at a time; prints
//     {"logits": [[...], ...]}.
//   "text-classification": {"top_k"}; prints {"results": [[{label, score}]]}.
//   "token-classification": {"aggregation_strategy", "ignore_labels"};
//     prints {"results": [[{entity|entity_group, score, index, word}]]}.
//   "zero-shot-classification": {"labels", "multi_label",
//     "hypothesis_template"}; prints {"results": [{labels, scores}]}.
import { pipeline, env, AutoTokenizer, AutoModelForSequenceClassification } from "@huggingface/transformers";

const [dir, name] = process.argv.slice(process.argv[1] === "--" ? 2 : 1);
env.allowRemoteModels = false;
env.localModelPath = dir;

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));

let out;
switch (req.task) {
  case "cross-encoder": {
    const tokenizer = await AutoTokenizer.from_pretrained(name);
    const model = await AutoModelForSequenceClassification.from_pretrained(name, { dtype: "fp32" });
    const logits = [];
    for (let i = 0; i < req.texts.length; i++) {
      const inputs = tokenizer(req.texts[i], { text_pair: req.pairs[i], truncation: true });
      const { logits: l } = await model(inputs);
      logits.push(Array.from(l.data, Number));
    }
    out = { logits };
    break;
  }
  case "text-classification": {
    const classify = await pipeline("text-classification", name, { dtype: "fp32" });
    const results = [];
    for (const text of req.texts) {
      results.push(await classify(text, { top_k: req.top_k ?? null }));
    }
    out = { results };
    break;
  }
  case "token-classification": {
    const ner = await pipeline("token-classification", name, { dtype: "fp32" });
    const results = [];
    for (const text of req.texts) {
      results.push(await ner(text, {
        aggregation_strategy: req.aggregation_strategy ?? "none",
        ignore_labels: req.ignore_labels ?? ["O"],
      }));
    }
    out = { results };
    break;
  }
  case "zero-shot-classification": {
    const zs = await pipeline("zero-shot-classification", name, { dtype: "fp32" });
    const results = [];
    for (const text of req.texts) {
      const opts = { multi_label: !!req.multi_label };
      if (req.hypothesis_template) opts.hypothesis_template = req.hypothesis_template;
      results.push(await zs(text, req.labels, opts));
    }
    out = { results };
    break;
  }
  default:
    throw new Error(`unknown task ${req.task}`);
}
process.stdout.write(JSON.stringify(out));
