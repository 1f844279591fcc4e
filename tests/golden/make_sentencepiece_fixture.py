#!/usr/bin/python3
"""Makes the SentencePiece golden fixture with python3-sentencepiece (Debian 12, 0.1.97).

Run with Debian's python: /usr/bin/python3 tests/golden/make_sentencepiece_fixture.py
Writes into tests/fixtures/:
  sp-corpus.txt         training text: every message of resources/samples (CC0, ours), one line each
  sp-ja.model           a unigram model, vocab 3000, byte fallback, identity normalization
  sp-ja-golden.jsonl    {"text", "ids", "pieces", "decoded"} for each line of sp-lines below,
                        as python3-sentencepiece encodes and decodes them
"""
import glob
import json
import os
import sentencepiece as spm

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
fixtures = os.path.join(root, "tests", "fixtures")

texts = []
for path in sorted(glob.glob(os.path.join(root, "resources", "samples", "*.jsonl"))):
    with open(path, encoding="utf-8") as f:
        for line in f:
            for m in json.loads(line)["messages"]:
                texts.extend(t for t in m["text"].split("\n") if t.strip())
corpus = os.path.join(fixtures, "sp-corpus.txt")
with open(corpus, "w", encoding="utf-8") as f:
    f.write("\n".join(texts) + "\n")

prefix = os.path.join(fixtures, "sp-ja")
spm.SentencePieceTrainer.train(
    input=corpus, model_prefix=prefix, vocab_size=3000, model_type="unigram", byte_fallback=True,
    normalization_rule_name="identity", character_coverage=0.9995, split_digits=True,
    allow_whitespace_only_pieces=True, remove_extra_whitespaces=False, unk_id=0, bos_id=1, eos_id=2,
    pad_id=-1, seed_sentencepiece_size=100000, shuffle_input_sentence=False, num_threads=1,
    minloglevel=2)
os.remove(prefix + ".vocab")

lines = texts[::7] + [
    "１２１ と 121、ＡＢＣ と ABC は別の文字です。",
    "ｶﾀｶﾅ（半角）とカタカナ（全角）",
    "絵文字 😀👍🏽👨‍👩‍👧 と国旗 🇯🇵",
    "珍しい漢字: 龘 𠮷野家 鬱",
    "def f(x):\n    return x * 2  # コメント",
    "  先頭と末尾の空白  ",
    "タブ\tと\t改行\r\nの混在",
    "",
    "a",
]
sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
with open(os.path.join(fixtures, "sp-ja-golden.jsonl"), "w", encoding="utf-8") as f:
    for text in lines:
        ids = sp.encode(text)
        f.write(json.dumps({"text": text, "ids": ids, "pieces": [sp.id_to_piece(i) for i in ids],
                            "decoded": sp.decode(ids)}, ensure_ascii=False) + "\n")
print(len(lines), "golden lines;", sp.get_piece_size(), "pieces")
