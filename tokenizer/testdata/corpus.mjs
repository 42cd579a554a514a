// The test corpus: hand-picked strings that stress tokenizers, then
// generated mixes (a fixed seed keeps them stable). Imported by genref.mjs.

const seeds = [
  "", " ", "  ", "\n", "\t", "a", "A", "Hello world!", "Hello, World! How are you?",
  "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "tHe QuIcK bRoWn",
  "don't", "DON'T", "I'm", "I'M", "it's", "IT'S", "we've", "they're", "you'll", "he'd", "She'D",
  "y'all'd've", "rock 'n' roll", "'s 't 're 've 'm 'll 'd", "l'été", "'hello'", "\"quoted\"",
  // accents and normalization forms
  "café", "cafe\u0301", "naïve résumé", "Crème Brûlée", "Ångström", "São Paulo", "Zürich",
  "e\u0301\u0302\u0303", "a\u0328\u0301", "\u1e69", "s\u0323\u0307", "ḗ", "Ǆǅǆ", "ﬁﬂﬃ", "ǅungla",
  "İstanbul", "ıi İI", "straße STRASSE", "ΣΊΣΥΦΟΣ σοφός", "Ελληνικά", "ὈΔΥΣΣΕΎΣ",
  "Ａｂｃ１２３！", "①②③", "x²+y³", "½ ¾ ⅓", "№ ™ ℃ ℉", "Ⅻ ⅻ",
  // scripts
  "Привет, мир!", "Съешь же ещё этих мягких французских булок", "Ukraine: Київ",
  "مرحبا بالعالم", "السلام عليكم ورحمة الله", "שלום עולם", "नमस्ते दुनिया", "हिन्दी में लिखा गया पाठ",
  "สวัสดีชาวโลก", "ภาษาไทยไม่มีช่องว่าง", "안녕하세요 세계", "\u1112\u1161\u11ab\u1100\u1173\u11af",
  "こんにちは世界", "カタカナとひらがな", "日本語のテキスト、句読点。", "你好，世界！", "我爱北京天安门",
  "繁體中文測試", "𠀀𠀁𠀂 𪚥 𩸽", "ဖြစ်ပါတယ်", "ქართული", "Հայերեն", "አማርኛ", "ᚠᚢᚦᚨᚱᚲ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "𝐁𝐨𝐥𝐝 𝑰𝒕𝒂𝒍𝒊𝒄", "Tiếng Việt có dấu", "Türkçe ğüşöçİ", "Polski: zażółć gęślą jaźń",
  // emoji
  "😀", "😀😃😄", "I ❤️ NY", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "1️⃣2️⃣", "🤷‍♀️ whatever",
  "🥰🫠🪿", "emoji🙂inside", "😀 😀  😀", "☕ ☃ ★ ☆ ♠ ♥",
  // whitespace
  "a  b", "a   b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a\r\nb", "a \n b", "  leading", "trailing  ",
  "  both  ", "\n\n\n", " \n \n ", "\t \t", "a\u00a0b", "a\u3000b", "a\u2028b", "a\u2029b",
  "a\ufeffb", "\ufeffBOM", "a\u0085b", "a\u200bb", "a\u200db", "a\u2009b", "a\u202fb", "a\u180eb",
  "a\u000bb", "a\u000cb", "line1\nline2\n\nline4", "    indented code", "x\n    y\n        z",
  // numbers
  "123", "1234567890", "3.14159", "1,000,000", "-42", "+7 (555) 123-4567", "2024-01-31T12:34:56Z",
  "0x1F 0b1010 0o777", "1e-10", "١٢٣٤٥", "०१२३", "１２３４５", "12abc34", "v1.2.3", "$100.00", "50%",
  // code
  "def foo(x):\n    return x + 1\n", "for (let i = 0; i < n; i++) { sum += a[i]; }",
  "if err != nil {\n\treturn fmt.Errorf(\"read: %w\", err)\n}", "{\"key\": \"value\", \"n\": [1, 2, 3]}",
  "<html><body><p class=\"x\">Hi</p></body></html>", "SELECT * FROM users WHERE id = 1;",
  "https://example.com/path?query=1&b=two#frag", "user@example.com", "C:\\Users\\name\\file.txt",
  "/usr/local/bin/runner --flag=value", "a->b => c <= d != e", "x = y ** 2 // 3", "#include <stdio.h>",
  "git commit -m \"fix: stuff\"", "camelCaseIdentifier snake_case_name SCREAMING_CASE", "__init__",
  "λx.x", "∀x∈ℝ: x²≥0", "a_b-c.d/e\\f", "...", "!!!???", "---", "***", "~~~", "((()))", "[[]]",
  // special tokens inside text
  "<|endoftext|>", "Hello<|endoftext|>world", "<|im_start|>user\nHi<|im_end|>", "<s>Hello</s>",
  "[CLS] hello [SEP] world [SEP]", "[MASK]", "a [MASK] b", "<mask>", "<pad><pad>", "<unk>",
  "<start_of_turn>user\nhello<end_of_turn>", "<|begin_of_text|>Hi", "<|eot_id|>", "<BOS_TOKEN>x",
  "<bos>text<eos>", "text<|endoftext|>", "<|endoftext|><|endoftext|>", "< |endoftext| >", "<|endoftext",
  "[UNK][CLS]", "<0x41>", "▁hello", "▁▁▁", "Ġhello", "##ing", "</s></s>",
  // long words
  "a".repeat(300), "ab".repeat(150), "Supercalifragilisticexpialidocious".repeat(8),
  "pneumonoultramicroscopicsilicovolcanoconiosis", "x".repeat(101), "é".repeat(120),
  "😀".repeat(50), "日本".repeat(80), "1".repeat(200), " ".repeat(50) + "x", "\n".repeat(40),
  "-".repeat(100), "=".repeat(64), "https://example.com/" + "very-long-path-segment/".repeat(10),
  // control characters
  "a\u0000b", "\u0001\u0002\u0003", "a\u007fb", "\u001b[31mred\u001b[0m", "bell\u0007", "a\u0008b",
  "\ufffd", "a\ufffdb", "\u00ad soft hyphen", "a\u2060b", "\ue000 private use", "a\u0300",
  "\u0300 leading mark", "\u0301\u0301\u0301",
];

