// tokenizer.json: loading (JSON → components, every unsupported one refused by name) and the
// encode/decode pipeline. Text flows as Spans: bytes plus, for each byte, the byte range of
// the original input it came from (identity until a normalizer or Metaspace rewrites it), so
// each token's offsets are read off the span it was cut from.
//
//   input ──cut at added tokens──► sections ──normalizers──► (normalized added tokens)
//         ──pre-tokenizers──► pre-tokens ──model (cached)──► ids + offsets
#include "tokenizer/hf_tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <unicode/unorm2.h>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/hf_models.h"
#include "tokenizer/hf_pretokenize.h"

namespace tsumugi::tok {

namespace {

using nlohmann::json;
using namespace hf;

// ------------------------------------------------------------------------------ text + alignment

struct NormBuf {
    std::string text;
    std::vector<uint32_t> begin, end;  // per byte of text: original byte range it came from
};

struct Span {
    std::string_view text;
    const uint32_t* begin = nullptr;  // nullptr: identity, byte i came from input byte base + i
    const uint32_t* end = nullptr;
    uint32_t base = 0;

    uint32_t ob(size_t i) const { return begin ? begin[i] : base + uint32_t(i); }
    uint32_t oe(size_t i) const { return end ? end[i] : base + uint32_t(i) + 1; }
    // Where an empty piece at byte i sits in the input.
    uint32_t at(size_t i) const
    {
        if (!begin) return base + uint32_t(i);
        return i < text.size() ? begin[i] : (text.empty() ? base : end[text.size() - 1]);
    }
    Span sub(size_t a, size_t b) const
    {
        Span s{text.substr(a, b - a), begin ? begin + a : nullptr, end ? end + a : nullptr, base + uint32_t(a)};
        if (begin) s.base = at(a);
        return s;
    }
    Span view(const NormBuf& buf) const { return {buf.text, buf.begin.data(), buf.end.data(), at(0)}; }
};

void appendAligned(NormBuf& out, std::string_view bytes, uint32_t b, uint32_t e)
{
    out.text.append(bytes);
    out.begin.insert(out.begin.end(), bytes.size(), b);
    out.end.insert(out.end.end(), bytes.size(), e);
}

void appendSpan(NormBuf& out, const Span& s, size_t a, size_t b)
{
    out.text.append(s.text.substr(a, b - a));
    for (size_t i = a; i < b; ++i) {
        out.begin.push_back(s.ob(i));
        out.end.push_back(s.oe(i));
    }
}

size_t charLen(std::string_view text, size_t pos)
{
    char32_t cp;
    return decodeUtf8(text, pos, cp);
}

// Start of the code point that ends just before pos.
size_t prevCharStart(std::string_view text, size_t pos)
{
    size_t p = pos - 1;
    for (size_t k = 0; k < 3 && p > 0 && (uint8_t(text[p]) & 0xC0) == 0x80; ++k) --p;
    return p + charLen(text, p) == pos ? p : pos - 1;
}

bool startsWithWhiteSpace(std::string_view text, size_t pos, size_t& len)
{
    char32_t cp;
    len = decodeUtf8(text, pos, cp);
    return isWhiteSpace(cp);
}

// ------------------------------------------------------------------------------ components

enum class NormKind { Prepend, Replace, Unicode, Strip };
struct NormStep {
    NormKind kind;
    std::string a{}, b{};  // Prepend: a = text; Replace: a = pattern, b = content
    const UNormalizer2* unicode = nullptr;
    bool left = false, right = false;  // Strip
};

enum class PreKind { Split, ByteLevel, Metaspace };
enum class Prepend { Always, First, Never };
struct PreStep {
    PreKind kind;
    SplitPattern pattern = SplitPattern::Llama3;
    bool addPrefixSpace = false, useRegex = false;  // ByteLevel
    std::string replacement{};                      // Metaspace
    Prepend prepend = Prepend::Always;
    bool split = true;
};

enum class DecKind { ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip };
struct DecStep {
    DecKind kind;
    std::string a{}, b{};  // Metaspace: a = replacement; Replace: a = pattern, b = content; Strip: a = content
    Prepend prepend = Prepend::Always;
    size_t start = 0, stop = 0;
};

struct AddedToken {
    int32_t id;
    std::string content;
    bool singleWord, lstrip, rstrip, normalized, special;
};

// Byte trie over added-token contents, for leftmost-longest matching.
class AddedTrie {
public:
    void add(std::string_view content, int32_t index)
    {
        uint64_t node = 0;
        for (unsigned char c : content) {
            const uint64_t key = (node << 8) | c;
            if (const uint64_t* child = m_edges.find(key)) {
                node = *child;
            } else {
                m_terminal.push_back(-1);
                node = m_terminal.size() - 1;
                m_edges.insert(key, node);
            }
        }
        if (node != 0 && m_terminal[node] < 0) m_terminal[node] = index;
        m_first[uint8_t(content[0])] = true;
        m_empty = false;
    }
    bool empty() const { return m_empty; }
    // Longest content starting at pos: (length, index) or length 0.
    std::pair<size_t, int32_t> longest(std::string_view text, size_t pos) const
    {
        if (!m_first[uint8_t(text[pos])]) return {0, -1};
        std::pair<size_t, int32_t> best{0, -1};
        uint64_t node = 0;
        for (size_t k = pos; k < text.size(); ++k) {
            const uint64_t* child = m_edges.find((node << 8) | uint8_t(text[k]));
            if (!child) break;
            node = *child;
            if (m_terminal[node] >= 0) best = {k + 1 - pos, m_terminal[node]};
        }
        return best;
    }

private:
    U64Map m_edges;
    std::vector<int32_t> m_terminal{-1};
    bool m_first[256] = {};
    bool m_empty = true;
};

// ------------------------------------------------------------------------------ the tokenizer

class HfTokenizer final : public Tokenizer {
public:
    Encoding encode(std::string_view text) const override;
    std::string decode(const std::vector<int32_t>& ids, bool skipSpecial) const override;
    int32_t vocabSize() const override { return int32_t(m_tokens.size()); }
    std::optional<int32_t> tokenToId(std::string_view token) const override
    {
        if (const auto it = m_tokenIds.find(token); it != m_tokenIds.end()) return it->second;
        return std::nullopt;
    }
    std::string idToToken(int32_t id) const override
    {
        if (id < 0 || size_t(id) >= m_tokens.size() || !m_hasToken[id])
            throw Error(m_name + ": token id " + std::to_string(id) + " is not in the vocabulary (" +
                        std::to_string(m_tokens.size()) + " ids)");
        return m_tokens[id];
    }
    bool isSpecial(int32_t id) const override { return id >= 0 && size_t(id) < m_special.size() && m_special[id]; }
    std::string describe() const override { return m_description; }
    std::string normalizeText(const std::string& text) const
    {
        std::deque<NormBuf> arena;
        return std::string(normalize(Span{text, nullptr, nullptr, 0}, arena).text);
    }

