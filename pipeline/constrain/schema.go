package constrain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ErrSchema is returned for a JSON schema that cannot be compiled: invalid
// JSON, a keyword with the wrong type, an unresolvable $ref, or a keyword
// that constrains values in a way this package cannot enforce.
var ErrSchema = errors.New("invalid JSON schema")

// kinds is a set of JSON value types.
type kinds uint8

const (
	kindObject kinds = 1 << iota
	kindArray
	kindString
	kindNumber  // any number, integers included
	kindInteger // integers only (no fraction or exponent)
	kindBoolean
	kindNull

	kindAny = kindObject | kindArray | kindString | kindNumber | kindBoolean | kindNull
)

// node is one compiled schema: the values it admits.
type node struct {
	types kinds

	// literals, when not nil, are the only values admitted, each in its
	// exact JSON encoding (enum and const).
	literals []string
	// alternatives, when not empty, replace everything above: the value
	// matches one of them (anyOf, oneOf, type lists with keywords).
	alternatives []*node

	// Objects.
	properties []property
	// additional is the schema of keys not in properties; nil forbids them.
	additional *node

	// Arrays.
	items              *node
	minItems, maxItems int // maxItems < 0: no limit

	// Strings.
	minLength, maxLength int // maxLength < 0: no limit
	// pattern, when not nil, is what a string's characters must match
	// (pattern, or a format such as date-time).
	pattern *pattern

	// Numbers: bounds, nil when there are none (integer bounds for
	// integer-only schemas, decimal bounds otherwise).
	bounds    *intBounds
	decBounds *decBounds
}

// bounded reports whether the node bounds its numbers.
func (n *node) bounded() bool { return n.bounds != nil || n.decBounds != nil }

// property is a named member of an object schema.
type property struct {
	name     string
	key      string // the name as a JSON string, quotes included
	schema   *node
	required bool
}

// anyValue returns a node admitting every JSON value.
func anyValue() *node {
	n := &node{types: kindAny, maxItems: -1, maxLength: -1}
	n.items, n.additional = n, n
	return n
}

// Grammar is a compiled output format: any JSON value, or a JSON value
// that matches a schema. It is immutable and safe to share between
// requests; each output follows it with its own Matcher.
type Grammar struct {
	root *node
}

// JSON returns the grammar of any JSON value (Ollama's format "json").
func JSON() *Grammar { return &Grammar{root: anyValue()} }

// Schema compiles a JSON schema (the subset that structured-output users
// write: type, properties, required, additionalProperties, items,
// minItems, maxItems, enum, const, anyOf, oneOf, a one-element allOf,
// minLength, maxLength, pattern, the formats date, time, date-time and
// uuid, minimum and maximum (exclusive too; bounded decimals are written
// without an exponent), and $ref into $defs or definitions). Annotations
// (title, description, default, examples, other formats...) are ignored;
// assertions it cannot enforce (multipleOf, not...) are an error rather
// than output that may not validate.
//
// Objects with properties admit only those keys unless
// additionalProperties says otherwise, in any order, and cannot close
// before their required keys are present.
func Schema(schema []byte) (*Grammar, error) {
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSchema, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the schema", ErrSchema)
	}
	c := &compiler{doc: doc, refs: map[string]*node{}}
	root, err := c.compile(doc, "#")
	if err != nil {
		return nil, err
	}
	if err := checkNodes(root, map[*node]bool{}, map[*node]bool{}); err != nil {
		return nil, err
	}
	return &Grammar{root: root}, nil
}