// A small deterministic generator (mulberry32).
function rng(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const parts = [
  "the", "The", "THE", " ", "  ", "\n", "\t", "\r\n", "'s", "'S", "'ll", "ing", "é", "e\u0301",
  "日本", "語", "😀", "👩‍💻", "🇩🇪", "123", "4", "5678", ".", ",", "!?", "...", "-", "_", "/",
  "(", ")", "{", "}", "<", ">", "<|endoftext|>", "[SEP]", "<s>", "</s>", "Ω", "ß", "İ", "ǅ",
  "\u00a0", "\u3000", "\u200b", "\u0000", "\u007f", "ℕ", "½", "٣", "x", "y", "z", "Hello", "world",
  "naïve", "Привет", "مرحبا", "नमस्ते", "สวัสดี", "한국어", "ﬁ", "＄", "\u0301", "\ufeff", "\u0085",
  "▁", "Ġ", "##", "@", "#", "$", "%", "^", "&", "*", "=", "+", "|", "\\", "\"", "`", "~",
];

// Single characters and short strings for dense random mixes: marks that
// compose or reorder, compatibility characters, jamo, astral characters,
// controls and special tokens.
const chars = [..."aAbBzZ09 \t\n\r'.,!?-_/\\()[]{}<>|@#$%^&*+=~`\"", "\u00a0", "\u3000", "\u2028", "\u200b", "\u200d",
  "\ufeff", "\u0085", "\u0301", "\u0308", "\u0328", "\u0307", "\u0903", "\u093f", "é", "ß", "İ", "ı", "Σ", "ς", "ǅ", "ﬁ",
  "①", "½", "²", "٣", "१", "Ⅻ", "東", "京", "語", "𠀀", "한", "\u1100", "\u1161", "\u11a8", "ア", "ｱ", "Ａ", "😀", "👍", "🏽",
  "🇫", "🇷", "\u0000", "\u0001", "\u001b", "\u007f", "\ufffd", "\ue000", "Ω", "ℕ", "▁", "Ġ", "##", "<s>", "</s>",
  "<|endoftext|>", "[SEP]", "[CLS]", "<mask>", "<pad>", "<unk>", "<bos>", "'s", "'LL", "the", "The", "ing", "  ", "\n\n", "...", "123456"];

export function corpus() {
  const out = [...seeds];
  const r = rng(20240131);
  for (let i = 0; i < 160; i++) {
    const n = 1 + Math.floor(r() * 14);
    let s = "";
    for (let k = 0; k < n; k++) s += parts[Math.floor(r() * parts.length)];
    out.push(s);
  }
  const r2 = rng(99);
  for (let i = 0; i < 240; i++) {
    const n = 1 + Math.floor(r2() * 12);
    let s = "";
    for (let k = 0; k < n; k++) s += chars[Math.floor(r2() * chars.length)];
    out.push(s);
  }
  return out;
}

// Pairs for EncodePair: (question, passage)-like.
export function pairs() {
  const c = corpus();
  const out = [
    ["What is the capital of France?", "Paris is the capital and most populous city of France."],
    ["hello", ""], ["", "world"], ["", ""], ["short", "a much longer second sequence with many words in it"],
    ["日本語の質問", "答えは東京です。"], ["<|endoftext|>", "[SEP]"], ["emoji 😀", "👨‍👩‍👧‍👦 family"],
  ];
  for (let i = 0; i + 1 < c.length && out.length < 40; i += 9) out.push([c[i], c[i + 1]]);
  return out;
}
