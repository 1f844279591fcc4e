#include "datastore/quality/ng_words.h"

#include <algorithm>
#include <cctype>
#include <deque>

namespace tsumugi::quality {

namespace {
unsigned char fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c; }
}  // namespace

NgWordMatcher::NgWordMatcher(std::vector<std::string> words) : m_words(std::move(words))
{
    // A trie of the folded words, then breadth-first failure links turned into a full
    // transition table (a DFA), so matching is one table lookup per byte.
    m_nodes.emplace_back();
    std::fill(std::begin(m_nodes[0].next), std::end(m_nodes[0].next), -1);
    for (size_t w = 0; w < m_words.size(); ++w) {
        if (m_words[w].empty()) continue;
        int32_t node = 0;
        for (char ch : m_words[w]) {
            const unsigned char c = fold(static_cast<unsigned char>(ch));
            if (m_nodes[size_t(node)].next[c] < 0) {
                m_nodes[size_t(node)].next[c] = static_cast<int32_t>(m_nodes.size());
                m_nodes.emplace_back();
                std::fill(std::begin(m_nodes.back().next), std::end(m_nodes.back().next), -1);
            }
            node = m_nodes[size_t(node)].next[c];
        }
        if (m_nodes[size_t(node)].output < 0) m_nodes[size_t(node)].output = static_cast<int32_t>(w);
    }
    std::deque<int32_t> queue;
    for (int c = 0; c < 256; ++c) {
        int32_t& child = m_nodes[0].next[c];
        if (child < 0) {
            child = 0;
        } else {
            m_nodes[size_t(child)].fail = 0;
            queue.push_back(child);
        }
    }
    while (!queue.empty()) {
        const int32_t node = queue.front();
        queue.pop_front();
        const int32_t fail = m_nodes[size_t(node)].fail;
        m_nodes[size_t(node)].outputLink =
            m_nodes[size_t(fail)].output >= 0 ? fail : m_nodes[size_t(fail)].outputLink;
        for (int c = 0; c < 256; ++c) {
            const int32_t child = m_nodes[size_t(node)].next[c];
            if (child < 0) {
                m_nodes[size_t(node)].next[c] = m_nodes[size_t(fail)].next[c];
            } else {
                m_nodes[size_t(child)].fail = m_nodes[size_t(fail)].next[c];
                queue.push_back(child);
            }
        }
    }
}

std::vector<NgWordMatch> NgWordMatcher::find(std::string_view text) const
{
    std::vector<NgWordMatch> out;
    if (m_nodes.size() <= 1) return out;
    int32_t state = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        state = m_nodes[size_t(state)].next[fold(static_cast<unsigned char>(text[i]))];
        for (int32_t n = m_nodes[size_t(state)].output >= 0 ? state : m_nodes[size_t(state)].outputLink; n >= 0;
             n = m_nodes[size_t(n)].outputLink) {
            const auto w = static_cast<size_t>(m_nodes[size_t(n)].output);
            const size_t length = m_words[w].size();
            out.push_back({w, {i + 1 - length, i + 1, 0, 0}});
        }
    }
    std::sort(out.begin(), out.end(), [](const NgWordMatch& a, const NgWordMatch& b) {
        return a.span.begin != b.span.begin ? a.span.begin < b.span.begin : a.span.end > b.span.end;
    });
    CodePointCounter cp(text);
    for (auto& m : out) m.span = cp.span(m.span.begin, m.span.end);
    return out;
}

}  // namespace tsumugi::quality
