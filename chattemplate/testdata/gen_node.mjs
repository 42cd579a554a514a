// gen_node.mjs renders every case of corpus.json with @huggingface/jinja the
// way transformers.js apply_chat_template does, and prints the results as
// JSON. The clock is fixed (corpus.json "clock", read as local time) so
// strftime_now is reproducible.
//
//   cd NODE_TOOLS && TZ=UTC node --input-type=module -e "$(cat gen_node.mjs)" -- \
//       CORPUS_JSON MODELS_DIR > want_node.json
//
// NODE_TOOLS is a directory whose node_modules holds @huggingface/jinja.
import { Template } from "@huggingface/jinja";
import fs from "node:fs";
import path from "node:path";

const [corpusPath, modelsDir] = process.argv.slice(1).filter((a) => a !== "--");
const corpus = JSON.parse(fs.readFileSync(corpusPath, "utf8"));

// Fix the clock: strftime_now calls `new Date()`.
const fixed = new Date(corpus.clock).getTime();
const RealDate = Date;
globalThis.Date = class extends RealDate {
	constructor(...args) {
		super(...(args.length ? args : [fixed]));
	}
	static now() {
		return fixed;
	}
};

const SPECIAL = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

function tokenFromConfig(config, key) {
	const item = config[key];
	if (!item) return null;
	if (typeof item === "object") {
		if (item.__type === "AddedToken") return item.content;
		throw new Error(`unknown token ${JSON.stringify(item)}`);
	}
	return item;
}

function loadModel(name) {
	const dir = path.join(modelsDir, name);
	const config = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
	const jinjaFile = path.join(dir, "chat_template.jinja");
	if (fs.existsSync(jinjaFile)) config.chat_template = fs.readFileSync(jinjaFile, "utf8");
	return config;
}

function pickTemplate(config, name, tools) {
	const t = config.chat_template;
	if (Array.isArray(t)) {
		const byName = Object.fromEntries(t.map(({ name, template }) => [name, template]));
		if (name) return byName[name];
		if (tools !== null && "tool_use" in byName) return byName.tool_use;
		return byName.default;
	}
	return t;
}

const results = [];
for (const c of corpus.cases) {
	const config = loadModel(c.model);
	const tools = c.tools ?? null;
	const special = {};
	for (const key of SPECIAL) {
		const v = tokenFromConfig(config, key);
		if (v) special[key] = v;
	}
	let result;
	try {
		const template = new Template(pickTemplate(config, c.template, tools));
		const output = template.render({
			messages: c.messages,
			add_generation_prompt: c.add_generation_prompt,
			tools,
			documents: null,
			...special,
			...(c.kwargs ?? {}),
		});
		result = { name: c.name, output };
	} catch (e) {
		result = { name: c.name, error: String(e.message ?? e) };
	}
	results.push(result);
}
process.stdout.write(JSON.stringify({ generator: "@huggingface/jinja", results }, null, 1) + "\n");