    // Loading fills these directly (see parseTokenizerJson).
    std::string m_name, m_description;
    std::vector<NormStep> m_normalizers;
    std::vector<PreStep> m_preTokenizers;
    std::vector<DecStep> m_decoders;
    bool m_hasDecoder = false;
    std::unique_ptr<Model> m_model;
    std::vector<AddedToken> m_added;
    AddedTrie m_rawAdded, m_normalizedAdded;
    std::vector<std::string> m_tokens;  // id → token as tokenizer.json writes it
    std::vector<uint8_t> m_hasToken, m_special, m_isAdded;
    StringIdMap m_tokenIds;

private:
    void encodeSection(const Span& section, Encoding& enc, std::deque<NormBuf>& arena) const;
    void encodeNormalized(const Span& text, Encoding& enc, std::deque<NormBuf>& arena) const;
    void preTokenize(const Span& text, std::vector<Span>& pieces, std::deque<NormBuf>& arena) const;
    void runModel(const Span& piece, Encoding& enc) const;
    Span normalize(const Span& in, std::deque<NormBuf>& arena) const;
    void emitAdded(const AddedToken& t, uint32_t b, uint32_t e, Encoding& enc) const
    {
        enc.ids.push_back(t.id);
        enc.offsets.emplace_back(b, e);
    }

