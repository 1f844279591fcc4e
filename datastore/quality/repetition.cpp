#include "datastore/quality/repetition.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/utf8.h"

namespace tsumugi::quality {

namespace {

uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

// Counts of 64-bit keys in an open-addressing table that is never cleared: a slot belongs
// to the current text only when its stamp matches. Reused across calls on one thread.
class CountTable {
public:
    void reset(size_t expected)
    {
        size_t capacity = 64;
        while (capacity < expected * 2) capacity <<= 1;
        if (capacity > m_keys.size()) {
            m_keys.assign(capacity, 0);
            m_counts.assign(capacity, 0);
            m_stamps.assign(capacity, 0);
        }
        m_mask = capacity - 1;
        if (++m_stamp == 0) {  // wrapped: forget every stamp
            std::fill(m_stamps.begin(), m_stamps.end(), 0);
            m_stamp = 1;
        }
    }
    // The count after adding one occurrence of key.
    uint32_t add(uint64_t key)
    {
        size_t slot = key & m_mask;
        while (true) {
            if (m_stamps[slot] != m_stamp) {
                m_stamps[slot] = m_stamp;
                m_keys[slot] = key;
                m_counts[slot] = 1;
                return 1;
            }
            if (m_keys[slot] == key) return ++m_counts[slot];
            slot = (slot + 1) & m_mask;
        }
    }

private:
    std::vector<uint64_t> m_keys;
    std::vector<uint32_t> m_counts;
    std::vector<uint32_t> m_stamps;
    size_t m_mask = 0;
    uint32_t m_stamp = 0;
};

bool isSentenceEnd(char32_t cp)
{
    return cp == U'。' || cp == U'．' || cp == U'！' || cp == U'？' || cp == U'!' || cp == U'?';
}

struct Duplicates {
    size_t items = 0, dupItems = 0, chars = 0, dupChars = 0;
    std::unordered_map<std::string_view, int> seen;
    void add(std::string_view item, size_t length)
    {
        ++items;
        chars += length;
        if (seen[item]++ > 0) {
            ++dupItems;
            dupChars += length;
        }
    }
};

bool blank(std::string_view line)
{
    for (size_t pos = 0; pos < line.size();)
        if (!utf8::isWhitespace(utf8::next(line, pos))) return false;
    return true;
}

}  // namespace

RepetitionStats measureRepetition(std::string_view text)
{
    RepetitionStats r;
    thread_local std::vector<char32_t> cps;
    thread_local CountTable table;
    cps.clear();

    // Lines and sentences.
    Duplicates lines, sentences;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!blank(line)) {
            lines.add(line, utf8::length(line));
            size_t start = 0, at = 0, length = 0;
            bool ended = false;
            while (at < line.size()) {
                const size_t before = at;
                const char32_t cp = utf8::next(line, at);
                if (ended && !isSentenceEnd(cp)) {
                    sentences.add(line.substr(start, before - start), length);
                    start = before, length = 0, ended = false;
                }
                ++length;
                ended = ended || isSentenceEnd(cp);
            }
            const std::string_view rest = line.substr(start);
            if (!rest.empty() && !blank(rest)) sentences.add(rest, length);
        }
        pos = end + 1;
    }
    r.lines = lines.items;
    r.sentences = sentences.items;
    if (lines.items) {
        r.duplicateLineFraction = double(lines.dupItems) / double(lines.items);
        r.duplicateLineCharFraction = lines.chars ? double(lines.dupChars) / double(lines.chars) : 0;
    }
    if (sentences.items) {
        r.duplicateSentenceFraction = double(sentences.dupItems) / double(sentences.items);
        r.duplicateSentenceCharFraction = sentences.chars ? double(sentences.dupChars) / double(sentences.chars) : 0;
    }

    // Character n-grams, n = 2 … 10, in one pass: the hash of the n-gram at i extends the
    // hash of the (n-1)-gram at i by one code point.
    for (size_t p = 0; p < text.size();) cps.push_back(utf8::next(text, p));
    const size_t length = cps.size();
    if (length < 2) return r;
    table.reset(length * (kDupNgramMax - 1));
    std::array<uint32_t, kDupNgramMax + 1> top{}, distinct{}, duplicated{};
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i + 2 <= length; ++i) {
        uint64_t h = cps[i];
        const size_t maxN = std::min<size_t>(kDupNgramMax, length - i);
        for (size_t n = 2; n <= maxN; ++n) {
            h = (h ^ cps[i + n - 1]) * kMul + n;
            const uint32_t count = table.add(mix64(h) | 1);
            if (n <= kTopNgramMax) {
                if (count > top[n]) top[n] = count;
            } else if (n >= kDupNgramMin) {
                distinct[n] += count == 1;
                duplicated[n] += count == 2;
            }
        }
    }
    for (int n = kTopNgramMin; n <= kTopNgramMax; ++n)
        if (length >= size_t(n)) r.topNgramFraction[n] = double(top[n]) / double(length - n + 1);
    for (int n = kDupNgramMin; n <= kDupNgramMax; ++n)
        if (distinct[n]) r.duplicateNgramFraction[n] = double(duplicated[n]) / double(distinct[n]);
    return r;
}

}  // namespace tsumugi::quality
