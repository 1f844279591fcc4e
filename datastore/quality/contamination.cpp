#include "datastore/quality/contamination.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"

namespace tsumugi::quality {

namespace {

constexpr uint64_t kBase = 0x100000001B3ULL;

uint64_t finish(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h | 1;  // never 0, the empty slot
}

void nonWhitespace(std::string_view text, std::vector<char32_t>& cps, std::vector<uint32_t>& offsets)
{
    cps.clear();
    offsets.clear();
    for (size_t pos = 0; pos < text.size();) {
        const size_t at = pos;
        const char32_t c = utf8::next(text, pos);
        if (utf8::isWhitespace(c) || c == 0x2028 || c == 0x2029) continue;
        cps.push_back(c);
        offsets.push_back(uint32_t(at));
    }
    offsets.push_back(uint32_t(text.size()));
}

size_t utf8ByteLength(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

// Rolling polynomial hashes of every window of n code points.
template <typename Fn>
void forEachWindow(const std::vector<char32_t>& cps, size_t n, Fn&& fn)
{
    if (n == 0 || cps.size() < n) return;
    uint64_t power = 1;
    for (size_t k = 1; k < n; ++k) power *= kBase;
    uint64_t h = 0;
    for (size_t k = 0; k < n; ++k) h = h * kBase + cps[k];
    for (size_t i = 0;; ++i) {
        fn(i, finish(h));
        if (i + n >= cps.size()) break;
        h = (h - cps[i] * power) * kBase + cps[i + n];
    }
}

const std::vector<std::string>& defaultFields()
{
    static const std::vector<std::string> f = {"input",  "output",   "turns",  "reference", "text",
                                               "instruction", "prompt", "question", "response", "answer",
                                               "context", "messages", "conversations"};
    return f;
}

void collect(const nlohmann::json& v, const std::string& name, std::vector<std::pair<std::string, std::string>>& out)
{
    if (v.is_string()) {
        out.emplace_back(name, v.get<std::string>());
    } else if (v.is_array()) {
        for (size_t i = 0; i < v.size(); ++i) {
            const auto& e = v[i];
            const std::string at = name + "[" + std::to_string(i) + "]";
            if (e.is_object()) {  // chat turns
                for (const char* key : {"content", "value", "text"})
                    if (e.contains(key) && e[key].is_string()) out.emplace_back(at + "." + key, e[key].get<std::string>());
            } else {
                collect(e, at, out);
            }
        }
    }
}

}  // namespace

std::vector<EvalText> readTextFields(const std::string& path, const std::vector<std::string>& fields)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read " + path + "; check the path and its permissions");
    const auto& wanted = fields.empty() ? defaultFields() : fields;
    std::vector<EvalText> out;
    std::string line;
    int64_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        if (const auto bad = utf8::firstInvalid(line))
            throw ParseError(path, number, int64_t(*bad) + 1, "not valid UTF-8; convert the file to UTF-8");
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object())
            throw ParseError(path, number, 0, "expected one JSON object per line (JSONL)");
        std::vector<std::pair<std::string, std::string>> found;
        for (const std::string& f : wanted)
            if (j.contains(f)) collect(j[f], f, found);
        if (found.empty()) {
            std::string names;
            for (const auto& f : wanted) names += (names.empty() ? "" : ", ") + f;
            throw ParseError(path, number, 0,
                             "no text field found; looked for " + names + " (name the fields with --field)");
        }
        for (auto& [field, text] : found)
            if (!text.empty()) out.push_back({path, number, field, std::move(text)});
    }
    return out;
}

void ContaminationIndex::Table::build()
{
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.hash != b.hash ? a.hash < b.hash : std::pair(a.text, a.pos) < std::pair(b.text, b.pos);
    });
    size_t capacity = 16;
    while (capacity < entries.size() * 2) capacity <<= 1;
    present.assign(capacity, 0);
    mask = capacity - 1;
    for (const Entry& e : entries) {
        uint64_t slot = e.hash & mask;
        while (present[slot] != 0 && present[slot] != e.hash) slot = (slot + 1) & mask;
        present[slot] = e.hash;
    }
}