    static constexpr size_t kCacheMaxPiece = 256;
    static constexpr size_t kCacheMaxEntries = 1 << 16;  // then cleared: bounded memory
    mutable std::mutex m_cacheMutex;
    mutable std::unordered_map<std::string, std::vector<ModelToken>, StringHash, std::equal_to<>> m_cache;
};

// Cuts `text` at added tokens of `trie`; calls onText(a, b) for the text between and
// onToken(index, a, b) for each match (a, b: byte range in text, lstrip/rstrip included).
template <typename OnText, typename OnToken>
void cutAtAdded(std::string_view text, const AddedTrie& trie, const std::vector<AddedToken>& added, OnText onText,
                OnToken onToken)
{
    size_t sectionStart = 0;
    for (size_t pos = 0; pos < text.size();) {
        const auto [len, index] = trie.longest(text, pos);
        if (len == 0) {
            ++pos;
            continue;
        }
        const AddedToken& t = added[index];
        size_t start = pos, stop = pos + len;
        if (t.singleWord) {
            // A word character right before or after means the token is inside a word.
            auto isWord = [](char32_t c) { return c == '_' || (charClass(c) & (kLetter | kNumber)); };
            char32_t before = ' ', after = ' ';
            if (start > 0) decodeUtf8(text, prevCharStart(text, start), before);
            if (stop < text.size()) decodeUtf8(text, stop, after);
            if (isWord(before) || isWord(after)) {
                ++pos;
                continue;
            }
        }
        if (t.lstrip) {
            while (start > sectionStart) {
                const size_t p = prevCharStart(text, start);
                size_t l;
                if (!startsWithWhiteSpace(text, p, l) || p + l != start) break;
                start = p;
            }
        }
        if (t.rstrip) {
            size_t l;
            while (stop < text.size() && startsWithWhiteSpace(text, stop, l)) stop += l;
        }
        if (start > sectionStart) onText(sectionStart, start);
        onToken(index, start, stop);
        pos = sectionStart = stop;
    }
    if (sectionStart < text.size()) onText(sectionStart, text.size());
}

Encoding HfTokenizer::encode(std::string_view text) const
{
    Encoding enc;
    enc.ids.reserve(text.size() / 3 + 4);
    enc.offsets.reserve(text.size() / 3 + 4);
    std::deque<NormBuf> arena;
    const Span whole{text, nullptr, nullptr, 0};
    cutAtAdded(
        text, m_rawAdded, m_added, [&](size_t a, size_t b) { encodeSection(whole.sub(a, b), enc, arena); },
        [&](int32_t index, size_t a, size_t b) { emitAdded(m_added[index], uint32_t(a), uint32_t(b), enc); });
    return enc;
}

void HfTokenizer::encodeSection(const Span& section, Encoding& enc, std::deque<NormBuf>& arena) const
{
    arena.clear();
    const Span norm = normalize(section, arena);
    if (norm.text.empty()) return;
    if (m_normalizedAdded.empty()) {
        encodeNormalized(norm, enc, arena);
        return;
    }
    cutAtAdded(
        norm.text, m_normalizedAdded, m_added,
        [&](size_t a, size_t b) { encodeNormalized(norm.sub(a, b), enc, arena); },
        [&](int32_t index, size_t a, size_t b) { emitAdded(m_added[index], norm.ob(a), norm.oe(b - 1), enc); });
}

void HfTokenizer::encodeNormalized(const Span& text, Encoding& enc, std::deque<NormBuf>& arena) const
{
    thread_local std::vector<Span> pieces;
    std::vector<Span> local;
    local.swap(pieces);  // re-entrancy safe: keep the buffer's capacity across calls
    local.clear();
    preTokenize(text, local, arena);
    for (const Span& p : local) runModel(p, enc);
    local.swap(pieces);
}

Span HfTokenizer::normalize(const Span& in, std::deque<NormBuf>& arena) const
{
    Span cur = in;
    for (const NormStep& step : m_normalizers) {
        if (cur.text.empty()) break;
        NormBuf& out = arena.emplace_back();
        switch (step.kind) {
            case NormKind::Prepend:
                appendAligned(out, step.a, cur.ob(0), cur.ob(0));
                appendSpan(out, cur, 0, cur.text.size());
                break;
            case NormKind::Replace: {
                size_t pos = 0;
                while (pos < cur.text.size()) {
                    const size_t hit = step.a.empty() ? std::string_view::npos : cur.text.find(step.a, pos);
                    if (hit == std::string_view::npos) break;
                    appendSpan(out, cur, pos, hit);
                    appendAligned(out, step.b, cur.ob(hit), cur.oe(hit + step.a.size() - 1));
                    pos = hit + step.a.size();
                }
                appendSpan(out, cur, pos, cur.text.size());
                break;
            }
            case NormKind::Strip: {
                size_t a = 0, b = cur.text.size(), l;
                if (step.left)
                    while (a < b && startsWithWhiteSpace(cur.text, a, l)) a += l;
                if (step.right)
                    while (b > a && startsWithWhiteSpace(cur.text, prevCharStart(cur.text, b), l) &&
                           prevCharStart(cur.text, b) + l == b)
                        b = prevCharStart(cur.text, b);
                appendSpan(out, cur, a, b);
                break;
            }
            case NormKind::Unicode: {
                // Normalize segment by segment (a segment starts where the normalizer has a boundary),
                // so every output byte maps to the input range of its segment.
                std::vector<UChar> src, dst;
                size_t segStart = 0;
                auto flush = [&](size_t segEnd) {
                    if (segEnd == segStart) return;
                    bool valid = true;
                    src.clear();
                    for (size_t p = segStart; p < segEnd;) {
                        char32_t cp;
                        p += decodeUtf8(cur.text, p, cp);
                        if (cp > 0x10FFFF)
                            valid = false;
                        else if (cp >= 0x10000) {
                            src.push_back(UChar(0xD7C0 + (cp >> 10)));
                            src.push_back(UChar(0xDC00 | (cp & 0x3FF)));
                        } else
                            src.push_back(UChar(cp));
                    }
                    UErrorCode status = U_ZERO_ERROR;
                    int32_t len = 0;
                    if (valid) {
                        dst.resize(src.size() * 4 + 8);
                        len = unorm2_normalize(step.unicode, src.data(), int32_t(src.size()), dst.data(),
                                               int32_t(dst.size()), &status);
                        if (status == U_BUFFER_OVERFLOW_ERROR) {  // a long expansion (NFKD of U+FDFA: 18)
                            status = U_ZERO_ERROR;
                            dst.resize(size_t(len));
                            len = unorm2_normalize(step.unicode, src.data(), int32_t(src.size()), dst.data(),
                                                   int32_t(dst.size()), &status);
                        }
                    }
                    if (!valid || U_FAILURE(status)) {
                        appendSpan(out, cur, segStart, segEnd);
                    } else {
                        std::string utf8;
                        for (int32_t k = 0; k < len; ++k) {
                            char32_t cp = dst[k];
                            if (cp >= 0xD800 && cp < 0xDC00 && k + 1 < len)
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (dst[++k] - 0xDC00);
                            if (cp < 0x80)
                                utf8 += char(cp);
                            else if (cp < 0x800) {
                                utf8 += char(0xC0 | (cp >> 6));
                                utf8 += char(0x80 | (cp & 0x3F));
                            } else if (cp < 0x10000) {
                                utf8 += char(0xE0 | (cp >> 12));
                                utf8 += char(0x80 | ((cp >> 6) & 0x3F));
                                utf8 += char(0x80 | (cp & 0x3F));
                            } else {
                                utf8 += char(0xF0 | (cp >> 18));
                                utf8 += char(0x80 | ((cp >> 12) & 0x3F));
                                utf8 += char(0x80 | ((cp >> 6) & 0x3F));
                                utf8 += char(0x80 | (cp & 0x3F));
                            }
                        }
                        appendAligned(out, utf8, cur.ob(segStart), cur.oe(segEnd - 1));
                    }
                    segStart = segEnd;
                };
                for (size_t p = 0; p < cur.text.size();) {
                    char32_t cp;
                    const size_t l = decodeUtf8(cur.text, p, cp);
                    if (p > segStart && (cp > 0x10FFFF || unorm2_hasBoundaryBefore(step.unicode, UChar32(cp))))
                        flush(p);
                    p += l;
                    if (cp > 0x10FFFF) flush(p);
                }
                flush(cur.text.size());
                break;
            }
        }
        cur = cur.view(out);
    }
    return cur;
}

void HfTokenizer::preTokenize(const Span& text, std::vector<Span>& pieces, std::deque<NormBuf>& arena) const
{
    pieces.push_back(text);
    std::vector<Span> next;
    std::vector<std::pair<uint32_t, uint32_t>> cuts;
    for (const PreStep& step : m_preTokenizers) {
        next.clear();
        for (const Span& p : pieces) {
            if (p.text.empty()) continue;
            switch (step.kind) {
                case PreKind::Split:
                    cuts.clear();
                    splitByPattern(step.pattern, p.text, cuts);
                    for (const auto& [a, b] : cuts) next.push_back(p.sub(a, b));
                    break;
                case PreKind::ByteLevel: {
                    Span q = p;
                    if (step.addPrefixSpace && q.text[0] != ' ') {
                        NormBuf& buf = arena.emplace_back();
                        appendAligned(buf, " ", q.ob(0), q.ob(0));
                        appendSpan(buf, q, 0, q.text.size());
                        q = q.view(buf);
                    }
                    if (!step.useRegex) {
                        next.push_back(q);
                        break;
                    }
                    cuts.clear();
                    splitByPattern(SplitPattern::Gpt2, q.text, cuts);
                    for (const auto& [a, b] : cuts) next.push_back(q.sub(a, b));
                    break;
                }
                case PreKind::Metaspace: {
                    NormBuf& buf = arena.emplace_back();
                    const bool prepend =
                        !p.text.starts_with(step.replacement) &&
                        (step.prepend == Prepend::Always || (step.prepend == Prepend::First && p.ob(0) == 0));
                    if (prepend) appendAligned(buf, step.replacement, p.ob(0), p.ob(0));
                    size_t pos = 0;
                    for (size_t hit; (hit = p.text.find(' ', pos)) != std::string_view::npos; pos = hit + 1) {
                        appendSpan(buf, p, pos, hit);
                        appendAligned(buf, step.replacement, p.ob(hit), p.oe(hit));
                    }
                    appendSpan(buf, p, pos, p.text.size());
                    const Span q = p.view(buf);
                    if (!step.split) {
                        next.push_back(q);
                        break;
                    }
                    // Split with MergedWithNext: each replacement starts a new piece.
                    size_t start = 0;
                    for (size_t hit = q.text.find(step.replacement, 1); hit != std::string_view::npos;
                         hit = q.text.find(step.replacement, hit + step.replacement.size())) {
                        if (hit > start) next.push_back(q.sub(start, hit));
                        start = hit;
                    }
                    next.push_back(q.sub(start, q.text.size()));
                    break;
                }
            }
        }
        pieces.swap(next);
    }
}

void HfTokenizer::runModel(const Span& piece, Encoding& enc) const
{
    if (piece.text.empty()) return;
    auto emit = [&](const std::vector<ModelToken>& toks, size_t from) {
        for (size_t k = from; k < toks.size(); ++k) {
            enc.ids.push_back(toks[k].id);
            enc.offsets.emplace_back(piece.ob(toks[k].begin), piece.oe(toks[k].end - 1));
        }
    };
    const bool cacheable = piece.text.size() <= kCacheMaxPiece;
    if (cacheable) {
        std::lock_guard lock(m_cacheMutex);
        if (const auto it = m_cache.find(piece.text); it != m_cache.end()) {
            emit(it->second, 0);
            return;
        }
    }
    thread_local std::vector<ModelToken> toks;
    toks.clear();
    m_model->tokenize(piece.text, toks);
    emit(toks, 0);
    if (cacheable) {
        std::lock_guard lock(m_cacheMutex);
        if (m_cache.size() >= kCacheMaxEntries) m_cache.clear();
        m_cache.emplace(std::string(piece.text), toks);
    }
}

// ------------------------------------------------------------------------------ decode

std::string byteLevelDecode(const std::string& token)
{
    std::string out;
    for (size_t p = 0; p < token.size();) {
        char32_t cp;
        p += decodeUtf8(token, p, cp);
        const int b = unicodeToByte(cp);
        if (b < 0) return token;  // not byte-level text: keep it as it is
        out += char(b);
    }
    return out;
}

void replaceAll(std::string& s, const std::string& from, const std::string& to)
{
    if (from.empty()) return;
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
        out.append(s, pos, hit - pos);
        out += to;
    }
    out.append(s, pos, std::string::npos);
    s.swap(out);
}

int byteTokenValue(const std::string& t)
{
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    auto hex = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                      : -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids, bool skipSpecial) const
{
    std::vector<std::string> toks;
    std::vector<uint8_t> added;
    toks.reserve(ids.size());
    for (int32_t id : ids) {
        if (id < 0 || size_t(id) >= m_tokens.size() || !m_hasToken[id])
            continue;  // as `tokenizers`: unknown ids vanish
        if (skipSpecial && m_special[id]) continue;
        toks.push_back(m_tokens[id]);
        added.push_back(m_isAdded[id]);
    }
    if (!m_hasDecoder) {
        std::string out;
        for (size_t i = 0; i < toks.size(); ++i) out += (i ? " " : "") + toks[i];
        return out;
    }
    for (const DecStep& step : m_decoders) {
        switch (step.kind) {
            case DecKind::ByteLevel:
                for (size_t i = 0; i < toks.size(); ++i)
                    if (i >= added.size() || !added[i]) toks[i] = byteLevelDecode(toks[i]);
                break;
            case DecKind::Metaspace:
                for (size_t i = 0; i < toks.size(); ++i) {
                    std::string out;
                    for (size_t p = 0; p < toks[i].size();) {
                        if (toks[i].compare(p, step.a.size(), step.a) == 0) {
                            if (!(i == 0 && step.prepend != Prepend::Never)) out += ' ';
                            p += step.a.size();
                        } else {
                            out += toks[i][p++];
                        }
                    }
                    toks[i].swap(out);
                }
                break;
            case DecKind::Replace:
                for (auto& t : toks) replaceAll(t, step.a, step.b);
                break;
            case DecKind::ByteFallback: {
                std::vector<std::string> out;
                std::string bytes;
                size_t count = 0;
                auto flush = [&] {
                    if (count == 0) return;
                    // As `tokenizers`: bytes that are not valid UTF-8 become one U+FFFD per byte token.
                    bool ok = true;
                    for (size_t p = 0; p < bytes.size();) {
                        char32_t cp;
                        p += decodeUtf8(bytes, p, cp);
                        ok = ok && cp <= 0x10FFFF;
                    }
                    std::string piece;
                    if (ok)
                        piece = bytes;
                    else
                        for (size_t k = 0; k < count; ++k) piece += "\xEF\xBF\xBD";
                    out.push_back(piece);
                    bytes.clear();
                    count = 0;
                };
                for (auto& t : toks) {
                    const int b = byteTokenValue(t);
                    if (b >= 0) {
                        bytes += char(b);
                        ++count;
                    } else {
                        flush();
                        out.push_back(std::move(t));
                    }
                }
                flush();
                toks.swap(out);
                added.clear();
                break;
            }
            case DecKind::Fuse: {
                std::string all;
                for (auto& t : toks) all += t;
                toks.assign(1, all);
                added.clear();
                break;
            }
            case DecKind::Strip:
                for (auto& t : toks) {
                    size_t a = 0, b = t.size();
                    for (size_t k = 0; k < step.start && t.compare(a, step.a.size(), step.a) == 0 && a < b; ++k)
                        a += step.a.size();
                    for (size_t k = 0; k < step.stop && b >= a + step.a.size() &&
                                       t.compare(b - step.a.size(), step.a.size(), step.a) == 0;
                         ++k)
                        b -= step.a.size();
                    t = t.substr(a, b - a);
                }
                break;
        }
    }
    std::string out;
    for (const auto& t : toks) out += t;
    return out;
}

// ------------------------------------------------------------------------------ loading

class Loader {
public:
    explicit Loader(std::string name) : m_name(std::move(name)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& what) const
    {
        throw ParseError(m_name, 0, 0, key + (what.starts_with("'") ? " " : ": ") + what);
    }
    const json& member(const json& obj, const std::string& key, const std::string& where) const
    {
        if (!obj.is_object()) fail(where, "expected an object");
        const auto it = obj.find(key);
        if (it == obj.end()) fail(join(where, key), "is missing");
        return *it;
    }
    std::string string(const json& obj, const std::string& key, const std::string& where) const
    {
        const json& v = member(obj, key, where);
        if (!v.is_string()) fail(join(where, key), "expected a string");
        return v.get<std::string>();
    }
    std::string optString(const json& obj, const std::string& key, const std::string& where,
                          const std::string& fallback) const
    {
        const auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return fallback;
        if (!it->is_string()) fail(join(where, key), "expected a string");
        return it->get<std::string>();
    }
    bool optBool(const json& obj, const std::string& key, const std::string& where, bool fallback) const
    {
        const auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return fallback;
        if (!it->is_boolean()) fail(join(where, key), "expected true or false");
        return it->get<bool>();
    }
    int64_t integer(const json& v, const std::string& where) const
    {
        if (!v.is_number_integer()) fail(where, "expected an integer");
        return v.get<int64_t>();
    }
    static std::string join(const std::string& where, const std::string& key)
    {
        return where.empty() ? key : where + "." + key;
    }
    std::string typeOf(const json& obj, const std::string& where) const { return string(obj, "type", where); }
    // Literal text of a {"String": …} pattern; a Regex pattern is refused.
    std::string literalPattern(const json& obj, const std::string& where) const
    {
        const json& pattern = member(obj, "pattern", where);
        if (pattern.is_object() && pattern.contains("String")) return string(pattern, "String", join(where, "pattern"));
        if (pattern.is_object() && pattern.contains("Regex"))
            fail(join(where, "pattern"), "a Regex pattern is not supported here (only {\"String\": …})");
        fail(join(where, "pattern"), "expected {\"String\": …}");
    }

