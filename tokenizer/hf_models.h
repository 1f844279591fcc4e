// The two tokenizer.json models we support, each turning one pre-token (bytes) into tokens
// with byte ranges inside that pre-token:
//   BpeModel     — merges by rank with a priority queue (O(n log n) per pre-token), optional
//                  byte-level alphabet (GPT-2 / Llama 3), byte fallback (<0xNN>, Llama 2),
//                  ignore_merges (Llama 3), unk with fuse_unk.
//   UnigramModel — Viterbi over a byte trie of the pieces (SentencePiece-converted models),
//                  unk score = min score − 10 as in `tokenizers`, byte fallback, unk fused.
// Loading (JSON → these structs) lives in hf_tokenizer.cpp; these only compute.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tsumugi::tok::hf {

struct ModelToken {
    int32_t id;
    uint32_t begin, end;  // byte range inside the pre-token
};

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Open-addressing map from 64-bit keys to 64-bit values (merge pairs, trie edges, code points).
class U64Map {
public:
    void reserve(size_t n);
    void insert(uint64_t key, uint64_t value);  // overwrites
    const uint64_t* find(uint64_t key) const
    {
        if (m_keys.empty()) return nullptr;
        for (size_t i = slot(key);; i = (i + 1) & m_mask) {
            if (m_keys[i] == kEmpty) return nullptr;
            if (m_keys[i] == key) return &m_values[i];
        }
    }
    size_t size() const { return m_size; }

private:
    static constexpr uint64_t kEmpty = ~uint64_t(0);
    size_t slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> m_shift) & m_mask; }
    void grow();
    std::vector<uint64_t> m_keys, m_values;
    size_t m_mask = 0, m_size = 0;
    int m_shift = 64;
};

class Model {
public:
    virtual ~Model() = default;
    // Appends the tokens of one pre-token. Throws tsumugi::Error when a piece cannot be
    // represented at all (no unk token and no byte fallback for it, Unigram only).
    virtual void tokenize(std::string_view piece, std::vector<ModelToken>& out) const = 0;
};

struct BpeConfig {
    std::vector<std::pair<std::string, int32_t>> vocab;       // key (raw bytes when byteLevel) → id
    std::vector<std::pair<std::string, std::string>> merges;  // in rank order, keys as in vocab
    std::optional<int32_t> unkId;
    bool byteLevel = false;
    bool byteFallback = false;
    bool fuseUnk = false;
    bool ignoreMerges = false;
};

class BpeModel final : public Model {
public:
    // Throws std::invalid_argument naming the merge index for a merge whose parts or result
    // are missing from the vocabulary (as `tokenizers` refuses such a file).
    explicit BpeModel(const BpeConfig& config);
    void tokenize(std::string_view piece, std::vector<ModelToken>& out) const override;

private:
    struct Symbol {
        int32_t id;  // -1: a character missing from the vocabulary
        int32_t prev, next;
        uint32_t begin, end;
    };
    void emitUnknown(std::string_view piece, const Symbol& s, std::vector<ModelToken>& out) const;

    StringIdMap m_ids;
    U64Map m_charIds;  // code point → id of the one-character token (not byte-level)
    U64Map m_merges;   // (left id << 32 | right id) → (rank << 32 | merged id)
    int32_t m_byteIds[256];
    int32_t m_fallbackIds[256];
    std::optional<int32_t> m_unkId;
    bool m_byteLevel, m_byteFallback, m_fuseUnk, m_ignoreMerges;
};

struct UnigramConfig {
    std::vector<std::pair<std::string, double>> pieces;  // id → (piece, score)
    std::optional<int32_t> unkId;
    bool byteFallback = false;
};

class UnigramModel final : public Model {
public:
    explicit UnigramModel(const UnigramConfig& config);
    void tokenize(std::string_view piece, std::vector<ModelToken>& out) const override;

private:
    std::vector<double> m_scores;
    std::vector<int32_t> m_terminal;  // trie node → piece id or -1
    U64Map m_edges;                   // (node << 8 | byte) → child node
    int32_t m_fallbackIds[256];
    std::optional<int32_t> m_unkId;
    double m_unkScore = 0;
    bool m_byteFallback;
};

}  // namespace tsumugi::tok::hf
