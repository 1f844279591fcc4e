// Spans of text that a check points at, in bytes (for C++ and SQLite) and in code points
// (for a UI that counts characters, e.g. Qt after converting to UTF-16 code points).
#pragma once

#include <cstddef>
#include <string_view>

namespace tsumugi::quality {

struct Span {
    size_t begin = 0;  // bytes, [begin, end)
    size_t end = 0;
    size_t cpBegin = 0;  // code points, [cpBegin, cpEnd)
    size_t cpEnd = 0;
    bool operator==(const Span&) const = default;
};

// Turns byte offsets into code-point offsets. Queries in increasing order cost O(distance);
// a query behind the last one starts again from the beginning.
class CodePointCounter {
public:
    explicit CodePointCounter(std::string_view text) : m_text(text) {}
    size_t at(size_t byte);
    // A span with both kinds of offsets from byte offsets.
    Span span(size_t begin, size_t end)
    {
        Span s{begin, end, 0, 0};
        s.cpBegin = at(begin);
        s.cpEnd = at(end);
        return s;
    }

private:
    std::string_view m_text;
    size_t m_byte = 0;
    size_t m_cp = 0;
};

inline size_t CodePointCounter::at(size_t byte)
{
    if (byte < m_byte) m_byte = 0, m_cp = 0;
    for (; m_byte < byte && m_byte < m_text.size(); ++m_byte)
        m_cp += (static_cast<unsigned char>(m_text[m_byte]) & 0xC0) != 0x80;
    return m_cp;
}

}  // namespace tsumugi::quality
