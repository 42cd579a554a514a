// Package constrain restricts a decoder's output to a grammar, so that
// what it generates parses: any JSON value (Ollama's format "json"), or a
// JSON value that matches a JSON schema.
//
// # Pieces
//
// A Grammar is compiled once per request from "json" (JSON) or a schema
// (Schema). A Matcher follows one output through it byte by byte, with
// persistent stacks so that trying a byte never disturbs the state it was
// tried on. A Vocabulary holds a model's tokens as bytes in a trie, built
// once per model; Tokens binds a Matcher to it and answers, per decode
// step, whether a token may come next (Allows) or which tokens may
// (Mask), walking the trie once rather than every token from scratch.
//
// # Limits
//
// Whitespace runs, number lengths and nesting depth are bounded, so a
// model cannot stall inside one value; objects with properties take only
// those keys unless additionalProperties says otherwise; schema keywords
// that constrain values in ways the matcher cannot enforce (multipleOf,
// not...) are refused at compile time. String patterns and formats are
// followed rune by rune; numbers with bounds, digit by digit.
package constrain
