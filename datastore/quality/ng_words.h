// A workspace's NG-word list (words annotators must not write or that mark an item for
// review), matched with an Aho–Corasick automaton over UTF-8 bytes: one pass over the text
// whatever the number of words. ASCII letters match without regard to case; Japanese
// matches as written. UTF-8 is self-synchronizing, so a match never starts inside a
// character.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datastore/quality/spans.h"

namespace tsumugi::quality {

struct NgWordMatch {
    size_t word = 0;  // index into the list given to the matcher
    Span span;
    bool operator==(const NgWordMatch&) const = default;
};

class NgWordMatcher {
public:
    NgWordMatcher() = default;
    // Empty words are ignored; duplicates report the first.
    explicit NgWordMatcher(std::vector<std::string> words);

    // Every occurrence (overlapping ones too), ordered by start, then longest first.
    std::vector<NgWordMatch> find(std::string_view text) const;
    bool empty() const { return m_words.empty(); }
    const std::vector<std::string>& words() const { return m_words; }

private:
    struct Node {
        int32_t fail = 0;
        int32_t output = -1;      // word ending here, or -1
        int32_t outputLink = -1;  // nearest node on the fail chain with an output
    };
    std::vector<std::string> m_words;
    std::vector<Node> m_nodes;
    // Bytes that occur in no word share class 0, so each node's row of transitions has one
    // entry per class, not 256: the whole table stays in cache.
    unsigned char m_class[256] = {};
    size_t m_classes = 1;
    std::vector<int32_t> m_next;  // [node, class]
    // Where a word can start, by the first three bytes as written (either case), squeezed
    // into 16 bits as UTF-8 packs one three-byte character: (b0 & 0x0F, b1 & 0x3F, b2 & 0x3F).
    // A word shorter than three bytes marks every key that begins with it. At the root,
    // matching skips ahead to the next position whose key is marked.
    static uint32_t startKey(const unsigned char* b)
    {
        return uint32_t(b[0] & 0x0F) << 12 | uint32_t(b[1] & 0x3F) << 6 | (b[2] & 0x3F);
    }
    std::vector<uint64_t> m_starts = std::vector<uint64_t>(65536 / 64, 0);
};

}  // namespace tsumugi::quality
