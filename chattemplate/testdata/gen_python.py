"""gen_python.py renders every case of corpus.json with Jinja2 configured the
way Python transformers configures it for apply_chat_template, and prints the
results as JSON. This is the behaviour the package follows.

    python3 gen_python.py corpus.json models > want_python.json

It needs only Jinja2 (3.1). The environment mirrors transformers'
chat-template utilities: an ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, the loopcontrols extension, a tojson filter that calls
json.dumps(ensure_ascii=False) without HTML escaping, and the raise_exception
and strftime_now globals. The special tokens come from the tokenizer config
as transformers' special_tokens_map gives them (AddedToken objects become
their content). The clock is fixed (corpus.json "clock") so strftime_now is
reproducible.
"""

import json
import os
import sys
from datetime import datetime

from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

SPECIAL = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
           "additional_special_tokens"]


class GenerationTracker(Extension):
    """Accepts {% generation %}...{% endgeneration %} and renders its body, as
    transformers' AssistantTracker does when no mask is requested."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env(now):
    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def token(value):
    if isinstance(value, dict):
        return value["content"]
    return value


def load_model(models, name):
    d = os.path.join(models, name)
    with open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    jinja_file = os.path.join(d, "chat_template.jinja")
    if os.path.exists(jinja_file):
        with open(jinja_file, encoding="utf-8") as f:
            config["chat_template"] = f.read()
    return config


def pick_template(config, name, tools):
    t = config["chat_template"]
    if isinstance(t, list):
        by_name = {e["name"]: e["template"] for e in t}
        if name:
            return by_name[name]
        if tools is not None and "tool_use" in by_name:
            return by_name["tool_use"]
        return by_name["default"]
    return t


def main():
    corpus_path, models = sys.argv[1], sys.argv[2]
    with open(corpus_path, encoding="utf-8") as f:
        corpus = json.load(f)
    env = make_env(datetime.fromisoformat(corpus["clock"]))
    results = []
    for c in corpus["cases"]:
        config = load_model(models, c["model"])
        special = {}
        for key in SPECIAL:
            v = config.get(key)
            if key == "additional_special_tokens":
                if v:
                    special[key] = [token(x) for x in v]
            elif v:
                special[key] = token(v)
        try:
            template = env.from_string(pick_template(config, c.get("template"), c.get("tools")))
            output = template.render(messages=c["messages"], tools=c.get("tools"), documents=None,
                                     add_generation_prompt=c["add_generation_prompt"],
                                     **{**special, **c.get("kwargs", {})})
            results.append({"name": c["name"], "output": output})
        except Exception as e:  # the error text is what the reference records
            results.append({"name": c["name"], "error": str(e)})
    json.dump({"generator": "jinja2 as configured by transformers", "results": results}, sys.stdout,
              indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
