#include "datastore/quality/near_duplicates.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

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

uint64_t hashBytes(std::string_view s)
{
    // FNV-1a over 8-byte words, finished with mix64: fast and well mixed for a text hash.
    uint64_t h = 0xcbf29ce484222325ULL ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h = mix64(h);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, s.data() + i, s.size() - i);
    return mix64((h ^ tail) * 0x100000001b3ULL);
}

// Calls fn(hash) for each character n-gram (repeats included).
template <typename Fn>
void forEachGram(std::string_view text, size_t n, Fn&& fn)
{
    thread_local std::vector<char32_t> cps;
    cps.clear();
    for (size_t pos = 0; pos < text.size();) cps.push_back(utf8::next(text, pos));
    if (cps.empty()) return;
    const size_t grams = cps.size() >= n ? cps.size() - n + 1 : 1;
    const size_t width = std::min(n, cps.size());
    for (size_t i = 0; i < grams; ++i) {
        uint64_t h = width;
        for (size_t k = 0; k < width; ++k) h = (h ^ cps[i + k]) * 0x9E3779B97F4A7C15ULL;
        fn(mix64(h));
    }
}

}  // namespace

double candidateProbability(double s, BandsRows br)
{
    return 1.0 - std::pow(1.0 - std::pow(s, double(br.rows)), double(br.bands));
}

BandsRows chooseBandsRows(double threshold, size_t maxHashes, double minProbability)
{
    BandsRows best{std::max<size_t>(1, maxHashes), 1};
    for (size_t r = 1; r <= maxHashes; ++r)
        for (size_t b = 1; b * r <= maxHashes; ++b)
            if (candidateProbability(threshold, {b, r}) >= minProbability) {
                if (r > best.rows) best = {b, r};
                break;  // the smallest b for this r
            }
    return best;
}

std::vector<uint64_t> ngramSet(std::string_view text, size_t n)
{
    std::vector<uint64_t> set;
    forEachGram(text, n, [&](uint64_t h) { set.push_back(h); });
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    return set;
}

double jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b)
{
    if (a.empty() && b.empty()) return 1.0;
    size_t i = 0, j = 0, common = 0;
    while (i < a.size() && j < b.size()) {
        if (a[i] < b[j]) ++i;
        else if (b[j] < a[i]) ++j;
        else ++common, ++i, ++j;
    }
    return double(common) / double(a.size() + b.size() - common);
}

double jaccard(std::string_view a, std::string_view b, size_t n) { return jaccard(ngramSet(a, n), ngramSet(b, n)); }

NearDuplicateFinder::NearDuplicateFinder(NearDuplicateParams params) : m_params(params)
{
    if (m_params.bandsRows.bands == 0 || m_params.bandsRows.rows == 0)
        m_params.bandsRows = chooseBandsRows(m_params.threshold);
    const size_t k = m_params.bandsRows.bands * m_params.bandsRows.rows;
    std::mt19937_64 rng(m_params.seed);
    for (size_t i = 0; i < k; ++i) {
        m_a.push_back(rng() | 1);
        m_b.push_back(rng());
    }
}

uint32_t NearDuplicateFinder::add(std::string_view text, uint32_t group)
{
    const size_t k = m_a.size();
    thread_local std::vector<uint32_t> signature;  // [K]
    signature.assign(k, std::numeric_limits<uint32_t>::max());
    const uint64_t* a = m_a.data();
    const uint64_t* b = m_b.data();
    forEachGram(text, m_params.ngram, [&](uint64_t x) {
        uint32_t* sig = signature.data();
        for (size_t i = 0; i < k; ++i) {
            const auto h = static_cast<uint32_t>((a[i] * x + b[i]) >> 32);
            sig[i] = h < sig[i] ? h : sig[i];
        }
    });
    const size_t rows = m_params.bandsRows.rows;
    for (size_t band = 0; band < m_params.bandsRows.bands; ++band) {
        uint64_t h = band + 1;
        for (size_t r = 0; r < rows; ++r) h = mix64(h ^ signature[band * rows + r]);
        m_bandKeys.push_back(static_cast<uint32_t>(h >> 32));
    }
    m_textHash.push_back(hashBytes(text));
    m_group.push_back(group);
    return static_cast<uint32_t>(m_textHash.size() - 1);
}

