#include "datastore/quality/repetition.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/utf8.h"

namespace tsumugi::quality {

namespace {

constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;

// Counts of 64-bit keys in an open-addressing table that is never cleared: a slot belongs
// to the current keys only when its stamp matches, so a reset costs nothing. One 16-byte
// entry per slot. Reused across calls on one thread.
class CountTable {
public:
    void reset(size_t expected, bool withLast = false)
    {
        int bits = 6;
        while ((size_t(1) << bits) < expected * 2) ++bits;
        if ((size_t(1) << bits) > m_entries.size()) m_entries.assign(size_t(1) << bits, Entry{});
        if (withLast && m_last.size() < m_entries.size()) m_last.resize(m_entries.size());
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
    };
    // Adds one occurrence of key (a well-mixed 64-bit hash) and returns its slot; slots
    // stay put until the next reset. Whether the key is new is a coin toss in text, so this
    // computes instead of branching on it (a stale slot counts 0; min(key difference, count)
    // is 0 for a free slot or the key's own): the one branch left is taken only past other
    // keys' slots.
    uint32_t add(uint64_t key)
    {
        size_t slot = size_t((key * kMul) >> m_shift);
        uint32_t count;
        while (true) {
            const Entry& e = m_entries[slot];
            count = e.count & (0U - uint32_t(e.stamp == m_stamp));
            if (std::min<uint64_t>(e.key ^ key, count) == 0) break;
            slot = (slot + 1) & m_mask;
        }
        m_entries[slot] = {key, count + 1, m_stamp};
        return uint32_t(slot);
    }
    const Entry& operator[](uint32_t slot) const { return m_entries[slot]; }
    // The position last added under the key in this slot (5-grams; reset withLast), stale
    // until set.
    uint32_t& last(uint32_t slot) { return m_last[slot]; }

private:
    std::vector<Entry> m_entries;
    std::vector<uint32_t> m_last;
    int m_shift = 58;
    size_t m_mask = 0;
    uint32_t m_stamp = 0;
};

bool isSentenceEnd(char32_t cp)
{
    return cp == U'。' || cp == U'．' || cp == U'！' || cp == U'？' || cp == U'!' || cp == U'?';
}

// Ranges of code points of the current text (lines, sentences) seen so far: open
// addressing by hash, equal hashes confirmed by comparing the code points. Stamped and
// reused like CountTable.
class RangeSet {
public:
    void reset(size_t expected, const char32_t* cps)
    {
        int bits = 4;
        while ((size_t(1) << bits) < expected * 2) ++bits;
        if ((size_t(1) << bits) > m_entries.size()) m_entries.assign(size_t(1) << bits, Entry{});
        m_shift = 64 - bits;
        m_mask = (size_t(1) << bits) - 1;
        m_cps = cps;
        if (++m_stamp == 0) {
            for (Entry& e : m_entries) e.stamp = 0;
            m_stamp = 1;
        }
    }
    // Adds cps[begin, begin + length); true when an equal range was added before.
    bool add(uint64_t hash, size_t begin, size_t length)
    {
        size_t slot = size_t((hash * kMul) >> m_shift);
        while (true) {
            Entry& e = m_entries[slot];
            if (e.stamp != m_stamp) {
                e = {hash, uint32_t(begin), uint32_t(length), m_stamp};
                return false;
            }
            if (e.hash == hash && e.length == length &&
                std::equal(m_cps + e.begin, m_cps + e.begin + length, m_cps + begin))
                return true;
            slot = (slot + 1) & m_mask;
        }
    }

private:
    struct Entry {
        uint64_t hash = 0;
        uint32_t begin = 0, length = 0, stamp = 0;
    };
    std::vector<Entry> m_entries;
    const char32_t* m_cps = nullptr;
    int m_shift = 60;
    size_t m_mask = 0;
    uint32_t m_stamp = 0;
};

struct RangeDuplicates {
    RangeSet& seen;
    size_t items = 0, dupItems = 0, chars = 0, dupChars = 0;
    void add(uint64_t hash, size_t begin, size_t length)
    {
        ++items;
        chars += length;
        if (seen.add(hash ^ (hash >> 29) ^ length, begin, length)) {
            ++dupItems;
            dupChars += length;
        }
    }
};

// Decodes text into out (grown to text.size() when smaller) and returns the number of code
// points, or nothing when the text is not valid UTF-8 (what utf8::firstInvalid rejects).
std::optional<size_t> decodeValid(std::string_view text, std::vector<char32_t>& out)
{
    if (out.size() < text.size()) out.resize(text.size());
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    char32_t* o = out.data();
    size_t i = 0, k = 0;
    while (i < n) {
        const char32_t c = s[i];
        if (c < 0x80) {
            o[k++] = c;
            ++i;
            continue;
        }
        char32_t cp;
        if ((c & 0xF0) == 0xE0) {  // most Japanese
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return std::nullopt;
            cp = (c & 0x0F) << 12 | char32_t(s[i + 1] & 0x3F) << 6 | char32_t(s[i + 2] & 0x3F);
            if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
            i += 3;
        } else if ((c & 0xE0) == 0xC0) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return std::nullopt;
            cp = (c & 0x1F) << 6 | char32_t(s[i + 1] & 0x3F);
            if (cp < 0x80) return std::nullopt;
            i += 2;
        } else if ((c & 0xF8) == 0xF0) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
                return std::nullopt;
            cp = (c & 0x07) << 18 | char32_t(s[i + 1] & 0x3F) << 12 | char32_t(s[i + 2] & 0x3F) << 6 |
                 char32_t(s[i + 3] & 0x3F);
            if (cp < 0x10000 || cp > 0x10FFFF) return std::nullopt;
            i += 4;
        } else {
            return std::nullopt;
        }
        o[k++] = cp;
    }
    return k;
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

// The line and sentence figures from either counter (Duplicates or RangeDuplicates).
template <class Counter>
void setLineAndSentenceFractions(RepetitionStats& r, const Counter& lines, const Counter& sentences)
{
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
}

}  // namespace