    void normalizer(const json& n, const std::string& where, std::vector<NormStep>& out) const
    {
        if (n.is_null()) return;
        const std::string type = typeOf(n, where);
        if (type == "Sequence") {
            const json& list = member(n, "normalizers", where);
            if (!list.is_array()) fail(join(where, "normalizers"), "expected an array");
            for (size_t i = 0; i < list.size(); ++i)
                normalizer(list[i], join(where, "normalizers") + "[" + std::to_string(i) + "]", out);
        } else if (type == "Prepend") {
            out.push_back({NormKind::Prepend, string(n, "prepend", where), {}});
        } else if (type == "Replace") {
            out.push_back({NormKind::Replace, literalPattern(n, where), string(n, "content", where)});
        } else if (type == "NFC" || type == "NFKC" || type == "NFD" || type == "NFKD") {
            UErrorCode status = U_ZERO_ERROR;
            const UNormalizer2* u = type == "NFC"    ? unorm2_getNFCInstance(&status)
                                    : type == "NFKC" ? unorm2_getNFKCInstance(&status)
                                    : type == "NFD"  ? unorm2_getNFDInstance(&status)
                                                     : unorm2_getNFKDInstance(&status);
            if (U_FAILURE(status)) fail(where, "ICU has no " + type + " normalizer");
            NormStep s{NormKind::Unicode, {}, {}};
            s.unicode = u;
            out.push_back(s);
        } else if (type == "Strip") {
            NormStep s{NormKind::Strip, {}, {}};
            s.left = optBool(n, "strip_left", where, false);
            s.right = optBool(n, "strip_right", where, false);
            out.push_back(s);
        } else {
            fail(join(where, "type"), "'" + type +
                                          "' is not supported; supported: Sequence, Prepend, Replace, NFC, NFKC, NFD, "
                                          "NFKD, Strip");
        }
    }