std::vector<std::pair<uint32_t, uint32_t>> NearDuplicateFinder::candidates(bool acrossGroupsOnly) const
{
    const size_t n = size();
    const size_t bands = m_params.bandsRows.bands;
    std::vector<uint64_t> pairs;
    std::vector<uint64_t> keyed(n);  // (band key << 32) | document
    auto emit = [&](uint32_t x, uint32_t y) {
        if (x > y) std::swap(x, y);
        if (m_textHash[x] == m_textHash[y]) return;  // exact duplicates are found apart
        if (acrossGroupsOnly && m_group[x] == m_group[y]) return;
        pairs.push_back((uint64_t(x) << 32) | y);
    };
    for (size_t band = 0; band < bands; ++band) {
        for (size_t d = 0; d < n; ++d) keyed[d] = (uint64_t(m_bandKeys[d * bands + band]) << 32) | d;
        std::sort(keyed.begin(), keyed.end());
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && (keyed[j] >> 32) == (keyed[i] >> 32)) ++j;
            const size_t m = j - i;
            if (m > 1) {
                if (m <= m_params.maxBucketPairs) {
                    for (size_t x = i; x < j; ++x)
                        for (size_t y = x + 1; y < j; ++y) emit(uint32_t(keyed[x]), uint32_t(keyed[y]));
                } else {
                    for (size_t x = i + 1; x < j; ++x) {
                        emit(uint32_t(keyed[i]), uint32_t(keyed[x]));
                        if (x > i + 1) emit(uint32_t(keyed[x - 1]), uint32_t(keyed[x]));
                    }
                }
            }
            i = j;
        }
    }
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    std::vector<std::pair<uint32_t, uint32_t>> out;
    out.reserve(pairs.size());
    for (uint64_t p : pairs) out.emplace_back(uint32_t(p >> 32), uint32_t(p));
    return out;
}

NearDuplicateResult NearDuplicateFinder::run(const std::function<std::string_view(uint32_t)>& text,
                                             bool acrossGroupsOnly) const
{
    NearDuplicateResult result;
    const size_t n = size();
    // Exact duplicates: equal hashes, confirmed by the texts; each copy joined to the first.
    std::vector<uint64_t> byHash(n);
    for (size_t d = 0; d < n; ++d) byHash[d] = d;
    std::sort(byHash.begin(), byHash.end(), [&](uint64_t x, uint64_t y) {
        return m_textHash[x] != m_textHash[y] ? m_textHash[x] < m_textHash[y] : x < y;
    });
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && m_textHash[byHash[j]] == m_textHash[byHash[i]]) ++j;
        // A star, not every pair: a thousand copies of one text make 999 pairs, not 499,500.
        const auto first = uint32_t(byHash[i]);
        int64_t firstOther = -1;  // the first copy from another group than `first`
        for (size_t x = i + 1; x < j; ++x) {
            const auto b = uint32_t(byHash[x]);
            if (firstOther < 0 && m_group[b] != m_group[first]) firstOther = b;
            uint32_t a = first;
            if (acrossGroupsOnly && m_group[b] == m_group[first]) {
                if (firstOther < 0) continue;
                a = uint32_t(firstOther);
            }
            if (text(a) == text(b)) result.pairs.push_back({std::min(a, b), std::max(a, b), 1.0, true});
        }
        i = j;
    }
    // Near duplicates: verify each candidate with the exact Jaccard similarity.
    const auto candidates = this->candidates(acrossGroupsOnly);
    result.candidates = candidates.size();
    uint32_t cachedId = std::numeric_limits<uint32_t>::max();
    std::vector<uint64_t> cached;
    for (const auto& [a, b] : candidates) {
        if (a != cachedId) cached = ngramSet(text(a), m_params.ngram), cachedId = a;
        const double s = jaccard(cached, ngramSet(text(b), m_params.ngram));
        if (s >= m_params.threshold) result.pairs.push_back({a, b, s, false});
    }
    std::sort(result.pairs.begin(), result.pairs.end(),
              [](const SimilarPair& x, const SimilarPair& y) { return std::pair(x.a, x.b) < std::pair(y.a, y.b); });
    std::vector<std::pair<uint32_t, uint32_t>> edges;
    for (const auto& p : result.pairs) edges.emplace_back(p.a, p.b);
    result.clusters = clustersOf(n, edges);
    return result;
}

std::vector<std::vector<uint32_t>> clustersOf(size_t n, const std::vector<std::pair<uint32_t, uint32_t>>& pairs)
{
    std::vector<uint32_t> parent(n);
    for (size_t i = 0; i < n; ++i) parent[i] = uint32_t(i);
    auto find = [&](uint32_t x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
    };
    for (const auto& [a, b] : pairs) {
        const uint32_t ra = find(a), rb = find(b);
        if (ra != rb) parent[std::max(ra, rb)] = std::min(ra, rb);  // the smallest index is the root
    }
    std::vector<std::vector<uint32_t>> byRoot;
    std::vector<int64_t> slot(n, -1);
    std::vector<size_t> touched;
    for (const auto& [a, b] : pairs) touched.push_back(a), touched.push_back(b);
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (size_t x : touched) {
        const uint32_t root = find(uint32_t(x));
        if (slot[root] < 0) slot[root] = int64_t(byRoot.size()), byRoot.emplace_back();
        byRoot[size_t(slot[root])].push_back(uint32_t(x));
    }
    std::vector<std::vector<uint32_t>> out;
    for (auto& c : byRoot)
        if (c.size() > 1) out.push_back(std::move(c));
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.front() < y.front(); });
    return out;
}

}  // namespace tsumugi::quality
