// Component configurations for the reference: each patches a real
// tokenizer.json (top-level keys replaced, model keys merged) to exercise a
// normalizer, pre-tokenizer, model option, post-processor, decoder or added
// token option that the real files do not use. Imported by genref.mjs.

const ws = { type: "WhitespaceSplit" };
const clipVocab = () => {
  const v = {};
  let id = 0;
  const add = (t) => { if (!(t in v)) v[t] = id++; };
  add("<unk>");
  for (const c of "abcdefghijklmnopqrstuvwxyz0123456789.,!?'") { add(c); add(c + "</w>"); }
  const merges = ["t h", "th e</w>", "e r</w>", "i n", "in g</w>", "o n</w>", "a n", "an d</w>", "h e", "he l", "hel l", "hell o</w>", "w o", "wo r", "wor l", "worl d</w>", "th e", "o u", "ou r</w>", "e s", "es t</w>", "a t</w>", "i s</w>", "o f</w>", "t o</w>", "r e", "q u", "qu i", "qui c", "quic k</w>"];
  for (const m of merges) add(m.replace(" ", ""));
  return { vocab: v, merges };
};
const clip = clipVocab();

export const components = [
  { name: "nfd-strip-lower-whitespace", base: "bert-base-uncased", patch: {
    normalizer: { type: "Sequence", normalizers: [{ type: "NFD" }, { type: "StripAccents" }, { type: "Lowercase" }] },
    pre_tokenizer: { type: "Whitespace" } } },
  { name: "nfkd-whitespacesplit", base: "bert-base-uncased", patch: {
    normalizer: { type: "NFKD" }, pre_tokenizer: ws } },
  { name: "nfkc-lower-punct-removed", base: "bert-base-uncased", patch: {
    normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] },
    pre_tokenizer: { type: "Sequence", pretokenizers: [ws, { type: "Punctuation", behavior: "Removed" }] } } },
  { name: "strip-replace-punct-next", base: "bert-base-uncased", patch: {
    normalizer: { type: "Sequence", normalizers: [{ type: "Strip", strip_left: true, strip_right: true }, { type: "Replace", pattern: { String: "aa" }, content: "b" }, { type: "Lowercase" }] },
    pre_tokenizer: { type: "Sequence", pretokenizers: [ws, { type: "Punctuation", behavior: "MergedWithNext" }] } } },
  { name: "punct-previous-contiguous", base: "bert-base-uncased", patch: {
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Sequence", pretokenizers: [ws, { type: "Punctuation", behavior: "MergedWithPrevious" }, { type: "Punctuation", behavior: "Contiguous" }] } } },
  { name: "digits", base: "bert-base-uncased", patch: {
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Sequence", pretokenizers: [ws, { type: "Digits", individual_digits: true }] } } },
  { name: "digits-contiguous-chardelim", base: "bert-base-uncased", patch: {
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "CharDelimiterSplit", delimiter: "e" }, { type: "Digits", individual_digits: false }] } } },
  { name: "split-variants", base: "bert-base-uncased", patch: {
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Sequence", pretokenizers: [
      { type: "Split", pattern: { String: " " }, behavior: "Removed", invert: false },
      { type: "Split", pattern: { Regex: "\\d+" }, behavior: "MergedWithNext", invert: false },
      { type: "Split", pattern: { Regex: "[aeiou]" }, behavior: "Contiguous", invert: true }] } } },
  { name: "replace-regex-prepend", base: "bert-base-uncased", patch: {
    normalizer: { type: "Sequence", normalizers: [{ type: "Replace", pattern: { Regex: "\\s+" }, content: " " }, { type: "Prepend", prepend: "#" }, { type: "Lowercase" }] },
    pre_tokenizer: { type: "BertPreTokenizer" } } },
  { name: "bert-normalizer-options", base: "bert-base-uncased", patch: {
    normalizer: { type: "BertNormalizer", clean_text: false, handle_chinese_chars: false, strip_accents: true, lowercase: false } } },
  { name: "bert-normalizer-keep-accents", base: "bert-base-uncased", patch: {
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: true } } },
  { name: "bert-processing", base: "bert-base-uncased", patch: {
    post_processor: { type: "BertProcessing", sep: ["[SEP]", 102], cls: ["[CLS]", 101] } } },
  { name: "wordlevel", base: "bert-base-uncased", patch: { pre_tokenizer: ws },
    model: { type: "WordLevel", unk_token: "[UNK]" }, dropModelKeys: ["continuing_subword_prefix", "max_input_chars_per_word"] },
  { name: "wordpiece-short-words", base: "bert-base-uncased", patch: {}, model: { max_input_chars_per_word: 5 } },
  { name: "added-token-options", base: "bert-base-uncased", addTokens: [
    { id: 30522, content: "hello", single_word: true, lstrip: false, rstrip: false, normalized: true, special: false },
    { id: 30523, content: "<mask>", single_word: false, lstrip: true, rstrip: true, normalized: false, special: true },
    { id: 30524, content: "WORLD", single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
    { id: 30525, content: "ing", single_word: true, lstrip: false, rstrip: false, normalized: false, special: false },
    { id: 30526, content: "日本", single_word: false, lstrip: true, rstrip: false, normalized: false, special: false }] },
  { name: "metaspace-first", base: "llama2", patch: {
    normalizer: null, pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: true },
    decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: true } } },
  { name: "metaspace-never-nosplit", base: "llama2", patch: {
    normalizer: null, pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "never", split: false },
    decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "never", split: false } } },
  { name: "metaspace-legacy", base: "llama2", patch: {
    normalizer: null, pre_tokenizer: { type: "Metaspace", replacement: "▁", add_prefix_space: true },
    decoder: { type: "Sequence", decoders: [{ type: "Metaspace", replacement: "▁", add_prefix_space: true }, { type: "Strip", content: " ", start: 0, stop: 1 }, { type: "Replace", pattern: { Regex: "o+" }, content: "0" }] } } },
  { name: "roberta", base: "cohere", patch: {
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: { type: "RobertaProcessing", sep: ["<EOS_TOKEN>", 6], cls: ["<BOS_TOKEN>", 5], trim_offsets: true, add_prefix_space: true } } },
  { name: "bytelevel-trim", base: "cohere", patch: {
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "WhitespaceSplit" }, { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: false }] },
    post_processor: { type: "Sequence", processors: [{ type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: false },
      { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<BOS_TOKEN>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
        pair: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<BOS_TOKEN>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: { "<BOS_TOKEN>": { id: "<BOS_TOKEN>", ids: [5], tokens: ["<BOS_TOKEN>"] } } }] } } },
  { name: "bpe-suffix", base: "llama2", patch: {
    normalizer: { type: "Lowercase" }, pre_tokenizer: { type: "Whitespace" }, post_processor: null, added_tokens: [],
    decoder: { type: "BPEDecoder", suffix: "</w>" } },
    model: { type: "BPE", vocab: clip.vocab, merges: clip.merges, unk_token: "<unk>", end_of_word_suffix: "</w>", continuing_subword_prefix: null, byte_fallback: false, fuse_unk: false } },
  { name: "bpe-prefix-fused-unk", base: "llama2", patch: {
    normalizer: { type: "Lowercase" }, pre_tokenizer: { type: "Whitespace" }, post_processor: null, added_tokens: [],
    decoder: { type: "WordPiece", prefix: "##", cleanup: false } },
    model: { type: "BPE", vocab: Object.fromEntries(Object.entries(clip.vocab).map(([k, v]) => [k.endsWith("</w>") ? "##" + k.slice(0, -4) : k, v])),
      merges: [], unk_token: "<unk>", continuing_subword_prefix: "##", end_of_word_suffix: null, byte_fallback: false, fuse_unk: true } },
  { name: "unigram-no-fallback", base: "unigram", patch: {}, model: { byte_fallback: false } },
];
