package chattemplate

import (
	"path/filepath"
	"testing"
)

// BenchmarkRenderQwen3Tools renders a tool round trip with Qwen3's template.
func BenchmarkRenderQwen3Tools(b *testing.B) {
	c, now := loadCorpus(b)
	var tc corpusCase
	for _, cc := range c.Cases {
		if cc.Name == "qwen3-tool-roundtrip" {
			tc = cc
		}
	}
	set, err := Load(filepath.Join("testdata", "models", tc.Model))
	if err != nil {
		b.Fatal(err)
	}
	in := tc.input(now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := set.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}