// checkNodes refuses schemas a matcher could not follow: a node that
// admits no value (a $ref to itself and nothing else), or anyOf/oneOf
// alternatives that lead back to themselves without reading a byte.
// onPath holds the nodes on the current chain of alternatives.
func checkNodes(n *node, seen, onPath map[*node]bool) error {
	if onPath[n] {
		return fmt.Errorf("%w: anyOf or oneOf refers to itself", ErrSchema)
	}
	if seen[n] {
		return nil
	}
	if n.types == 0 && n.literals == nil && len(n.alternatives) == 0 {
		return fmt.Errorf("%w: a schema admits no value (a $ref that only refers to itself?)", ErrSchema)
	}
	onPath[n] = true
	for _, a := range n.alternatives {
		if err := checkNodes(a, seen, onPath); err != nil {
			return err
		}
	}
	delete(onPath, n)
	seen[n] = true
	// Objects and arrays read a byte before their members: a fresh chain.
	var members []*node
	for _, p := range n.properties {
		members = append(members, p.schema)
	}
	members = append(members, n.additional, n.items)
	for _, m := range members {
		if m != nil {
			if err := checkNodes(m, seen, map[*node]bool{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// compiler turns a decoded schema into nodes, resolving $ref pointers
// (recursive ones included) into shared nodes.
type compiler struct {
	doc  any
	refs map[string]*node
}

// unsupported are assertion keywords this package cannot enforce.
var unsupported = []string{
	"patternProperties", "multipleOf", "not", "if", "then", "else", "uniqueItems", "contains", "minContains", "maxContains",
	"dependentRequired", "dependentSchemas", "dependencies", "propertyNames", "minProperties",
	"maxProperties", "unevaluatedProperties", "unevaluatedItems", "prefixItems", "additionalItems",
}

func (c *compiler) compile(s any, at string) (*node, error) {
	switch v := s.(type) {
	case bool:
		if !v {
			return nil, fmt.Errorf("%w: %s is false and admits no value", ErrSchema, at)
		}
		return anyValue(), nil
	case map[string]any:
		return c.compileObject(v, at)
	}
	return nil, fmt.Errorf("%w: %s must be an object or a boolean", ErrSchema, at)
}

func (c *compiler) compileObject(s map[string]any, at string) (*node, error) {
	for _, k := range unsupported {
		if _, ok := s[k]; ok {
			return nil, fmt.Errorf("%w: %s: keyword %q is not supported", ErrSchema, at, k)
		}
	}
	if ref, ok := s["$ref"]; ok {
		r, ok := ref.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s/$ref must be a string", ErrSchema, at)
		}
		return c.resolve(r)
	}
	if all, ok := s["allOf"]; ok {
		list, ok := all.([]any)
		if !ok || len(list) != 1 {
			return nil, fmt.Errorf("%w: %s/allOf: only a list of one schema is supported", ErrSchema, at)
		}
		return c.compile(list[0], at+"/allOf/0")
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		if alts, ok := s[k]; ok {
			return c.compileAlternatives(alts, at+"/"+k)
		}
	}
	n := &node{maxItems: -1, maxLength: -1}
	if err := c.compileType(n, s, at); err != nil {
		return nil, err
	}
	if err := c.compileLiterals(n, s, at); err != nil {
		return nil, err
	}
	if n.types&kindObject != 0 {
		if err := c.compileProperties(n, s, at); err != nil {
			return nil, err
		}
	}
	if n.types&kindArray != 0 {
		if err := c.compileItems(n, s, at); err != nil {
			return nil, err
		}
	}
	if err := compileBounds(n, s, at); err != nil {
		return nil, err
	}
	if n.types&kindString != 0 {
		var err error
		if n.minLength, err = count(s, "minLength", 0, at); err != nil {
			return nil, err
		}
		if n.maxLength, err = count(s, "maxLength", -1, at); err != nil {
			return nil, err
		}
		if n.maxLength >= 0 && n.maxLength < n.minLength {
			return nil, fmt.Errorf("%w: %s: maxLength is below minLength", ErrSchema, at)
		}
		if err := compileStringPattern(n, s, at); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// typeNames are the types JSON schema names.
var typeNames = map[string]kinds{
	"object": kindObject, "array": kindArray, "string": kindString, "number": kindNumber,
	"integer": kindInteger, "boolean": kindBoolean, "null": kindNull,
}

// compileType reads "type", or infers it from the keywords present when
// it is absent (properties mean an object, items an array).
func (c *compiler) compileType(n *node, s map[string]any, at string) error {
	t, ok := s["type"]
	if !ok {
		switch {
		case has(s, "properties", "required", "additionalProperties"):
			n.types = kindObject
		case has(s, "items", "minItems", "maxItems"):
			n.types = kindArray
		case has(s, "minLength", "maxLength", "pattern"):
			n.types = kindString
		default:
			n.types = kindAny
		}
		return nil
	}
	var names []any
	switch v := t.(type) {
	case string:
		names = []any{v}
	case []any:
		names = v
	default:
		return fmt.Errorf("%w: %s/type must be a string or a list of strings", ErrSchema, at)
	}
	for _, name := range names {
		k, ok := name.(string)
		if !ok || typeNames[k] == 0 {
			return fmt.Errorf("%w: %s/type: unknown type %v", ErrSchema, at, name)
		}
		n.types |= typeNames[k]
	}
	if n.types == 0 {
		return fmt.Errorf("%w: %s/type is empty", ErrSchema, at)
	}
	return nil
}

// compileLiterals reads enum and const into exact encodings, keeping
// those of an admitted type.
func (c *compiler) compileLiterals(n *node, s map[string]any, at string) error {
	var values []any
	if v, ok := s["const"]; ok {
		values = []any{v}
	} else if v, ok := s["enum"]; ok {
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return fmt.Errorf("%w: %s/enum must be a non-empty list", ErrSchema, at)
		}
		values = list
	} else {
		return nil
	}
	for _, v := range values {
		if !admitsType(n.types, v) {
			continue
		}
		enc, err := encode(v)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSchema, at, err)
		}
		if !slices.Contains(n.literals, enc) {
			n.literals = append(n.literals, enc)
		}
	}
	if len(n.literals) == 0 {
		return fmt.Errorf("%w: %s: no enum or const value has an admitted type", ErrSchema, at)
	}
	return nil
}

func (c *compiler) compileProperties(n *node, s map[string]any, at string) error {
	props := map[string]any{}
	if p, ok := s["properties"]; ok {
		if props, ok = p.(map[string]any); !ok {
			return fmt.Errorf("%w: %s/properties must be an object", ErrSchema, at)
		}
	}
	required := map[string]bool{}
	if r, ok := s["required"]; ok {
		list, ok := r.([]any)
		if !ok {
			return fmt.Errorf("%w: %s/required must be a list of strings", ErrSchema, at)
		}
		for _, x := range list {
			name, ok := x.(string)
			if !ok {
				return fmt.Errorf("%w: %s/required must be a list of strings", ErrSchema, at)
			}
			if _, ok := props[name]; !ok {
				// A required key with no schema of its own takes any value.
				props[name] = true
			}
			required[name] = true
		}
	}
	// Keep the schema's key order where it is known; JSON objects decoded
	// into maps lose it, so order by name for determinism.
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, err := c.compile(props[name], at+"/properties/"+escapePointer(name))
		if err != nil {
			return err
		}
		key, err := encode(name)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSchema, at, err)
		}
		n.properties = append(n.properties, property{name: name, key: key, schema: p, required: required[name]})
	}
	switch a, ok := s["additionalProperties"]; {
	case !ok:
		// Structured output wants the keys it names: with properties,
		// extra keys are not generated; without, any key is.
		if len(n.properties) == 0 {
			n.additional = anyValue()
		}
	case a == false:
	default:
		extra, err := c.compile(a, at+"/additionalProperties")
		if err != nil {
			return err
		}
		n.additional = extra
	}
	return nil
}

