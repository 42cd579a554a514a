package constrain

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// matches reports whether doc, fed byte by byte, is a complete output.
func matches(g *Grammar, doc string) bool {
	m := g.NewMatcher()
	for i := 0; i < len(doc); i++ {
		if m.Advance([]byte{doc[i]}) != nil {
			return false
		}
	}
	return m.CanEnd()
}

func TestJSONAcceptsValues(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, `""`, `0`, `-0`, `12`, `-1.5e+3`, `2E-7`, `true`, `false`, `null`,
		`{"a": [1, 2, {"b": null}], "c": "x\"y\\z\u00e9\n", "d": true}`,
		"  {\n    \"name\": \"Zoë 日本語 🙂\",\n    \"n\": 0.25\n  }",
		`[[[[]]], {"": ""}]`,
	} {
		if !matches(JSON(), doc) {
			t.Errorf("JSON() refuses %s", doc)
		}
	}
}

func TestJSONRefusesInvalid(t *testing.T) {
	for _, doc := range []string{
		``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `01`, `-`, `1.`, `1e`, `.5`, `+1`,
		`tru`, `nul`, `"abc`, `"a\x"`, `"\u12g4"`, "\"a\tb\"", `{} `, `{}{}`, `'a'`, `{a:1}`,
		"\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"", // invalid UTF-8, a surrogate
		strings.Repeat(" ", 40) + "1", // a whitespace run over the limit
		"1" + strings.Repeat("0", 40), // a number over the length limit
		strings.Repeat("[", 80) + strings.Repeat("]", 80),
	} {
		if matches(JSON(), doc) {
			t.Errorf("JSON() accepts %q", doc)
		}
	}
}

