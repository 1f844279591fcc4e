// Tokenizers the Japanese bases ship: SentencePiece `tokenizer.model` (through the shim, see
// sentencepiece.h) and Hugging Face `tokenizer.json` (BPE byte-level, BPE with Metaspace and
// byte fallback, Unigram). No LibTorch and no Qt here: the annotator uses this library too.
//
// encode() never adds BOS or EOS: whether a sequence starts with BOS is the chat template's
// and SpecialTokens' business (chat.h), so nothing doubles it. Special tokens written in
// the text ("<s>", "<|eot_id|>") are recognised as their ids.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tsumugi::tok {

struct Encoding {
    std::vector<int32_t> ids;
    // Byte range [begin, end) of the input that each token came from; equal bounds for a
    // token that covers no input byte. Used to find assistant spans for loss masks.
    std::vector<std::pair<uint32_t, uint32_t>> offsets;
};

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    virtual Encoding encode(std::string_view text) const = 0;
    virtual std::string decode(const std::vector<int32_t>& ids, bool skipSpecial = false) const = 0;
    virtual int32_t vocabSize() const = 0;
    virtual std::optional<int32_t> tokenToId(std::string_view token) const = 0;
    virtual std::string idToToken(int32_t id) const = 0;  // throws Error for an id out of range
    virtual bool isSpecial(int32_t id) const = 0;         // control / added special tokens
    virtual std::string describe() const = 0;             // e.g. "tokenizer.json BPE (byte-level), 128256 tokens"
};

// What tokenizer_config.json, special_tokens_map.json and generation_config.json say.
struct SpecialTokens {
    std::optional<int32_t> bos, eos, pad, unk;
    std::string bosText, eosText, padText, unkText;  // as the chat template sees bos_token / eos_token
    std::vector<int32_t> eosIds;  // every id that ends generation (generation_config may list several)
    bool addBos = false;          // the tokenizer's own default for plain text (never for chat, see chat.h)
    bool addEos = false;
};

// A model directory's tokenizer: tokenizer.json when present, else tokenizer.model, plus
// the special tokens and the model's own chat_template (when it has one).
struct TokenizerBundle {
    std::unique_ptr<Tokenizer> tokenizer;
    SpecialTokens special;
    std::optional<std::string> chatTemplate;
    std::string directory;
};

TokenizerBundle loadTokenizer(const std::string& directory);

// Loaders for one file each (errors name the file and the key).
std::unique_ptr<Tokenizer> loadTokenizerJson(const std::string& path);
std::unique_ptr<Tokenizer> loadSentencePieceModel(const std::string& path);

}  // namespace tsumugi::tok
