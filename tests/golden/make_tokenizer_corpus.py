#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer-corpus.txt: the text the tokenizer.json golden tests encode.

Several thousand lines mixing Japanese (the message texts of resources/samples/*.jsonl, ours
and CC0), English with contractions, numbers (ASCII and full-width), full- and half-width
forms, emoji (skin tones, ZWJ families, flags, keycaps), code with indentation and tabs,
whitespace runs, CRLF line ends, and special-token strings ("<|eot_id|>", "<s>") inside
text. One test case per line: lines are split on "\\n" only, so a "\\r" stays in its line.

Deterministic (fixed seed, standard library only):
    python3 tests/golden/make_tokenizer_corpus.py
"""
import glob
import json
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer-corpus.txt")

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure it's fine, but they'll check it anyway.",
    "We've been there; you'd like it. THEY'RE HERE, aren't they?",
    "Don't panic! Isn't it 'quoted'? He said: \"hello\".",
    "Tokenizers split text into pieces before the model sees it.",
    "Hello, world! How are you doing today?",
    "It's 3:45 p.m. and the temperature is 21.5°C (70.7°F).",
    "E-mail: someone@example.com; URL: https://example.org/path?q=1&r=2#frag",
    "Prices: $1,299.99, €45, £3.50, ¥10,000 and 50% off!!!",
    "The year 2024 had 366 days; 1234567890 is a long number.",
    "naïve café résumé coöperate façade Ångström",
    "    four leading spaces and trailing ones    ",
    "multiple     spaces   between    words",
    "CamelCaseWords and snake_case_words and kebab-case-words",
    "Section 3.2.1 — see Fig. 4(b) [ref: 12].",
    "O'Reilly's books, rock 'n' roll, 'tis the season",
]

NUMBERS = [
    "1", "12", "123", "1234", "12345", "3.14159", "-42", "+81 90-1234-5678", "2024-03-15T09:30:00Z",
    "１２３４５", "０.５", "第１２３回", "２０２４年３月１５日", "10,000円", "½ ¼ ¾", "Ⅰ Ⅱ Ⅻ", "①②③", "x² + y³ = z¹",
    "0x1F600", "1e-9", "99.9%", "７時３０分", "四百五十六", "1st 2nd 3rd 4th",
]

WIDTHS = [
    "ＡＢＣ ａｂｃ ＸＹＺ", "ｶﾀｶﾅ ﾊﾝｶｸ ｱｲｳｴｵ", "全角スペース　が　入る", "　先頭の全角スペース", "！？＃＄％＆（）＊＋",
    "「かぎかっこ」『二重』【隅付き】〈山〉《二重山》", "～〜ー―‐", "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ",
]

EMOJI = [
    "😀", "😂🤣", "👍🏽", "👨‍👩‍👧‍👦", "🧑🏻‍💻", "🏳️‍🌈", "🇯🇵", "🇺🇸🇬🇧", "❤️", "1️⃣", "#️⃣", "🍣🍜🍱",
    "✨", "🙇‍♂️", "👩🏾‍🔬", "🐈‍⬛", "⚠️", "©®™",
]

CODE = [
    "def add(a, b):",
    "    return a + b",
    "\tif (x != nullptr) { return x->value; }",
    "for (int i = 0; i < n; ++i) {",
    "        std::cout << \"i = \" << i << std::endl;",
    "}",
    "#include <vector>",
    "const auto it = std::find_if(v.begin(), v.end(), [](int x) { return x % 2 == 0; });",
    "{\"name\": \"鈴木\", \"age\": 42, \"tags\": [\"a\", \"b\"]}",
    "SELECT id, text FROM messages WHERE status = 'approved' ORDER BY id;",
    "x = [i ** 2 for i in range(10) if i % 3]",
    "print(f\"{name!r:>10} {value:.3f}\")",
    "$ ls -la /usr/lib | grep -E '^d' && echo \"done\"",
    "<div class=\"msg\">こんにちは</div>",
    "    // TODO: handle the edge case when n == 0",
    "\t\tindent_with_tabs = True",
    "fn main() { println!(\"Hello, {}!\", \"世界\"); }",
]

SPECIAL = [
    "<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
    "<|reserved_special_token_5|>", "<s>", "</s>", "<unk>",
]

NEAR_SPECIAL = ["<|eot_id", "eot_id|>", "< s>", "<s >", "<|EOT_ID|>", "<<s>>", "</s", "<0x41>", "<|>"]

WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", " \t ", "　", "\u00a0", "\u2003", "\u200b", "\ufeff"]


def japanese_lines():
    lines = []
    for path in sorted(glob.glob(os.path.join(ROOT, "resources", "samples", "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for raw in f:
                record = json.loads(raw)
                for message in record.get("messages", []):
                    for line in message["text"].split("\n"):
                        if line.strip():
                            lines.append(line)
    return lines


def main():
    rng = random.Random(20240315)
    ja = japanese_lines()
    out = []

    # Every sample line as it is (Japanese, with the sample's own code and numbers).
    out.extend(ja)
    # Each fixed fragment on its own line.
    for group in (ENGLISH, NUMBERS, WIDTHS, EMOJI, CODE, SPECIAL, NEAR_SPECIAL):
        out.extend(group)
    # Whitespace alone and around words.
    for ws in WHITESPACE:
        out.append(ws)
        out.append("word" + ws + "word")
        out.append(ws + "先頭" + ws)
    # Special tokens inside text, with and without spaces around them.
    for tok in SPECIAL:
        out.append("前" + tok + "後")
        out.append("before " + tok + " after")
        out.append(tok + "text at the start")
        out.append("text at the end" + tok)
        out.append(tok + tok)
        out.append(" " + tok + " ")

    # Random mixtures of everything.
    pools = [ja, ja, ja, ENGLISH, NUMBERS, WIDTHS, EMOJI, CODE, SPECIAL, NEAR_SPECIAL]
    while len(out) < 5000:
        parts = []
        for _ in range(rng.randint(1, 5)):
            pool = rng.choice(pools)
            text = rng.choice(pool)
            if pool is ja and len(text) > 40 and rng.random() < 0.5:
                a = rng.randrange(len(text) - 20)
                text = text[a:a + rng.randint(5, 40)]
            parts.append(text)
        sep = rng.choice(["", "", " ", " ", "  ", "\t", "　", " \t", "。", "、", ", "])
        line = sep.join(parts)
        r = rng.random()
        if r < 0.08:
            line += "\r"  # written as CRLF
        elif r < 0.12:
            line = rng.choice(WHITESPACE) * rng.randint(1, 4) + line
        elif r < 0.16:
            line += rng.choice(WHITESPACE) * rng.randint(1, 4)
        elif r < 0.18:
            line = line.replace(" ", "\r", 1)
        out.append(line)

    with open(OUT, "w", encoding="utf-8", newline="") as f:
        for line in out:
            assert "\n" not in line
            f.write(line + "\n")
    print(f"wrote {len(out)} lines to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
