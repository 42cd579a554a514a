package modelstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"runner/modelstore/hubid"
	"runner/quant"
)

func TestParseRef(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		in   string
		want Ref
		str  string
	}{
		{"Xenova/all-MiniLM-L6-v2", Ref{Repo: "Xenova/all-MiniLM-L6-v2"}, "Xenova/all-MiniLM-L6-v2"},
		{"hf.co/Xenova/all-MiniLM-L6-v2:Q8", Ref{Repo: "Xenova/all-MiniLM-L6-v2", Variant: quant.Q8}, "Xenova/all-MiniLM-L6-v2:q8"},
		{"https://huggingface.co/org/m:q4@refs/pr/1", Ref{Repo: "org/m", Variant: quant.Q4, Revision: "refs/pr/1"}, "org/m:q4@refs/pr/1"},
		{"org/m@main", Ref{Repo: "org/m", Revision: "main"}, "org/m"},
		{"org/m:latest", Ref{Repo: "org/m"}, "org/m"},
		{"org/m:quantized", Ref{Repo: "org/m", Variant: quant.Q8}, "org/m:q8"},
		{"org/m:q3", Ref{Repo: "org/m", Variant: "q3"}, "org/m:q3"},
		{"gpt2", Ref{Repo: "gpt2"}, "gpt2"},
		{dir, Ref{Dir: dir}, dir},
		{dir + ":q4", Ref{Dir: dir, Variant: quant.Q4}, dir + ":q4"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseRef(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
		})
	}
	for _, bad := range []string{"", "org/m@", "a/b/c", "org/-m", "org/m--x", "org/m.git", "org/m@../x", "./missing-dir", "-x/y"} {
		if _, err := ParseRef(bad); !errors.Is(err, ErrInvalidReference) {
			t.Errorf("ParseRef(%q) err = %v, want ErrInvalidReference", bad, err)
		}
	}
}

func TestParseRefRelativeDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "model"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got, err := ParseRef("./model")
	if err != nil || got.Dir != filepath.Join(dir, "model") {
		t.Errorf("ParseRef(./model) = %+v, %v", got, err)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*.json", "config.json", true},
		{"*.json", "1_Pooling/config.json", true}, // * crosses folders, as fnmatch
		{"onnx/*", "onnx/model.onnx", true},
		{"onnx/", "onnx/sub/model.onnx", true},
		{`onnx\*`, "onnx/model.onnx", true},
		{"model.onnx", "onnx/model.onnx", false},
		{"onnx/model?.onnx", "onnx/model1.onnx", true},
		{"onnx/model?.onnx", "onnx/model.onnx", false},
		{"[ab]*", "b.txt", true},
		{"[!ab]*", "b.txt", false},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"[x", "[x", true},
		{"*.JSON", "config.json", false},
		{"*", "", true},
		{"?", "é", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestEscape(t *testing.T) {
	if got := hubid.EscapePath("onnx/a b+c=@:,;!'()*$&~.json"); got != "onnx/a%20b%2Bc%3D%40%3A%2C%3B%21%27%28%29%2A%24%26~.json" {
		t.Errorf("EscapePath = %s", got)
	}
	if got := hubid.EscapeRevision("refs/pr/1"); got != "refs%2Fpr%2F1" {
		t.Errorf("EscapeRevision = %s", got)
	}
	if got := hubid.EscapePath("é.json"); got != "%C3%A9.json" {
		t.Errorf("EscapePath(é) = %s", got)
	}
}

func TestCheckRepoPath(t *testing.T) {
	for _, ok := range []string{"config.json", "onnx/model.onnx", "a..b/c", "1_Pooling/config.json"} {
		if err := checkRepoPath(ok); err != nil {
			t.Errorf("checkRepoPath(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "../x", "a/../../x", `a\..\x`, "/etc/passwd", `\\host\share`, "C:x", "c:/x", "a//b", "a/./b", "dir/", "a\x00b"} {
		if err := checkRepoPath(bad); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("checkRepoPath(%q) = %v, want ErrUnsafePath", bad, err)
		}
	}
}

func TestValidRepoID(t *testing.T) {
	for _, ok := range []string{"gpt2", "Xenova/all-MiniLM-L6-v2", "org/m.v1_2", "a/b"} {
		if !hubid.ValidRepoID(ok) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "a/b/c", "org/.m", "org/m.", "org/m--x", "org/m..x", "org/m.git", "org/m x"} {
		if hubid.ValidRepoID(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