    Prepend prependScheme(const json& p, const std::string& where) const
    {
        if (p.contains("prepend_scheme")) {
            const std::string s = string(p, "prepend_scheme", where);
            if (s == "always") return Prepend::Always;
            if (s == "first") return Prepend::First;
            if (s == "never") return Prepend::Never;
            fail(join(where, "prepend_scheme"), "'" + s + "' is not one of always, first, never");
        }
        return optBool(p, "add_prefix_space", where, true) ? Prepend::Always : Prepend::Never;
    }

    std::string replacementChar(const json& p, const std::string& where) const
    {
        const std::string r = optString(p, "replacement", where, "\xE2\x96\x81");
        if (r.empty() || charLen(r, 0) != r.size()) fail(join(where, "replacement"), "expected one character");
        return r;
    }

    void preTokenizer(const json& p, const std::string& where, std::vector<PreStep>& out) const
    {
        if (p.is_null()) return;
        const std::string type = typeOf(p, where);
        if (type == "Sequence") {
            const json& list = member(p, "pretokenizers", where);
            if (!list.is_array()) fail(join(where, "pretokenizers"), "expected an array");
            for (size_t i = 0; i < list.size(); ++i)
                preTokenizer(list[i], join(where, "pretokenizers") + "[" + std::to_string(i) + "]", out);
        } else if (type == "Split") {
            const json& pattern = member(p, "pattern", where);
            if (!pattern.is_object() || !pattern.contains("Regex"))
                fail(join(where, "pattern"), "only the Regex patterns of Llama 3, Qwen2 and GPT-2 are supported");
            const std::string regex = string(pattern, "Regex", join(where, "pattern"));
            PreStep s{PreKind::Split};
            if (!recognizeSplitPattern(regex, s.pattern))
                fail(join(where, "pattern.Regex"), "'" + regex +
                                                       "' is not supported; supported: the split patterns of "
                                                       "Llama 3, Qwen2 and GPT-2");
            const std::string behavior = optString(p, "behavior", where, "Isolated");
            if (behavior != "Isolated")
                fail(join(where, "behavior"), "'" + behavior + "' is not supported; supported: Isolated");
            if (optBool(p, "invert", where, false)) fail(join(where, "invert"), "true is not supported");
            out.push_back(s);
        } else if (type == "ByteLevel") {
            PreStep s{PreKind::ByteLevel};
            s.addPrefixSpace = optBool(p, "add_prefix_space", where, true);
            s.useRegex = optBool(p, "use_regex", where, true);
            out.push_back(s);
        } else if (type == "Metaspace") {
            PreStep s{PreKind::Metaspace};
            s.replacement = replacementChar(p, where);
            s.prepend = prependScheme(p, where);
            s.split = optBool(p, "split", where, true);
            out.push_back(s);
        } else {
            fail(join(where, "type"),
                 "'" + type + "' is not supported; supported: Sequence, Split, ByteLevel, Metaspace");
        }
    }