func (c *compiler) compileItems(n *node, s map[string]any, at string) error {
	n.items = anyValue()
	if it, ok := s["items"]; ok {
		items, err := c.compile(it, at+"/items")
		if err != nil {
			return err
		}
		n.items = items
	}
	var err error
	if n.minItems, err = count(s, "minItems", 0, at); err != nil {
		return err
	}
	if n.maxItems, err = count(s, "maxItems", -1, at); err != nil {
		return err
	}
	if n.maxItems >= 0 && n.maxItems < n.minItems {
		return fmt.Errorf("%w: %s: maxItems is below minItems", ErrSchema, at)
	}
	return nil
}

func (c *compiler) compileAlternatives(v any, at string) (*node, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("%w: %s must be a non-empty list", ErrSchema, at)
	}
	n := &node{maxItems: -1, maxLength: -1}
	for i, s := range list {
		alt, err := c.compile(s, at+"/"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		n.alternatives = append(n.alternatives, alt)
	}
	return n, nil
}

// resolve compiles the schema a local JSON pointer ("#", "#/$defs/Item")
// names, once per pointer, so recursive schemas share their nodes.
func (c *compiler) resolve(ref string) (*node, error) {
	if n, ok := c.refs[ref]; ok {
		return n, nil
	}
	if ref != "#" && !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("%w: $ref %q: only local references (#/...) are supported", ErrSchema, ref)
	}
	target := c.doc
	if ref != "#" {
		for _, part := range strings.Split(ref[2:], "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			m, ok := target.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: $ref %q does not resolve", ErrSchema, ref)
			}
			if target, ok = m[part]; !ok {
				return nil, fmt.Errorf("%w: $ref %q does not resolve", ErrSchema, ref)
			}
		}
	}
	// Register a placeholder first so that a reference to itself (a tree
	// of nodes) finds it, then fill it in.
	n := &node{}
	c.refs[ref] = n
	compiled, err := c.compile(target, ref)
	if err != nil {
		return nil, err
	}
	*n = *compiled
	if compiled.items == compiled {
		n.items = n
	}
	if compiled.additional == compiled {
		n.additional = n
	}
	return n, nil
}