// FuzzJSONAgreesWithEncodingJSON checks the matcher against
// encoding/json.Valid on texts within the matcher's limits.
func FuzzJSONAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,true,null,"x\u0041"]}`, `[`, `"\\"`, `-0.0`, `{"a" : {"b":[]} }`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if !utf8.ValidString(doc) || strings.TrimRight(doc, " \t\r\n") != doc || strings.Contains(doc, "\u2028") {
			return // outside what the matcher compares on
		}
		if long(doc) {
			return
		}
		if got, want := matches(JSON(), doc), json.Valid([]byte(doc)); got != want {
			t.Errorf("matcher says %v, encoding/json says %v for %q", got, want, doc)
		}
	})
}

// long reports whether doc passes one of the matcher's size limits.
func long(doc string) bool {
	run, num, depth := 0, 0, 0
	for _, c := range []byte(doc) {
		if isSpace(c) {
			run++
		} else {
			run = 0
		}
		if c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
			num++
		} else {
			num = 0
		}
		if c == '[' || c == '{' {
			depth++
		}
		if run > maxWhitespace || num > maxNumberLength || depth >= maxDepth {
			return true
		}
	}
	return false
}

const personSchema = `{
  "$defs": {"Pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog"]}, "age": {"type": "integer"}}, "required": ["kind"]}},
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 12},
    "age": {"type": "integer"},
    "score": {"type": "number"},
    "member": {"type": "boolean"},
    "nick": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
    "pet": {"$ref": "#/$defs/Pet"},
    "level": {"const": 3}
  },
  "required": ["name", "age", "tags"]
}`

func TestSchemaAcceptsAndRefuses(t *testing.T) {
	g, err := Schema([]byte(personSchema))
	if err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]bool{
		`{"name":"Ann","age":3,"tags":["a"]}`: true,
		`{"tags": ["a","b"], "age": -4, "name": "Bo", "nick": null, "pet": {"kind": "dog", "age": 2}}`: true,
		`{"name":"Ann","age":3,"tags":["a"],"score":1.5e2,"member":false,"nick":"x","level":3}`:        true,
		`{"name":"Ann","age":3}`:                                   false, // tags is required
		`{"name":"","age":3,"tags":["a"]}`:                         false, // minLength
		`{"name":"Ann Annabelle Smith","age":3,"tags":["a"]}`:      false, // maxLength
		`{"name":"Ann","age":3.5,"tags":["a"]}`:                    false, // integer
		`{"name":"Ann","age":3,"tags":[]}`:                         false, // minItems
		`{"name":"Ann","age":3,"tags":["a","b","c","d"]}`:          false, // maxItems
		`{"name":"Ann","age":3,"tags":["a"],"extra":1}`:            false, // no additional keys
		`{"name":"Ann","age":3,"tags":["a"],"name":"B"}`:           false, // a key twice
		`{"name":"Ann","age":3,"tags":["a"],"pet":{"kind":"cow"}}`: false, // enum
		`{"name":"Ann","age":3,"tags":["a"],"pet":{"age":1}}`:      false, // pet's kind is required
		`{"name":"Ann","age":3,"tags":["a"],"level":30}`:           false, // const
		`{"name":"Ann","age":3,"tags":["a"],"member":"yes"}`:       false, // boolean
		`["name"]`: false,
	} {
		if got := matches(g, doc); got != want {
			t.Errorf("%s: matches = %v, want %v", doc, got, want)
		}
	}
}

func TestSchemaErrors(t *testing.T) {
	for name, schema := range map[string]string{
		"not json":       `{"type":`,
		"unknown type":   `{"type": "float"}`,
		"word boundary":  `{"type": "string", "pattern": "\\bcat"}`,
		"bad pattern":    `{"type": "string", "pattern": "("}`,
		"both":           `{"type": "string", "pattern": "a", "format": "date"}`,
		"bad bound":      `{"type": "object", "properties": {"n": {"type": "number", "minimum": "zero"}}}`,
		"empty decimal":  `{"type": "number", "exclusiveMinimum": 1, "maximum": 1}`,
		"empty bounds":   `{"type": "integer", "minimum": 5, "exclusiveMaximum": 5}`,
		"remote ref":     `{"$ref": "https://example.com/s.json"}`,
		"dangling ref":   `{"$ref": "#/$defs/Nope"}`,
		"false":          `false`,
		"empty enum":     `{"enum": []}`,
		"bad maxItems":   `{"type": "array", "maxItems": -1}`,
		"allOf of two":   `{"allOf": [{"type": "string"}, {"type": "number"}]}`,
		"min over max":   `{"type": "string", "minLength": 3, "maxLength": 2}`,
		"not an object":  `[1]`,
		"trailing bytes": `{} {}`,
		"self ref":       `{"$ref": "#"}`,
		"anyOf cycle":    `{"$defs": {"A": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/A"}]}}, "$ref": "#/$defs/A"}`,
		"allOf cycle":    `{"$defs": {"A": {"allOf": [{"$ref": "#/$defs/B"}]}, "B": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}`,
	} {
		if _, err := Schema([]byte(schema)); err == nil {
			t.Errorf("%s: Schema(%s) succeeded", name, schema)
		}
	}
}

// TestRandomWalksStayValid drives matchers with random allowed bytes, as a
// model under constraint would, and checks every finished output parses and
// follows the schema.
func TestRandomWalksStayValid(t *testing.T) {
	g, err := Schema([]byte(personSchema))
	if err != nil {
		t.Fatal(err)
	}
	grammars := map[string]*Grammar{"json": JSON(), "person": g}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(" \n{}[]\",:-.0123456789eEabcdefghijklmnopqrstuvwxyz\\\xc3\xa9")
	for name, g := range grammars {
		for walk := 0; walk < 300; walk++ {
			m := g.NewMatcher()
			var out []byte
			for len(out) < 4000 && !m.Finished() {
				if m.CanEnd() && rng.IntN(4) == 0 {
					break
				}
				var ok []byte
				for _, c := range alphabet {
					if m.Accepts([]byte{c}) {
						ok = append(ok, c)
					}
				}
				if len(ok) == 0 {
					t.Fatalf("%s: no byte continues %q", name, out)
				}
				// Past 200 bytes, prefer closing what is open.
				c := ok[rng.IntN(len(ok))]
				if len(out) > 200 {
					for _, x := range ok {
						if x == '}' || x == ']' || x == '"' {
							c = x
						}
					}
				}
				if err := m.Advance([]byte{c}); err != nil {
					t.Fatal(err)
				}
				out = append(out, c)
			}
			if !m.CanEnd() {
				continue // the walk hit its length bound
			}
			if !json.Valid(out) {
				t.Fatalf("%s: walk %d gave invalid JSON %q", name, walk, out)
			}
			if name == "person" {
				checkPerson(t, out)
			}
		}
	}
}

func checkPerson(t *testing.T, doc []byte) {
	t.Helper()
	var p struct {
		Name   *string
		Age    *json.Number
		Score  *json.Number
		Member *bool
		Nick   *string
		Tags   []string
		Pet    *struct {
			Kind *string
			Age  *json.Number
		}
		Level *json.Number
	}
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	if p.Name == nil || p.Age == nil || p.Tags == nil {
		t.Fatalf("%s: a required key is missing", doc)
	}
	n := utf8.RuneCountInString(*p.Name)
	switch {
	case len(p.Tags) < 1 || len(p.Tags) > 3:
		t.Fatalf("%s: %d tags", doc, len(p.Tags))
	case p.Pet != nil && (p.Pet.Kind == nil || *p.Pet.Kind != "cat" && *p.Pet.Kind != "dog"):
		t.Fatalf("%s: bad pet", doc)
	case p.Level != nil && *p.Level != "3":
		t.Fatalf("%s: level %s", doc, *p.Level)
	case strings.ContainsAny(p.Age.String(), ".eE"):
		t.Fatalf("%s: age is not an integer", doc)
	case n < 1 || n > 12 && !strings.Contains(string(doc), `\`):
		t.Fatalf("%s: name of %d characters", doc, n)
	}
}

// FuzzSchema checks that any schema either fails to compile or gives a
// grammar that a matcher can follow without panicking.
func FuzzSchema(f *testing.F) {
	f.Add([]byte(personSchema), []byte(`{"name":"A","age":1,"tags":["x"]}`))
	f.Add([]byte(`{"anyOf":[{"type":"string","maxLength":2},{"enum":[1,10,"x"]}]}`), []byte(`10`))
	f.Add([]byte(`{"type":"array","items":{"$ref":"#"},"maxItems":2}`), []byte(`[[],[[]]]`))
	f.Add([]byte(`{"type":["integer","null"],"minimum":-3,"exclusiveMaximum":40}`), []byte(`-2`))
	f.Add([]byte(`{"type":"number","exclusiveMinimum":0.1,"maximum":0.2}`), []byte(`0.15`))
	f.Add([]byte(`{"type":"string","pattern":"^(?i)a[b-d]+é$","maxLength":5}`), []byte(`"aBc\u00e9"`))
	f.Add([]byte(`{"type":"string","format":"date-time"}`), []byte(`"2024-01-02T03:04:05Z"`))
	f.Fuzz(func(t *testing.T, schema, doc []byte) {
		g, err := Schema(schema)
		if err != nil {
			return
		}
		m := g.NewMatcher()
		for _, c := range doc {
			if m.Advance([]byte{c}) != nil {
				break
			}
			m.CanEnd()
			m.Finished()
		}
	})
}

func TestIntegerBounds(t *testing.T) {
	for schema, cases := range map[string]map[string]bool{
		`{"type": "integer", "minimum": -5, "maximum": 120}`: {
			"-5": true, "0": true, "-0": true, "7": true, "120": true, "99": true,
			"-6": false, "121": false, "1000": false, "-10": false, "1.5": false,
		},
		`{"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}`: {
			"1": true, "9": true, "0": false, "10": false, "-1": false,
		},
		`{"type": "integer", "minimum": 0.5, "maximum": 1e3}`: {"1": true, "1000": true, "0": false, "1001": false},
		`{"type": "integer", "minimum": 100}`:                 {"100": true, "123456": true, "99": false, "-100": false},
		`{"type": "number", "minimum": 0, "maximum": 1}`: {
			"0": true, "1": true, "0.5": true, "0.999": true, "1.0": true, "-0": true,
			"1.01": false, "2": false, "-0.1": false, "10": false, "1e0": false,
		},
		`{"type": "number", "exclusiveMinimum": -2.5, "exclusiveMaximum": 3}`: {
			"-2.4": true, "2.999": true, "0": true, "-2.5": false, "3": false, "3.0": false, "-3": false,
		},
	} {
		g, err := Schema([]byte(schema))
		if err != nil {
			t.Fatal(err)
		}
		for doc, want := range cases {
			if got := matches(g, doc); got != want {
				t.Errorf("%s: %s matches = %v, want %v", schema, doc, got, want)
			}
		}
		// A byte at a time, some digit always keeps the number viable until
		// it can end: walks never get stuck.
		rng := rand.New(rand.NewPCG(3, 4))
		for walk := 0; walk < 200; walk++ {
			m := g.NewMatcher()
			var out []byte
			for !m.CanEnd() || rng.IntN(3) == 0 {
				var ok []byte
				for _, c := range []byte("-0123456789.") {
					if m.Accepts([]byte{c}) {
						ok = append(ok, c)
					}
				}
				if len(ok) == 0 {
					if m.CanEnd() {
						break
					}
					t.Fatalf("%s: stuck after %q", schema, out)
				}
				c := ok[rng.IntN(len(ok))]
				if err := m.Advance([]byte{c}); err != nil {
					t.Fatal(err)
				}
				out = append(out, c)
			}
			if !matches(g, string(out)) {
				t.Fatalf("%s: walk gave %q, which does not match", schema, out)
			}
		}
	}
}

// pydanticSchema is what pydantic v2's model_json_schema() writes for a
// model with a nested model, an optional field and a literal.
const pydanticSchema = `{
  "$defs": {
    "Pet": {
      "properties": {
        "name": {"title": "Name", "type": "string"},
        "kind": {"enum": ["cat", "dog"], "title": "Kind", "type": "string"}
      },
      "required": ["name", "kind"], "title": "Pet", "type": "object"
    }
  },
  "properties": {
    "name": {"title": "Name", "type": "string", "description": "Full name"},
    "age": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}], "default": null, "title": "Age"},
    "pets": {"items": {"$ref": "#/$defs/Pet"}, "title": "Pets", "type": "array"},
    "score": {"maximum": 1.0, "minimum": 0.0, "title": "Score", "type": "number"}
  },
  "required": ["name", "pets", "score"], "title": "Person", "type": "object"
}`

func TestPydanticSchema(t *testing.T) {
	g, err := Schema([]byte(pydanticSchema))
	if err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]bool{
		`{"name": "Ann", "pets": [{"name": "Rex", "kind": "dog"}], "score": 0.75}`: true,
		`{"name": "Ann", "age": null, "pets": [], "score": 1}`:                     true,
		`{"name": "Ann", "age": 41, "pets": [], "score": 0}`:                       true,
		`{"name": "Ann", "age": -1, "pets": [], "score": 0}`:                       false,
		`{"name": "Ann", "pets": [], "score": 1.5}`:                                false,
		`{"name": "Ann", "pets": [{"name": "Tom", "kind": "cow"}], "score": 0.5}`:  false,
		`{"name": "Ann", "pets": [{"name": "Tom"}], "score": 0.5}`:                 false,
		`{"name": "Ann", "pets": [], "score": 0.5, "title": "Dr"}`:                 false,
	} {
		if got := matches(g, doc); got != want {
			t.Errorf("%s: matches = %v, want %v", doc, got, want)
		}
	}
}

func TestStringPatternsAndFormats(t *testing.T) {
	for schema, cases := range map[string]map[string]bool{
		`{"type": "string", "pattern": "^[a-z]+-\\d{2}$"}`: {
			`"ab-12"`: true, `"ab-1"`: false, `"Ab-12"`: false, `"ab-123"`: false, `""`: false,
		},
		`{"pattern": "cat"}`:                       {`"a cat!"`: true, `"cat"`: true, `"dog"`: false},
		`{"type": "string", "pattern": "^a\\nb$"}`: {`"a\nb"`: true, `"a\u000ab"`: true, `"anb"`: false},
		`{"type": "string", "pattern": "^é+$"}`:    {`"éé"`: true, `"\u00e9"`: true, `"e"`: false, `"\ud83d\ude00"`: false},
		`{"type": "string", "pattern": "^$"}`:      {`""`: true, `"a"`: false},
		`{"type": "string", "format": "date-time"}`: {
			`"2024-02-29T13:45:00Z"`: true, `"2024-02-29T13:45:00.123+05:30"`: true,
			`"2024-13-01T00:00:00Z"`: false, `"2024-02-29 13:45:00Z"`: false, `"2024-02-29T24:00:00Z"`: false,
		},
		`{"type": "string", "format": "date"}`:  {`"2024-12-31"`: true, `"2024-12-32"`: false, `"24-12-31"`: false},
		`{"type": "string", "format": "uuid"}`:  {`"123e4567-e89b-12d3-a456-426614174000"`: true, `"123e4567"`: false},
		`{"type": "string", "format": "email"}`: {`"anything"`: true}, // an annotation
	} {
		g, err := Schema([]byte(schema))
		if err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		for doc, want := range cases {
			if got := matches(g, doc); got != want {
				t.Errorf("%s: %s matches = %v, want %v", schema, doc, got, want)
			}
		}
	}
	// Random walks under a format never get stuck and end in a match.
	g, err := Schema([]byte(`{"type": "string", "format": "date-time"}`))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for walk := 0; walk < 100; walk++ {
		m := g.NewMatcher()
		var out []byte
		for !m.Finished() {
			var ok []byte
			for _, c := range []byte("\"0123456789-:.TZz+ ") {
				if m.Accepts([]byte{c}) {
					ok = append(ok, c)
				}
			}
			if len(ok) == 0 {
				t.Fatalf("stuck after %q", out)
			}
			c := ok[rng.IntN(len(ok))]
			if err := m.Advance([]byte{c}); err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		var v string
		if err := json.Unmarshal(out, &v); err != nil || !matches(g, string(out)) {
			t.Fatalf("walk gave %q: %v", out, err)
		}
	}
}
