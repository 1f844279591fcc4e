// BPE and Unigram as the Rust `tokenizers` crate computes them (tokenizers/src/models/bpe/
// word.rs merge_all and models/unigram/model.rs encode_optimized), on ids rather than strings.
// n = bytes in the pre-token.
#include "tokenizer/hf_models.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <limits>
#include <stdexcept>

#include "core/error.h"
#include "tokenizer/hf_pretokenize.h"

namespace tsumugi::tok::hf {

void U64Map::reserve(size_t n)
{
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    if (cap <= m_keys.size()) return;
    std::vector<uint64_t> keys = std::move(m_keys), values = std::move(m_values);
    m_keys.assign(cap, kEmpty);
    m_values.assign(cap, 0);
    m_mask = cap - 1;
    m_shift = 64 - __builtin_ctzll(cap);
    m_size = 0;
    for (size_t i = 0; i < keys.size(); ++i)
        if (keys[i] != kEmpty) insert(keys[i], values[i]);
}

void U64Map::grow()
{
    reserve(std::max<size_t>(8, m_size * 2));
}

void U64Map::insert(uint64_t key, uint64_t value)
{
    if (key == kEmpty) return;  // never a real key: ids and bytes stay far below
    if ((m_size + 1) * 2 > m_keys.size()) grow();
    for (size_t i = slot(key);; i = (i + 1) & m_mask) {
        if (m_keys[i] == kEmpty) {
            m_keys[i] = key;
            m_values[i] = value;
            ++m_size;
            return;
        }
        if (m_keys[i] == key) {
            m_values[i] = value;
            return;
        }
    }
}

namespace {
std::string byteTokenName(unsigned b)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    return buf;
}

uint64_t pairKey(int32_t a, int32_t b)
{
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}
}  // namespace

// ---------------------------------------------------------------------------------------- BPE

BpeModel::BpeModel(const BpeConfig& c)
    : m_unkId(c.unkId),
      m_byteLevel(c.byteLevel),
      m_byteFallback(c.byteFallback),
      m_fuseUnk(c.fuseUnk),
      m_ignoreMerges(c.ignoreMerges)
{
    m_ids.reserve(c.vocab.size());
    for (const auto& [key, id] : c.vocab) {
        m_ids[key] = id;
        if (!m_byteLevel && !key.empty()) {
            char32_t cp;
            if (decodeUtf8(key, 0, cp) == key.size()) m_charIds.insert(cp, uint32_t(id));
        }
    }
    for (unsigned b = 0; b < 256; ++b) {
        const auto it = m_ids.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
        m_byteIds[b] = m_byteLevel && it != m_ids.end() ? it->second : -1;
        const auto fb = m_ids.find(byteTokenName(b));
        m_fallbackIds[b] = fb != m_ids.end() ? fb->second : -1;
    }
    m_merges.reserve(c.merges.size());
    std::string joined;
    for (size_t rank = 0; rank < c.merges.size(); ++rank) {
        const auto& [a, b] = c.merges[rank];
        const auto ia = m_ids.find(a), ib = m_ids.find(b);
        joined.assign(a).append(b);
        const auto iab = m_ids.find(joined);
        if (ia == m_ids.end() || ib == m_ids.end() || iab == m_ids.end())
            throw std::invalid_argument("model.merges[" + std::to_string(rank) + "]: '" + a + " " + b +
                                        "' names a token that is not in model.vocab");
        m_merges.insert(pairKey(ia->second, ib->second), (uint64_t(rank) << 32) | uint32_t(iab->second));
    }
}

void BpeModel::emitUnknown(std::string_view piece, const Symbol& s, std::vector<ModelToken>& out) const
{
    if (m_byteFallback) {
        bool all = true;
        for (uint32_t k = s.begin; k < s.end; ++k) all = all && m_fallbackIds[uint8_t(piece[k])] >= 0;
        if (all) {
            // Each byte token keeps the range of the whole character it came from.
            for (uint32_t k = s.begin; k < s.end; ++k)
                out.push_back({m_fallbackIds[uint8_t(piece[k])], s.begin, s.end});
            return;
        }
    }
    if (!m_unkId) return;  // no unk token: `tokenizers` drops the character
    if (m_fuseUnk && !out.empty() && out.back().id == *m_unkId && out.back().end == s.begin) {
        out.back().end = s.end;
        return;
    }
    out.push_back({*m_unkId, s.begin, s.end});
}