func has(s map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := s[k]; ok {
			return true
		}
	}
	return false
}

// count reads a non-negative integer keyword, or def when it is absent.
func count(s map[string]any, key string, def int, at string) (int, error) {
	v, ok := s[key]
	if !ok {
		return def, nil
	}
	num, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%w: %s/%s must be a non-negative integer", ErrSchema, at, key)
	}
	i, err := strconv.Atoi(num.String())
	if err != nil || i < 0 {
		return 0, fmt.Errorf("%w: %s/%s must be a non-negative integer", ErrSchema, at, key)
	}
	return i, nil
}

// admitsType reports whether a decoded JSON value has one of the types.
func admitsType(t kinds, v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return t&kindObject != 0
	case []any:
		return t&kindArray != 0
	case string:
		return t&kindString != 0
	case json.Number:
		if t&kindNumber != 0 {
			return true
		}
		_, err := strconv.ParseInt(x.String(), 10, 64)
		return t&kindInteger != 0 && err == nil
	case bool:
		return t&kindBoolean != 0
	case nil:
		return t&kindNull != 0
	}
	return false
}

// encode writes v as compact JSON without HTML escaping, the form a model
// is expected to produce.
func encode(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// compileStringPattern reads pattern, or a format that has one (date,
// time, date-time, uuid; other formats are annotations).
func compileStringPattern(n *node, s map[string]any, at string) error {
	expr, ok := s["pattern"]
	if f, hasFormat := s["format"].(string); hasFormat && stringFormats[f] != "" {
		if ok {
			return fmt.Errorf("%w: %s: pattern and format %q together are not supported", ErrSchema, at, f)
		}
		expr, ok = stringFormats[f], true
	}
	if !ok {
		return nil
	}
	str, isString := expr.(string)
	if !isString {
		return fmt.Errorf("%w: %s/pattern must be a string", ErrSchema, at)
	}
	p, err := compilePattern(str)
	if err != nil {
		return fmt.Errorf("%w: %s/pattern: %v", ErrSchema, at, err)
	}
	n.pattern = p
	return nil
}
