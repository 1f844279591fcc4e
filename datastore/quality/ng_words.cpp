#include "datastore/quality/ng_words.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>

namespace tsumugi::quality {

namespace {
unsigned char fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c; }
}  // namespace

NgWordMatcher::NgWordMatcher(std::vector<std::string> words) : m_words(std::move(words))
{
    for (const auto& w : m_words)
        for (char ch : w) {
            unsigned char& k = m_class[fold(static_cast<unsigned char>(ch))];
            if (k == 0) k = static_cast<unsigned char>(m_classes++);
        }
    for (int c = 'A'; c <= 'Z'; ++c) m_class[c] = m_class[c + 32];
    for (const auto& w : m_words) {
        if (w.empty()) continue;
        // Every spelling of the first (up to) three bytes: both cases of ASCII letters, any
        // byte past the word's end.
        std::array<std::vector<unsigned char>, 3> options;
        for (size_t k = 0; k < 3; ++k) {
            if (k >= w.size()) {
                for (int b = 0; b < 64; ++b) options[k].push_back(static_cast<unsigned char>(b));
                continue;
            }
            const unsigned char c = fold(static_cast<unsigned char>(w[k]));
            options[k].push_back(c);
            if (c >= 'a' && c <= 'z') options[k].push_back(static_cast<unsigned char>(c - 32));
        }
        for (unsigned char b0 : options[0])
            for (unsigned char b1 : options[1])
                for (unsigned char b2 : options[2]) {
                    const unsigned char bytes[3] = {b0, b1, b2};
                    const uint32_t key = startKey(bytes);
                    m_starts[key >> 6] |= uint64_t(1) << (key & 63);
                }
    }
    // A trie of the folded words, then breadth-first failure links turned into a full
    // transition table (a DFA), so matching is one table lookup per byte.
    auto addNode = [&] {
        m_nodes.emplace_back();
        m_next.resize(m_next.size() + m_classes, -1);
        return static_cast<int32_t>(m_nodes.size() - 1);
    };
    auto next = [&](int32_t node, size_t k) -> int32_t& { return m_next[size_t(node) * m_classes + k]; };
    addNode();
    for (size_t w = 0; w < m_words.size(); ++w) {
        if (m_words[w].empty()) continue;
        int32_t node = 0;
        for (char ch : m_words[w]) {
            const size_t k = m_class[static_cast<unsigned char>(ch)];
            if (next(node, k) < 0) {
                const int32_t child = addNode();
                next(node, k) = child;
            }
            node = next(node, k);
        }
        if (m_nodes[size_t(node)].output < 0) m_nodes[size_t(node)].output = static_cast<int32_t>(w);
    }
    std::deque<int32_t> queue;
    for (size_t k = 0; k < m_classes; ++k) {
        int32_t& child = next(0, k);
        if (child <= 0) {
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
        for (size_t k = 0; k < m_classes; ++k) {
            const int32_t child = next(node, k);
            if (child < 0) {
                next(node, k) = next(fail, k);
            } else {
                m_nodes[size_t(child)].fail = next(fail, k);
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
        // Most bytes of most texts lead nowhere: at the root, skip bytes no word holds.
        if (state == 0) {
            const auto* s = reinterpret_cast<const unsigned char*>(text.data());
            while (i + 2 < text.size()) {
                const uint32_t key = startKey(s + i);
                if (m_starts[key >> 6] >> (key & 63) & 1) break;
                ++i;
            }
        }
        state = m_next[size_t(state) * m_classes + m_class[static_cast<unsigned char>(text[i])]];
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