RepetitionStats measureRepetitionReference(std::string_view text)
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
    setLineAndSentenceFractions(r, lines, sentences);

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
            const uint32_t count = counts[counts.add(h ^ (h >> 29))].count;
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
    grams.reset(positions, true);
    for (size_t j = 0; j < positions; ++j) {
        uint64_t h = 5;
        for (size_t k = 0; k < size_t(kDupNgramMin); ++k) h = (h ^ cps[j + k]) * kMul;
        const uint32_t slot = grams.add(h ^ (h >> 29));
        if (grams[slot].count > 1) previous[j] = int32_t(grams.last(slot));
        grams.last(slot) = uint32_t(j);
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

RepetitionStats measureRepetition(std::string_view text)
{
    thread_local std::vector<char32_t> cpsBuffer;
    const std::optional<size_t> decoded = decodeValid(text, cpsBuffer);
    if (!decoded) return measureRepetitionReference(text);
    const char32_t* cps = cpsBuffer.data();
    const size_t length = *decoded;
    RepetitionStats r;

    // Lines and sentences in one pass over the code points. Valid UTF-8: equal bytes are
    // equal code points, and a \n or \r code point is that byte.
    thread_local RangeSet lineSet, sentenceSet;
    lineSet.reset(std::count(cps, cps + length, U'\n') + 1, cps);
    sentenceSet.reset(length, cps);
    RangeDuplicates lines{lineSet}, sentences{sentenceSet};
    constexpr uint64_t kSeed = 0x243F6A8885A308D3ULL;
    for (size_t b = 0; b < length;) {
        size_t e = size_t(std::find(cps + b, cps + length, U'\n') - cps);
        const size_t next = e + 1;
        if (e > b && cps[e - 1] == U'\r') --e;
        uint64_t lineHash = kSeed, sentenceHash = kSeed;
        size_t start = b, inkEnd = 0;  // inkEnd: one past the last non-whitespace code point
        bool ended = false;
        for (size_t k = b; k < e; ++k) {
            const char32_t cp = cps[k];
            const bool end = isSentenceEnd(cp);
            if (ended && !end) {
                sentences.add(sentenceHash, start, k - start);
                start = k, ended = false, sentenceHash = kSeed;
            }
            ended = ended || end;
            lineHash = (lineHash ^ cp) * kMul;
            sentenceHash = (sentenceHash ^ cp) * kMul;
            if (!utf8::isWhitespace(cp)) inkEnd = k + 1;
        }
        if (inkEnd > b) {  // a blank line is no line and holds no sentence
            lines.add(lineHash, b, e - b);
            if (inkEnd > start) sentences.add(sentenceHash, start, e - start);
        }
        b = next;
    }
    setLineAndSentenceFractions(r, lines, sentences);

    // Character n-grams, the same hashes and rules as measureRepetitionReference, counted in
    // rounds: every 2-gram; then an n-gram only where the (n−1)-gram at the same position
    // occurs more than once, since an n-gram that repeats has a prefix that repeats. The
    // others occur once, which is all the counts and the 5-gram chains need to know.
    if (length < 2) return r;
    thread_local CountTable counts, grams;
    thread_local std::vector<uint32_t> at, slots;  // positions still in the running, their entries
    thread_local std::vector<uint64_t> hashes;     // and the hash of their n-gram so far
    if (at.size() < length) at.resize(length), slots.resize(length), hashes.resize(length);
    counts.reset(length);  // each round counts in a table of its own size
    std::array<uint32_t, kDupNgramMax + 1> top{};
    size_t running = length - 1;
    for (size_t i = 0; i < running; ++i) {
        const uint64_t h = (uint64_t(cps[i]) ^ cps[i + 1]) * kMul + 2;
        at[i] = uint32_t(i);
        hashes[i] = h;
        slots[i] = counts.add(h ^ (h >> 29));
    }
    for (size_t n = 2;; ++n) {
        // The counts are final now: keep the positions whose n-gram repeats and that have an
        // (n+1)-gram.
        size_t kept = 0;
        for (size_t t = 0; t < running; ++t) {
            const uint32_t count = counts[slots[t]].count;
            top[n] = std::max(top[n], count);
            at[kept] = at[t];
            hashes[kept] = hashes[t];
            kept += (count >= 2) & (at[t] + n < length);
        }
        running = kept;
        if (n == size_t(kTopNgramMax)) break;
        if (length >= n + 1) top[n + 1] = 1;
        counts.reset(running);
        for (size_t t = 0; t < running; ++t) {
            const uint64_t h = (hashes[t] ^ cps[at[t] + n]) * kMul + (n + 1);
            hashes[t] = h;
            slots[t] = counts.add(h ^ (h >> 29));
        }
    }
    for (int n = kTopNgramMin; n <= kTopNgramMax; ++n)
        if (length >= size_t(n)) r.topNgramFraction[n] = double(top[n]) / double(length - n + 1);
    if (length < size_t(kDupNgramMin)) return r;

    // n = 5 … 10 as in the reference, over the positions whose 4-gram repeats (in order).
    constexpr size_t kMaxChain = 64;
    const size_t positions = length - kDupNgramMin + 1;
    thread_local std::vector<int32_t> previous;
    thread_local std::vector<uint8_t> lpf, lnf;
    if (previous.size() < positions) previous.resize(positions);
    lpf.assign(positions, 0);
    lnf.assign(positions, 0);
    grams.reset(running, true);
    for (size_t t = 0; t < running; ++t) {
        const size_t j = at[t];
        uint64_t h = 5;
        for (size_t k = 0; k < size_t(kDupNgramMin); ++k) h = (h ^ cps[j + k]) * kMul;
        const uint32_t slot = grams.add(h ^ (h >> 29));
        previous[j] = grams[slot].count > 1 ? int32_t(grams.last(slot)) : -1;
        grams.last(slot) = uint32_t(j);
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
    // The n-gram at i is new unless LPF[i] ≥ n (then i + n ≤ length); every position outside
    // the chains is new and never repeated.
    std::array<uint32_t, kDupNgramMax + 1> distinct{}, duplicated{};
    for (size_t n = kDupNgramMin; n <= kDupNgramMax && n <= length; ++n) distinct[n] = uint32_t(length - n + 1);
    for (size_t t = 0; t < running; ++t)
        for (size_t n = kDupNgramMin; n <= kDupNgramMax; ++n) {
            distinct[n] -= lpf[at[t]] >= n;
            duplicated[n] += lpf[at[t]] < n && lnf[at[t]] >= n;
        }
    for (int n = kDupNgramMin; n <= kDupNgramMax; ++n)
        if (distinct[n]) r.duplicateNgramFraction[n] = double(duplicated[n]) / double(distinct[n]);
    return r;
}

}  // namespace tsumugi::quality