void BpeModel::tokenize(std::string_view piece, std::vector<ModelToken>& out) const
{
    if (piece.empty()) return;
    const auto n = static_cast<uint32_t>(piece.size());
    if (m_ignoreMerges) {
        if (const auto it = m_ids.find(piece); it != m_ids.end()) {
            out.push_back({it->second, 0, n});
            return;
        }
    }
    thread_local std::vector<Symbol> sym;
    sym.clear();
    if (m_byteLevel) {
        for (uint32_t i = 0; i < n; ++i)
            sym.push_back({m_byteIds[uint8_t(piece[i])], int32_t(i) - 1, int32_t(i) + 1, i, i + 1});
    } else {
        for (uint32_t i = 0; i < n;) {
            char32_t cp;
            const auto len = static_cast<uint32_t>(decodeUtf8(piece, i, cp));
            const uint64_t* id = cp <= 0x10FFFF ? m_charIds.find(cp) : nullptr;
            const auto k = int32_t(sym.size());
            sym.push_back({id ? int32_t(*id) : -1, k - 1, k + 1, i, i + len});
            i += len;
        }
    }
    sym.back().next = -1;

    // Lowest rank first; among equal ranks the leftmost (as merge_all's heap orders them).
    struct Candidate {
        uint32_t rank;
        int32_t pos;
        int32_t merged;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    thread_local std::vector<Candidate> heap;
    heap.clear();
    const auto later = std::greater<>();
    auto consider = [&](int32_t pos) {
        const Symbol& l = sym[pos];
        if (l.next < 0 || l.id < 0 || sym[l.next].id < 0) return;
        if (const uint64_t* m = m_merges.find(pairKey(l.id, sym[l.next].id))) {
            heap.push_back({uint32_t(*m >> 32), pos, int32_t(uint32_t(*m))});
            std::push_heap(heap.begin(), heap.end(), later);
        }
    };
    for (int32_t i = 0; i + 1 < int32_t(sym.size()); ++i) consider(i);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const Candidate top = heap.back();
        heap.pop_back();
        Symbol& l = sym[top.pos];
        if (l.end == l.begin || l.next < 0) continue;  // merged away, or nothing to its right
        Symbol& r = sym[l.next];
        const uint64_t* m = l.id >= 0 && r.id >= 0 ? m_merges.find(pairKey(l.id, r.id)) : nullptr;
        if (!m || int32_t(uint32_t(*m)) != top.merged || uint32_t(*m >> 32) != top.rank) continue;  // stale
        l.id = top.merged;
        l.end = r.end;
        l.next = r.next;
        r.begin = r.end;  // marks r as merged away
        if (l.next >= 0) sym[l.next].prev = top.pos;
        if (l.prev >= 0) consider(l.prev);
        consider(top.pos);
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        const Symbol& s = sym[i];
        if (s.id >= 0)
            out.push_back({s.id, s.begin, s.end});
        else
            emitUnknown(piece, s, out);
    }
}

// ------------------------------------------------------------------------------------ Unigram

