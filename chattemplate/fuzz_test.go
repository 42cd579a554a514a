package chattemplate

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzTemplate feeds arbitrary template text through the compiler and the
// renderer: either may fail, neither may panic.
func FuzzTemplate(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "models", "*", "chat_template.jinja"))
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(string(data))
		}
	}
	for _, s := range []string{
		"{{ x|tojson(indent=2) }}", "{% for a, b in x.items() if a %}{{ loop.cycle(1, 2) }}{% endfor %}",
		"{% set ns = namespace(a=[]) %}{{ ns.a[1:-1:2] }}", "{% macro m(a=1) %}{{ caller() }}{% endmacro %}{% call m() %}x{% endcall %}",
		"{{ 'a' ~ 1 is number }}{{ (1, 2)|first }}", "{% raw %}{{{% endraw %}", "{#- c -#}{%- filter upper -%}x{%- endfilter -%}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Compile(src, SpecialTokens{BOS: "<s>"})
		if err != nil {
			return
		}
		_, _ = tmpl.Render(Input{
			MessagesJSON: []byte(`[{"role": "user", "content": "hi", "tool_calls": [{"function": {"name": "f", "arguments": {"a": [1, 2.5, null]}}}]}]`),
			Extra:        map[string]any{"x": map[string]any{"k": "v", "n": 3}},
			Now:          time.Unix(0, 0).UTC(),
		})
	})
}
