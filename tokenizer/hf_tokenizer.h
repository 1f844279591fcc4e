// Hugging Face tokenizer.json: the normalizers, pre-tokenizers, models and decoders that
// Llama-family and Japanese models ship (Llama 3: Split + ByteLevel BPE with ignore_merges;
// Llama 2 / Swallow / ELYZA: Prepend + Replace normalizer, BPE with byte fallback, decoder
// Replace/ByteFallback/Fuse/Strip; SentencePiece-converted Unigram such as llm-jp's), plus
// added tokens. Every other component is refused by name when the file is loaded.
//
// Encoding follows the Rust `tokenizers` crate: the input is first cut at added tokens
// (leftmost-longest, lstrip/rstrip/single_word), each remaining section is normalized, then
// pre-tokenized, then each pre-token goes through the model (results cached by pre-token).
// Offsets are byte ranges of the original input (tokenizer.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tokenizer/tokenizer.h"

namespace tsumugi::tok {

// The same as loadTokenizerJson on text already in memory; `name` stands for the file in
// error messages ("NAME: model.type 'WordPiece' is not supported; …").
std::unique_ptr<Tokenizer> parseTokenizerJson(std::string_view json, const std::string& name = "tokenizer.json");

}  // namespace tsumugi::tok