    void decoder(const json& d, const std::string& where, std::vector<DecStep>& out) const
    {
        if (d.is_null()) return;
        const std::string type = typeOf(d, where);
        if (type == "Sequence") {
            const json& list = member(d, "decoders", where);
            if (!list.is_array()) fail(join(where, "decoders"), "expected an array");
            for (size_t i = 0; i < list.size(); ++i)
                decoder(list[i], join(where, "decoders") + "[" + std::to_string(i) + "]", out);
        } else if (type == "ByteLevel") {
            out.push_back({DecKind::ByteLevel});
        } else if (type == "Metaspace") {
            DecStep s{DecKind::Metaspace, replacementChar(d, where)};
            s.prepend = prependScheme(d, where);
            out.push_back(s);
        } else if (type == "Replace") {
            out.push_back({DecKind::Replace, literalPattern(d, where), string(d, "content", where)});
        } else if (type == "ByteFallback") {
            out.push_back({DecKind::ByteFallback});
        } else if (type == "Fuse") {
            out.push_back({DecKind::Fuse});
        } else if (type == "Strip") {
            DecStep s{DecKind::Strip, string(d, "content", where)};
            if (s.a.empty() || charLen(s.a, 0) != s.a.size()) fail(join(where, "content"), "expected one character");
            const int64_t start = integer(member(d, "start", where), join(where, "start"));
            const int64_t stop = integer(member(d, "stop", where), join(where, "stop"));
            if (start < 0 || stop < 0 || start > 1024 || stop > 1024) fail(where, "start/stop out of range");
            s.start = size_t(start);
            s.stop = size_t(stop);
            out.push_back(s);
        } else {
            fail(join(where, "type"), "'" + type +
                                          "' is not supported; supported: Sequence, ByteLevel, Metaspace, Replace, "
                                          "ByteFallback, Fuse, Strip");
        }
    }

private:
    std::string m_name;
};

// GPT-2 byte-level text (tokenizer.json's form of a byte-level token) → raw bytes; false
// when some character is not one of the 256.
bool byteLevelToBytes(std::string_view token, std::string& out)
{
    out.clear();
    for (size_t p = 0; p < token.size();) {
        char32_t cp;
        p += decodeUtf8(token, p, cp);
        const int b = unicodeToByte(cp);
        if (b < 0) return false;
        out += char(b);
    }
    return true;
}

std::pair<int64_t, int64_t> lineAndColumn(std::string_view text, size_t byte)
{
    int64_t line = 1, col = 1;
    for (size_t i = 0; i < std::min(byte, text.size()); ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return {line, col};
}

std::unique_ptr<Tokenizer> build(const json& root, const std::string& name)
{
    Loader ld(name);
    auto tok = std::make_unique<HfTokenizer>();
    tok->m_name = name;
    if (!root.is_object()) ld.fail("(top level)", "expected a JSON object");

    // Pipeline components.
    if (const auto it = root.find("normalizer"); it != root.end()) ld.normalizer(*it, "normalizer", tok->m_normalizers);
    if (const auto it = root.find("pre_tokenizer"); it != root.end())
        ld.preTokenizer(*it, "pre_tokenizer", tok->m_preTokenizers);
    if (const auto it = root.find("decoder"); it != root.end() && !it->is_null()) {
        ld.decoder(*it, "decoder", tok->m_decoders);
        tok->m_hasDecoder = true;
    }
    bool byteLevel = false;
    for (size_t i = 0; i < tok->m_preTokenizers.size(); ++i) {
        if (tok->m_preTokenizers[i].kind != PreKind::ByteLevel) continue;
        if (i + 1 != tok->m_preTokenizers.size())
            ld.fail("pre_tokenizer", "a ByteLevel pre-tokenizer followed by others is not supported");
        byteLevel = true;
    }

    // Model.
    const json& model = ld.member(root, "model", "");
    if (!model.is_object()) ld.fail("model", "expected an object");
    std::string type;
    if (model.contains("type"))
        type = ld.string(model, "type", "model");
    else if (model.contains("vocab") && model["vocab"].is_array())
        type = "Unigram";
    else if (model.contains("merges"))
        type = "BPE";
    else
        ld.fail("model.type", "is missing");

    std::vector<std::pair<std::string, int32_t>> entries;  // (token as written, id)
    std::string detail;
    if (type == "BPE") {
        const json& vocab = ld.member(model, "vocab", "model");
        if (!vocab.is_object()) ld.fail("model.vocab", "expected an object mapping tokens to ids");
        entries.reserve(vocab.size());
        for (auto it = vocab.begin(); it != vocab.end(); ++it) {
            const int64_t id = ld.integer(it.value(), "model.vocab['" + it.key() + "']");
            if (id < 0 || id > INT32_MAX) ld.fail("model.vocab['" + it.key() + "']", "id out of range");
            entries.emplace_back(it.key(), int32_t(id));
        }
    } else if (type == "Unigram") {
        const json& vocab = ld.member(model, "vocab", "model");
        if (!vocab.is_array()) ld.fail("model.vocab", "expected an array of [piece, score]");
        for (size_t i = 0; i < vocab.size(); ++i) {
            const std::string where = "model.vocab[" + std::to_string(i) + "]";
            const json& e = vocab[i];
            if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
                ld.fail(where, "expected [piece, score]");
            entries.emplace_back(e[0].get<std::string>(), int32_t(i));
        }
    } else {
        ld.fail("model.type", "'" + type + "' is not supported; supported: BPE, Unigram");
    }

    // Added tokens.
    std::vector<AddedToken> added;
    if (const auto it = root.find("added_tokens"); it != root.end() && !it->is_null()) {
        if (!it->is_array()) ld.fail("added_tokens", "expected an array");
        for (size_t i = 0; i < it->size(); ++i) {
            const std::string where = "added_tokens[" + std::to_string(i) + "]";
            const json& a = (*it)[i];
            AddedToken t;
            const int64_t id = ld.integer(ld.member(a, "id", where), where + ".id");
            if (id < 0 || id > INT32_MAX) ld.fail(where + ".id", "id out of range");
            t.id = int32_t(id);
            t.content = ld.string(a, "content", where);
            t.special = ld.optBool(a, "special", where, false);
            t.singleWord = ld.optBool(a, "single_word", where, false);
            t.lstrip = ld.optBool(a, "lstrip", where, false);
            t.rstrip = ld.optBool(a, "rstrip", where, false);
            t.normalized = ld.optBool(a, "normalized", where, !t.special);
            if (!t.content.empty()) added.push_back(std::move(t));
        }
    }

    // The id table: model vocabulary, then added tokens over it (as `tokenizers` looks them up).
    size_t maxId = 0;
    for (const auto& e : entries) maxId = std::max(maxId, size_t(e.second));
    for (const auto& a : added) maxId = std::max(maxId, size_t(a.id));
    if (maxId > 4 * (entries.size() + added.size()) + 65536)
        ld.fail("model.vocab", "id " + std::to_string(maxId) + " is far beyond the " +
                                   std::to_string(entries.size() + added.size()) + " tokens the file defines");
    const size_t count = entries.empty() && added.empty() ? 0 : maxId + 1;
    tok->m_tokens.assign(count, {});
    tok->m_hasToken.assign(count, 0);
    tok->m_special.assign(count, 0);
    tok->m_isAdded.assign(count, 0);
    for (const auto& [text, id] : entries) {
        tok->m_tokens[id] = text;
        tok->m_hasToken[id] = 1;
        tok->m_tokenIds[text] = id;
    }
    for (size_t i = 0; i < added.size(); ++i) {
        const AddedToken& a = added[i];
        tok->m_tokens[a.id] = a.content;
        tok->m_hasToken[a.id] = 1;
        tok->m_isAdded[a.id] = 1;
        tok->m_special[a.id] = a.special;
        tok->m_tokenIds[a.content] = a.id;
    }

    try {
        if (type == "BPE") {
            const auto dropout = model.find("dropout");
            if (dropout != model.end() && !dropout->is_null() &&
                !(dropout->is_number() && dropout->get<double>() == 0.0))
                ld.fail("model.dropout", "BPE dropout is not supported (encoding would not be deterministic)");
            for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
                if (!ld.optString(model, key, "model", "").empty())
                    ld.fail(std::string("model.") + key, "a non-empty value is not supported");
            BpeConfig c;
            c.byteLevel = byteLevel;
            c.byteFallback = ld.optBool(model, "byte_fallback", "model", false);
            c.fuseUnk = ld.optBool(model, "fuse_unk", "model", false);
            c.ignoreMerges = ld.optBool(model, "ignore_merges", "model", false);
            const std::string unk = ld.optString(model, "unk_token", "model", "");
            if (!unk.empty()) {
                const auto it =
                    std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == unk; });
                if (it == entries.end()) ld.fail("model.unk_token", "'" + unk + "' is not in model.vocab");
                c.unkId = it->second;
            }
            std::string key;
            StringIdMap modelIds;
            for (const auto& [text, id] : entries) {
                modelIds[text] = id;
                if (!byteLevel)
                    c.vocab.emplace_back(text, id);
                else if (byteLevelToBytes(text, key))
                    c.vocab.emplace_back(key, id);
            }
            const json& merges = ld.member(model, "merges", "model");
            if (!merges.is_array()) ld.fail("model.merges", "expected an array");
            c.merges.reserve(merges.size());
            std::string a, b, ka, kb;
            for (size_t i = 0; i < merges.size(); ++i) {
                const std::string where = "model.merges[" + std::to_string(i) + "]";
                const json& m = merges[i];
                if (m.is_string()) {
                    const std::string s = m.get<std::string>();
                    const size_t sp = s.find(' ');
                    if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                        ld.fail(where, "expected \"left right\" with one space");
                    a = s.substr(0, sp);
                    b = s.substr(sp + 1);
                } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                    a = m[0].get<std::string>();
                    b = m[1].get<std::string>();
                } else {
                    ld.fail(where, "expected \"left right\" or [left, right]");
                }
                if (!modelIds.contains(a) || !modelIds.contains(b) || !modelIds.contains(a + b))
                    ld.fail(where, "'" + a + " " + b + "' names a token that is not in model.vocab");
                if (!byteLevel)
                    c.merges.emplace_back(a, b);
                else if (byteLevelToBytes(a, ka) && byteLevelToBytes(b, kb))
                    c.merges.emplace_back(ka, kb);
            }
            tok->m_model = std::make_unique<BpeModel>(c);
            detail = byteLevel ? "byte-level" : "";
            if (c.byteFallback) detail += detail.empty() ? "byte fallback" : ", byte fallback";
        } else {
            UnigramConfig c;
            const json& vocab = model["vocab"];
            c.pieces.reserve(vocab.size());
            for (const auto& e : vocab) c.pieces.emplace_back(e[0].get<std::string>(), e[1].get<double>());
            if (const auto it = model.find("unk_id"); it != model.end() && !it->is_null()) {
                const int64_t id = ld.integer(*it, "model.unk_id");
                if (id < 0 || size_t(id) >= c.pieces.size()) ld.fail("model.unk_id", "outside model.vocab");
                c.unkId = int32_t(id);
            }
            c.byteFallback = ld.optBool(model, "byte_fallback", "model", false);
            if (byteLevel) ld.fail("pre_tokenizer", "ByteLevel with a Unigram model is not supported");
            tok->m_model = std::make_unique<UnigramModel>(c);
            if (c.byteFallback) detail = "byte fallback";
        }
    } catch (const std::invalid_argument& e) {
        ld.fail("model", e.what());
    }
    for (const NormStep& n : tok->m_normalizers)
        if (n.kind == NormKind::Prepend || n.kind == NormKind::Replace) {
            if (std::string_view(n.kind == NormKind::Prepend ? n.a : n.b) == "\xE2\x96\x81") {
                detail = detail.empty() ? "Metaspace" : "Metaspace, " + detail;
                break;
            }
        }
    for (const PreStep& p : tok->m_preTokenizers)
        if (p.kind == PreKind::Metaspace && detail.find("Metaspace") == std::string::npos)
            detail = detail.empty() ? "Metaspace" : "Metaspace, " + detail;

    // Added tokens: non-normalized ones are found in the raw input, normalized ones in the
    // normalized text (their content normalized the same way).
    tok->m_added = std::move(added);
    for (size_t i = 0; i < tok->m_added.size(); ++i) {
        AddedToken& a = tok->m_added[i];
        if (!a.normalized || tok->m_normalizers.empty()) {
            tok->m_rawAdded.add(a.content, int32_t(i));
        } else {
            const std::string normalized = tok->normalizeText(a.content);
            if (!normalized.empty()) tok->m_normalizedAdded.add(normalized, int32_t(i));
        }
    }

    tok->m_description = "tokenizer.json " + type + (detail.empty() ? "" : " (" + detail + ")") + ", " +
                         std::to_string(tok->m_tokens.size()) + " tokens";
    return tok;
}

}  // namespace

std::unique_ptr<Tokenizer> parseTokenizerJson(std::string_view text, const std::string& name)
{
    json root;
    try {
        root = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        const auto [line, col] = lineAndColumn(text, e.byte > 0 ? e.byte - 1 : 0);
        std::string what = e.what();
        if (const size_t p = what.find("syntax error"); p != std::string::npos) what = what.substr(p);
        throw ParseError(name, line, col, "not valid JSON (" + what + ")");
    } catch (const json::exception& e) {  // e.g. a number too large for any type
        throw ParseError(name, 0, 0, std::string("not valid JSON (") + e.what() + ")");
    }
    try {
        return build(root, name);
    } catch (const json::exception& e) {
        throw ParseError(name, 0, 0, std::string("unexpected JSON value: ") + e.what());
    }
}

std::unique_ptr<Tokenizer> loadTokenizerJson(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open tokenizer.json (" + std::strerror(errno) + ")");
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) throw Error(path + ": cannot read tokenizer.json");
    return parseTokenizerJson(buf.str(), path);
}

}  // namespace tsumugi::tok