bool ContaminationIndex::Table::contains(uint64_t h) const
{
    for (uint64_t slot = h & mask;; slot = (slot + 1) & mask) {
        if (present[slot] == h) return true;
        if (present[slot] == 0) return false;
    }
}

ContaminationIndex::ContaminationIndex(std::vector<EvalText> texts, size_t ngram, size_t shortMin)
    : m_texts(std::move(texts)), m_n(ngram), m_shortMin(std::min(shortMin, ngram))
{
    if (m_n < 8) throw Error("contamination n-gram must be at least 8 characters, got " + std::to_string(m_n));
    m_cps.resize(m_texts.size());
    m_offsets.resize(m_texts.size());
    for (size_t t = 0; t < m_texts.size(); ++t) {
        nonWhitespace(m_texts[t].text, m_cps[t], m_offsets[t]);
        const size_t length = m_cps[t].size();
        if (length >= m_n) {
            forEachWindow(m_cps[t], m_n, [&](size_t i, uint64_t h) { m_long.entries.push_back({h, uint32_t(t), uint32_t(i)}); });
        } else if (m_shortMin > 0 && length >= m_shortMin) {
            std::vector<char32_t> head(m_cps[t].begin(), m_cps[t].begin() + long(m_shortMin));
            forEachWindow(head, m_shortMin, [&](size_t, uint64_t h) { m_short.entries.push_back({h, uint32_t(t), 0}); });
        } else {
            ++m_tooShort;
        }
    }
    m_long.build();
    m_short.build();
}

std::vector<ContaminationHit> ContaminationIndex::find(std::string_view text) const
{
    thread_local std::vector<char32_t> cps;
    thread_local std::vector<uint32_t> offsets;
    nonWhitespace(text, cps, offsets);
    std::vector<ContaminationHit> hits;
    struct Open {
        size_t eval, itemEnd;
        int64_t delta;  // eval position − item position
    };
    std::vector<Open> open;  // matches found so far, to skip their later windows
    auto record = [&](size_t t, size_t i, size_t p, size_t length) {
        const auto& eo = m_offsets[t];
        CodePointCounter itemCp(text), evalCp(m_texts[t].text);
        hits.push_back({t, itemCp.span(offsets[i], offsets[i + length - 1] + utf8ByteLength(cps[i + length - 1])),
                        evalCp.span(eo[p], eo[p + length - 1] + utf8ByteLength(m_cps[t][p + length - 1])), length});
    };
    auto scan = [&](const Table& table, size_t n, bool whole) {
        if (table.entries.empty()) return;
        forEachWindow(cps, n, [&](size_t i, uint64_t h) {
            if (!table.contains(h)) return;
            auto it = std::lower_bound(table.entries.begin(), table.entries.end(), h,
                                       [](const Entry& e, uint64_t v) { return e.hash < v; });
            for (; it != table.entries.end() && it->hash == h; ++it) {
                const size_t t = it->text, p = it->pos;
                const auto& ecps = m_cps[t];
                const int64_t delta = int64_t(p) - int64_t(i);
                bool inside = false;
                for (const Open& o : open) inside |= o.eval == t && o.delta == delta && i < o.itemEnd;
                if (inside) continue;
                if (!std::equal(ecps.begin() + long(p), ecps.begin() + long(p + n), cps.begin() + long(i))) continue;
                size_t length = n;
                if (whole) {
                    if (i + ecps.size() > cps.size() ||
                        !std::equal(ecps.begin(), ecps.end(), cps.begin() + long(i)))
                        continue;
                    length = ecps.size();
                } else {
                    while (i + length < cps.size() && p + length < ecps.size() && cps[i + length] == ecps[p + length])
                        ++length;
                }
                open.push_back({t, i + length, delta});
                record(t, i, p, length);
            }
        });
    };
    scan(m_long, m_n, false);
    scan(m_short, m_shortMin, true);
    std::sort(hits.begin(), hits.end(), [](const ContaminationHit& a, const ContaminationHit& b) {
        return a.itemSpan.begin != b.itemSpan.begin ? a.itemSpan.begin < b.itemSpan.begin : a.eval < b.eval;
    });
    return hits;
}

}  // namespace tsumugi::quality
