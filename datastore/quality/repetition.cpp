#include "datastore/quality/repetition.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/utf8.h"

namespace tsumugi::quality {

namespace {

// Counts of 64-bit keys in an open-addressing table that is never cleared: a slot belongs
// to the current text only when its stamp matches. One 16-byte entry per slot, so a probe
// touches one cache line. Reused across calls on one thread.
class CountTable {
public:
    void reset(size_t expected)
    {
        int bits = 6;
        while ((size_t(1) << bits) < expected * 2) ++bits;
        if ((size_t(1) << bits) > m_entries.size()) m_entries.assign(size_t(1) << bits, Entry{});
        m_shift = 64 - bits;
        m_mask = (size_t(1) << bits) - 1;
        if (++m_stamp == 0) {  // wrapped: forget every stamp
            for (Entry& e : m_entries) e.stamp = 0;
            m_stamp = 1;
        }
    }
    struct Entry {
        uint64_t key = 0;
        uint32_t count = 0;
        uint32_t stamp = 0;
        uint32_t last = 0;  // the position last added under this key (5-grams)
    };
    // The entry after adding one occurrence of key (a well-mixed 64-bit hash).
    Entry& add(uint64_t key)
    {
        size_t slot = size_t((key * 0x9E3779B97F4A7C15ULL) >> m_shift);
        while (true) {
            Entry& e = m_entries[slot];
            if (e.stamp != m_stamp) {
                e = {key, 1, m_stamp, 0};
                return e;
            }
            if (e.key == key) {
                ++e.count;
                return e;
            }
            slot = (slot + 1) & m_mask;
        }
    }

private:
    std::vector<Entry> m_entries;
    int m_shift = 58;
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
    thread_local CountTable counts, grams;
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

    // Character n-grams. n = 2 … 4: counts in a hash table. n = 5 … 10: the 5-gram table
    // links each position to the previous one with the same 5-gram; walking that chain
    // gives, per position, the longest earlier match (LPF, capped at 10) and the longest
    // later match (LNF). The n-gram at i occurs for the first time iff LPF[i] < n, and it
    // occurs again iff also LNF[i] ≥ n. Exact while no 5-gram occurs more than kMaxChain
    // times before a position (text that repetitive fails the 5-gram rule anyway).
    for (size_t p = 0; p < text.size();) cps.push_back(utf8::next(text, p));
    const size_t length = cps.size();
    if (length < 2) return r;
    counts.reset(length * 3);
    std::array<uint32_t, kDupNgramMax + 1> top{}, distinct{}, duplicated{};
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i + 2 <= length; ++i) {
        uint64_t h = cps[i];
        const size_t maxN = std::min<size_t>(kTopNgramMax, length - i);
        for (size_t n = 2; n <= maxN; ++n) {
            h = (h ^ cps[i + n - 1]) * kMul + n;  // n in the hash: a 2-gram never equals a 3-gram
            const uint32_t count = counts.add(h ^ (h >> 29)).count;
            if (count > top[n]) top[n] = count;
        }
    }
    for (int n = kTopNgramMin; n <= kTopNgramMax; ++n)
        if (length >= size_t(n)) r.topNgramFraction[n] = double(top[n]) / double(length - n + 1);
    if (length < size_t(kDupNgramMin)) return r;

    constexpr size_t kMaxChain = 64;
    const size_t positions = length - kDupNgramMin + 1;
    thread_local std::vector<int32_t> previous;
    thread_local std::vector<uint8_t> lpf, lnf;
    previous.assign(positions, -1);
    lpf.assign(positions, 0);
    lnf.assign(positions, 0);
    grams.reset(positions);
    for (size_t j = 0; j < positions; ++j) {
        uint64_t h = 5;
        for (size_t k = 0; k < size_t(kDupNgramMin); ++k) h = (h ^ cps[j + k]) * kMul;
        auto& e = grams.add(h ^ (h >> 29));
        if (e.count > 1) previous[j] = int32_t(e.last);
        e.last = uint32_t(j);
        const size_t longest = std::min<size_t>(kDupNgramMax, length - j);
        size_t steps = 0;
        for (int32_t k = previous[j]; k >= 0 && steps < kMaxChain; k = previous[size_t(k)], ++steps) {
            size_t l = kDupNgramMin;
            while (l < longest && cps[size_t(k) + l] == cps[j + l]) ++l;
            if (l > lpf[j]) lpf[j] = uint8_t(l);
            if (l > lnf[size_t(k)]) lnf[size_t(k)] = uint8_t(l);
            if (l == longest) break;
        }
    }
    for (size_t i = 0; i < positions; ++i)
        for (size_t n = kDupNgramMin; n <= kDupNgramMax && i + n <= length; ++n)
            if (lpf[i] < n) {
                ++distinct[n];
                duplicated[n] += lnf[i] >= n;
            }
    for (int n = kDupNgramMin; n <= kDupNgramMax; ++n)
        if (distinct[n]) r.duplicateNgramFraction[n] = double(duplicated[n]) / double(distinct[n]);
    return r;
}

}  // namespace tsumugi::quality