UnigramModel::UnigramModel(const UnigramConfig& c) : m_unkId(c.unkId), m_byteFallback(c.byteFallback)
{
    if (c.pieces.empty()) throw std::invalid_argument("model.vocab is empty");
    if (m_unkId && (*m_unkId < 0 || size_t(*m_unkId) >= c.pieces.size()))
        throw std::invalid_argument("model.unk_id " + std::to_string(*m_unkId) + " is outside model.vocab");
    double minScore = std::numeric_limits<double>::infinity();
    m_terminal.push_back(-1);
    m_edges.reserve(c.pieces.size() * 4);
    for (size_t id = 0; id < c.pieces.size(); ++id) {
        const auto& [piece, score] = c.pieces[id];
        m_scores.push_back(score);
        minScore = std::min(minScore, score);
        uint64_t node = 0;
        for (unsigned char b : piece) {
            const uint64_t key = (node << 8) | b;
            if (const uint64_t* child = m_edges.find(key)) {
                node = *child;
            } else {
                m_terminal.push_back(-1);
                const uint64_t fresh = m_terminal.size() - 1;
                m_edges.insert(key, fresh);
                node = fresh;
            }
        }
        if (node != 0) m_terminal[node] = int32_t(id);  // a repeated piece: the last id, as `tokenizers`
    }
    m_unkScore = minScore - 10.0;
    std::fill(std::begin(m_fallbackIds), std::end(m_fallbackIds), -1);
    for (size_t id = 0; id < c.pieces.size(); ++id) {
        const std::string& p = c.pieces[id].first;
        unsigned b;
        if (p.size() == 6 && p.starts_with("<0x") && p[5] == '>' && std::sscanf(p.c_str() + 3, "%2X", &b) == 1 &&
            byteTokenName(b) == p && m_fallbackIds[b] < 0)
            m_fallbackIds[b] = int32_t(id);
    }
}

void UnigramModel::tokenize(std::string_view piece, std::vector<ModelToken>& out) const
{
    if (piece.empty()) return;
    const size_t n = piece.size();
    struct Best {
        double score;
        int32_t startsAt;  // -1: not reached yet
        int32_t id;        // -1: unk
    };
    thread_local std::vector<Best> best;
    best.assign(n + 1, {0.0, -1, -1});
    best[0].startsAt = 0;
    for (size_t start = 0; start < n;) {
        char32_t cp;
        const size_t charLen = decodeUtf8(piece, start, cp);
        const double base = best[start].score;
        bool hasSingle = false;
        uint64_t node = 0;
        for (size_t k = start; k < n; ++k) {
            const uint64_t* child = m_edges.find((node << 8) | uint8_t(piece[k]));
            if (!child) break;
            node = *child;
            const int32_t id = m_terminal[node];
            if (id < 0) continue;
            const size_t end = k + 1;
            const double candidate = base + m_scores[id];
            if (best[end].startsAt < 0 || candidate > best[end].score) best[end] = {candidate, int32_t(start), id};
            if (end - start == charLen) hasSingle = true;
        }
        if (!hasSingle) {
            const size_t end = start + charLen;
            const double candidate = base + m_unkScore;
            if (best[end].startsAt < 0 || candidate > best[end].score) best[end] = {candidate, int32_t(start), -1};
        }
        start += charLen;
    }
    // Back from the end; then fuse neighbouring unknowns into one, as `tokenizers` does.
    thread_local std::vector<ModelToken> path;
    path.clear();
    for (size_t end = n; end > 0;) {
        const Best& b = best[end];
        path.push_back({b.id, uint32_t(b.startsAt), uint32_t(end)});
        end = size_t(b.startsAt);
    }
    std::reverse(path.begin(), path.end());
    for (size_t i = 0; i < path.size();) {
        if (path[i].id >= 0) {
            out.push_back(path[i++]);
            continue;
        }
        size_t j = i + 1;
        while (j < path.size() && path[j].id < 0) ++j;
        const uint32_t begin = path[i].begin, end = path[j - 1].end;
        i = j;
        bool all = m_byteFallback;
        for (uint32_t k = begin; all && k < end; ++k) all = m_fallbackIds[uint8_t(piece[k])] >= 0;
        if (all) {
            for (uint32_t pos = begin; pos < end;) {  // byte tokens of one character share its range
                char32_t cp;
                const auto len = uint32_t(decodeUtf8(piece, pos, cp));
                for (uint32_t k = pos; k < pos + len; ++k)
                    out.push_back({m_fallbackIds[uint8_t(piece[k])], pos, pos + len});
                pos += len;
            }
        } else if (m_unkId) {
            out.push_back({*m_unkId, begin, end});
        } else {
            throw Error("tokenizer.json: the text has a character that model.vocab lacks and model.unk_id is null");
        }
    }
}

}  // namespace tsumugi::tok::hf
