"""gen_snippets.py renders each snippet of snippets.json (a template and its
variables) with Jinja2 configured as transformers configures it, and prints
the outputs (or error class and message) as JSON. The Go tests check the
interpreter against them, one language feature at a time.

    python3 gen_snippets.py snippets.json > want_snippets.json
"""

import json
import sys
from datetime import datetime

from gen_python import make_env


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        snippets = json.load(f)
    env = make_env(datetime.fromisoformat(snippets["clock"]))
    results = []
    for s in snippets["cases"]:
        try:
            out = env.from_string(s["template"]).render(**s.get("vars", {}))
            results.append({"name": s["name"], "output": out})
        except Exception as e:  # the reference records the failure
            results.append({"name": s["name"], "error": type(e).__name__ + ": " + str(e)})
    json.dump({"generator": "jinja2 as configured by transformers", "results": results}, sys.stdout,
              indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
