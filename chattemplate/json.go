package chattemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// fromJSON decodes JSON text into interpreter values the way Python's
// json.loads does: objects keep their key order (a repeated key keeps its
// first position and its last value), numbers written with a fraction or an
// exponent become floats and the others ints.
func fromJSON(data []byte) (value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			items := []value{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				items = append(items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return newList(items), nil
		case '{':
			d := newDict()
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				d.set(k.(string), v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return d, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return jsonNumber(string(t))
	default: // string, bool, nil
		return t, nil
	}
}

func jsonNumber(s string) (value, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("number %s: %w", s, err)
	}
	return f, nil
}

// jsonOptions are the keyword arguments of the tojson filter, which are
// those of Python's json.dumps.
type jsonOptions struct {
	ensureASCII bool
	indent      string // "" with hasIndent false: one line
	hasIndent   bool
	itemSep     string
	keySep      string
	sortKeys    bool
}

// toJSON serialises a value exactly as Python's json.dumps does with the
// given options; transformers' tojson filter is json.dumps with
// ensure_ascii=False.
func toJSON(v value, o jsonOptions) (string, error) {
	if o.itemSep == "" && o.keySep == "" {
		o.itemSep, o.keySep = ", ", ": "
		if o.hasIndent {
			o.itemSep = ","
		}
	}
	var b strings.Builder
	if err := writeJSON(&b, v, o, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeJSON(b *strings.Builder, v value, o jsonOptions, depth int) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloatRepr(x))
		}
	case string:
		writeJSONString(b, x, o.ensureASCII)
	case *List:
		if len(x.items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[")
		for i, it := range x.items {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			writeNewline(b, o, depth+1)
			if err := writeJSON(b, it, o, depth+1); err != nil {
				return err
			}
		}
		writeNewline(b, o, depth)
		b.WriteString("]")
	case *Dict:
		return writeJSONObject(b, x, o, depth)
	default:
		return fmt.Errorf("Object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

func writeJSONObject(b *strings.Builder, d *Dict, o jsonOptions, depth int) error {
	if d.len() == 0 {
		b.WriteString("{}")
		return nil
	}
	order := make([]int, d.len())
	for i := range order {
		order[i] = i
	}
	if o.sortKeys {
		sort.SliceStable(order, func(i, j int) bool { return d.keys[order[i]] < d.keys[order[j]] })
	}
	b.WriteString("{")
	for n, i := range order {
		if n > 0 {
			b.WriteString(o.itemSep)
		}
		writeNewline(b, o, depth+1)
		writeJSONString(b, d.keys[i], o.ensureASCII)
		b.WriteString(o.keySep)
		if err := writeJSON(b, d.vals[i], o, depth+1); err != nil {
			return err
		}
	}
	writeNewline(b, o, depth)
	b.WriteString("}")
	return nil
}

func writeNewline(b *strings.Builder, o jsonOptions, depth int) {
	if !o.hasIndent {
		return
	}
	b.WriteByte('\n')
	for range depth {
		b.WriteString(o.indent)
	}
}

// writeJSONString quotes a string as Python's json module does.
func writeJSONString(b *strings.Builder, s string, ensureASCII bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case ensureASCII && r > 0x7e:
				if r > 0xffff {
					hi, lo := utf16.EncodeRune(r)
					fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
