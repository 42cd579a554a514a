// Package chattemplate renders Hugging Face chat templates: the Jinja
// templates in a model's tokenizer_config.json (or chat_template.jinja) that
// turn a conversation, and any tools, into the model's prompt text.
//
// The output is meant to be byte for byte what Python transformers'
// apply_chat_template(..., tokenize=False) produces, because that is the
// text models are trained and evaluated with. The package carries its own
// small Jinja interpreter for that: the statements, expressions, filters,
// tests and Python str/dict/list methods chat templates use, with the
// environment transformers sets up (trim_blocks, lstrip_blocks, no trailing
// newline, loop controls, an immutable sandbox, the raise_exception and
// strftime_now globals, and a tojson filter that is json.dumps with
// ensure_ascii=False).
//
// # Basics
//
//	set, err := chattemplate.Load(modelDir)
//	...
//	prompt, err := set.Render(chattemplate.Input{
//		Messages:            []chattemplate.Message{{Role: "user", Content: "Hi"}},
//		AddGenerationPrompt: true,
//		Extra:               map[string]any{"enable_thinking": false},
//	})
//
// An error from a template's raise_exception comes back as a *RaisedError
// whose message is the template's own (a bad role order, say): it describes
// the request, not the server. A *SyntaxError means the template itself
// cannot be compiled; a *RenderError that it failed while running.
//
// # Key order and numbers
//
// Tools, tool-call arguments and other JSON values are decoded keeping
// their key order, as Python's json.loads does, because templates print
// them with tojson and the model saw them in that order. Numbers keep
// Python's distinction between int and float: 2.0 stays a float and prints
// as 2.0, 1e-7 prints as 1e-07.
//
// # Differences from @huggingface/jinja
//
// transformers.js renders with @huggingface/jinja. On the test corpus it
// agrees with Python in every case but two: the formatting of JSON floats,
// where JavaScript has no int/float distinction (2.0 becomes 2) and writes
// exponents differently (1e-7 for Python's 1e-07), and a dict indexed by a
// list (Command-R's tool template does it), which Jinja2 treats as a missing
// item and @huggingface/jinja as an error. This package follows Python. Its strftime_now also knows all of Python's directives in
// the C locale, where @huggingface/jinja knows only %Y %m %d %b %B %H %M.
// Python's transformers also passes additional_special_tokens to templates
// and this package does too.
//
// # Caveats
//
// Not supported: include, import, extends (chat templates stand alone),
// the rarely used filters (batch, slice, groupby, truncate, wordwrap,
// urlize, xmlattr, pprint, filesizeformat, center) and dict keys other than
// strings. continue_final_message is left to the caller.
package chattemplate
