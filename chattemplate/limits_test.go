package chattemplate

import (
	"math"
	"testing"
	"time"
)

func renderString(t *testing.T, src string) (string, error) {
	t.Helper()
	tmpl, err := Compile(src, SpecialTokens{})
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	return tmpl.Render(Input{Now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)})
}

// TestLimits covers inputs that must fail cleanly or stay exact instead of
// exhausting memory, overflowing or spinning.
func TestLimits(t *testing.T) {
	ok := map[string]string{
		"huge slice step":          "{{ [1,2,3][0:10:9223372036854775807] }}{{ [1,2,3][::-9223372036854775807] }}",
		"big power":                "{{ 2 ** 62 }} {{ 3 ** 3 }}",
		"repeat within the limit":  "{{ ('ab' * 3)|length }}",
		"range at the sandbox max": "{{ range(100000)|length }}",
	}
	want := map[string]string{
		"huge slice step":          "[1][3]",
		"big power":                "4611686018427387904 27",
		"repeat within the limit":  "6",
		"range at the sandbox max": "100000",
	}
	for name, src := range ok {
		t.Run(name, func(t *testing.T) {
			got, err := renderString(t, src)
			if err != nil || got != want[name] {
				t.Fatalf("got (%q, %v), want %q", got, err, want[name])
			}
		})
	}
	fail := map[string]string{
		"string repeat":   "{{ 'ab' * 100000000 }}",
		"list repeat":     "{{ [1] * 100000000 }}",
		"indent width":    "{{ 'x\ny'|indent(999999999) }}",
		"tojson indent":   "{{ [1]|tojson(indent=999999999) }}",
		"range too big":   "{{ range(100001) }}",
		"macro recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
	}
	for name, src := range fail {
		t.Run(name, func(t *testing.T) {
			if got, err := renderString(t, src); err == nil {
				t.Fatalf("rendered %d bytes, want an error", len(got))
			}
		})
	}
}

func TestPyFloatRepr(t *testing.T) {
	tests := map[float64]string{
		1e16: "1e+16", 1e15: "1000000000000000.0", 123.456: "123.456", -1e-5: "-1e-05", 0.0001: "0.0001",
		5e-324: "5e-324", math.MaxFloat64: "1.7976931348623157e+308", 0.30000000000000004: "0.30000000000000004",
		2: "2.0", -0.0: "0.0", math.Inf(-1): "-inf",
	}
	for f, want := range tests {
		if got := pyFloatRepr(f); got != want {
			t.Errorf("pyFloatRepr(%v) = %q, want %q", f, got, want)
		}
	}
	if got := pyFloatRepr(math.Copysign(0, -1)); got != "-0.0" {
		t.Errorf("negative zero: got %q", got)
	}
}
