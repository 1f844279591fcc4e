#!/usr/bin/python3
"""Makes the Unigram tokenizer.json fixture: a small Japanese SentencePiece unigram model with
byte fallback, converted to tokenizer.json the way transformers' LlamaConverter converts a
SentencePiece model (the layout of llm-jp's and the Llama 2 family's tokenizer.json):
normalizer Prepend "▁" + Replace " " → "▁", no pre-tokenizer, Unigram with the pieces'
scores, unk_id 0 and byte_fallback, decoder Replace/ByteFallback/Fuse/Strip, and the
control pieces <unk> <s> </s> as special added tokens.

No npm package we found ships a Unigram tokenizer.json, so we make one; it is small enough
to commit. The test compares our encoder on it with @huggingface/tokenizers (npm) and with
the ids SentencePiece itself gives, written here to spm-ids.jsonl.

Run with Debian's python (python3-sentencepiece 0.1.97):
    /usr/bin/python3 tests/golden/make_unigram_tokenizer.py
Reads tests/fixtures/tokenizer-corpus.txt (make_tokenizer_corpus.py); writes
tests/fixtures/unigram-ja/{tokenizer.json,spm-ids.jsonl}
(spm-ids.jsonl: {"line": index in the corpus, "ids": SentencePiece's ids} per line).
"""
import json
import os
import tempfile

import sentencepiece as spm

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
fixtures = os.path.join(root, "tests", "fixtures")
out_dir = os.path.join(fixtures, "unigram-ja")
os.makedirs(out_dir, exist_ok=True)

with open(os.path.join(fixtures, "tokenizer-corpus.txt"), encoding="utf-8", newline="") as f:
    lines = f.read().split("\n")[:-1]

with tempfile.TemporaryDirectory() as tmp:
    corpus = os.path.join(tmp, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(l.replace("\r", "") for l in lines if l.strip()) + "\n")
    prefix = os.path.join(tmp, "unigram-ja")
    # Identity normalization and kept whitespace, as Japanese bases train; characters outside
    # the 99.5% coverage (rare kanji, most emoji) are left to byte fallback.
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=2000, model_type="unigram", byte_fallback=True,
        normalization_rule_name="identity", character_coverage=0.995, remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True, split_digits=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        shuffle_input_sentence=False, num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")

# LlamaConverter: the first three pieces get score 0, every other keeps its own.
vocab = []
for i in range(sp.get_piece_size()):
    vocab.append([sp.id_to_piece(i), 0.0 if i < 3 else sp.get_score(i)])

added = [{"id": i, "content": sp.id_to_piece(i), "single_word": False, "lstrip": False, "rstrip": False,
          "normalized": False, "special": True} for i in range(3)]
tokenizer = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": added,
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "pre_tokenizer": None,
    "post_processor": {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
    "decoder": {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "Unigram", "unk_id": 0, "vocab": vocab, "byte_fallback": True},
}
with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
    json.dump(tokenizer, f, ensure_ascii=False, indent=1)
    f.write("\n")

# SentencePiece's own ids, on lines without strings that tokenizer.json treats differently
# from SentencePiece: special tokens (added tokens there, plain text here) and "<0x..>"
# (byte pieces are matchable text in tokenizer.json's Unigram, never in SentencePiece).
def plain(text):
    return not any(s in text for s in ("<s>", "</s>", "<unk>", "<0x"))

chosen = [i for i in range(0, len(lines), 5) if plain(lines[i])]
with open(os.path.join(out_dir, "spm-ids.jsonl"), "w", encoding="utf-8") as f:
    for i in chosen:  # "line": index in tokenizer-corpus.txt
        f.write(json.dumps({"line": i, "ids": sp.encode(lines[i])}) + "\n")
print(len(vocab), "pieces;", len(chosen), "SentencePiece reference lines")
