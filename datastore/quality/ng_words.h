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
        int32_t next[256];
        int32_t fail = 0;
        int32_t output = -1;     // word ending here, or -1
        int32_t outputLink = -1;  // nearest node on the fail chain with an output
    };
    std::vector<std::string> m_words;
    std::vector<Node> m_nodes;
};

}  // namespace tsumugi::quality
