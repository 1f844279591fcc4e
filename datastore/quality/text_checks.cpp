#include "datastore/quality/text_checks.h"

#include <unicode/bytestream.h>
#include <unicode/edits.h>
#include <unicode/normalizer2.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "core/error.h"
#include "core/utf8.h"

namespace tsumugi::quality {

namespace {

struct BracketPair {
    char32_t open, close;
};
constexpr std::array<BracketPair, 5> kBrackets = {
    {{U'「', U'」'}, {U'『', U'』'}, {U'（', U'）'}, {U'【', U'】'}, {U'｢', U'｣'}}};

}  // namespace

std::string_view bracketProblemName(BracketProblem p)
{
    return p == BracketProblem::Unclosed ? "unclosed" : "unopened";
}

std::vector<BracketFinding> checkBrackets(std::string_view text)
{
    struct Open {
        size_t pair, begin, end;
    };
    std::vector<Open> stack;
    std::vector<BracketFinding> out;
    CodePointCounter cp(text);
    auto finding = [&](BracketProblem problem, size_t begin, size_t end) {
        out.push_back({problem, cp.span(begin, end), std::string(text.substr(begin, end - begin))});
    };
    std::vector<std::pair<size_t, size_t>> unclosed;  // reported at the end, in text order
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    for (size_t pos = 0; pos < text.size();) {
        const unsigned char lead = s[pos];
        // Every bracket above is E3 80 8C–91 or EF BC 88–89 or EF BD A2–A3: skip the rest
        // without decoding.
        const bool maybe = pos + 2 < text.size() &&
                           ((lead == 0xE3 && s[pos + 1] == 0x80 && s[pos + 2] >= 0x8C && s[pos + 2] <= 0x91) ||
                            (lead == 0xEF && (s[pos + 1] == 0xBC || s[pos + 1] == 0xBD)));
        if (!maybe) {
            pos += lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
            continue;
        }
        const size_t begin = pos;
        const char32_t c = utf8::next(text, pos);
        for (size_t k = 0; k < kBrackets.size(); ++k) {
            if (c == kBrackets[k].open) {
                stack.push_back({k, begin, pos});
            } else if (c == kBrackets[k].close) {
                // Close the nearest open bracket of this kind; those opened after it and still
                // open are unclosed. With none open, this one was never opened.
                auto it = std::find_if(stack.rbegin(), stack.rend(), [k](const Open& o) { return o.pair == k; });
                if (it == stack.rend()) {
                    finding(BracketProblem::Unopened, begin, pos);
                } else {
                    const size_t keep = static_cast<size_t>(stack.rend() - it) - 1;
                    for (size_t j = keep + 1; j < stack.size(); ++j) unclosed.emplace_back(stack[j].begin, stack[j].end);
                    stack.resize(keep);
                }
            }
        }
    }
    for (const Open& o : stack) unclosed.emplace_back(o.begin, o.end);
    for (const auto& [b, e] : unclosed) {
        CodePointCounter fresh(text);
        out.push_back({BracketProblem::Unclosed, fresh.span(b, e), std::string(text.substr(b, e - b))});
    }
    std::sort(out.begin(), out.end(), [](const BracketFinding& a, const BracketFinding& b) {
        return a.span.begin < b.span.begin;
    });
    return out;
}

std::string_view widthKindName(WidthKind k)
{
    switch (k) {
    case WidthKind::Digits: return "digits";
    case WidthKind::Latin: return "latin";
    case WidthKind::Katakana: return "katakana";
    }
    return "?";
}

std::vector<WidthFinding> checkWidthMixing(std::string_view text)
{
    return checkWidthMixing(text, countClasses(text));
}

std::vector<WidthFinding> checkWidthMixing(std::string_view text, const ClassCounts& counts)
{
    // Per kind: 0 = half-width, 1 = full-width, -1 = not of this kind.
    auto formOf = [](char32_t c, WidthKind kind) -> int {
        switch (kind) {
        case WidthKind::Digits:
            if (c >= '0' && c <= '9') return 0;
            if (c >= 0xFF10 && c <= 0xFF19) return 1;
            return -1;
        case WidthKind::Latin:
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 0;
            if ((c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A)) return 1;
            return -1;
        case WidthKind::Katakana:
            if (c >= 0xFF66 && c <= 0xFF9F) return 0;
            if (c >= 0x30A1 && c <= 0x30FA) return 1;
            return -1;
        }
        return -1;
    };
    std::vector<WidthFinding> out;
    const std::array<std::pair<size_t, size_t>, 3> totals = {
        {{counts.asciiDigits, counts.fullwidthDigits},
         {counts.asciiLatin, counts.fullwidthLatin},
         {counts.halfwidthKatakana, counts[CharClass::Katakana] - counts.halfwidthKatakana}}};
    for (WidthKind kind : {WidthKind::Digits, WidthKind::Latin, WidthKind::Katakana}) {
        const auto [half, full] = totals[static_cast<size_t>(kind)];
        if (!half || !full) continue;
        if (kind == WidthKind::Katakana) {
            // ー and other katakana-block marks count as Katakana but not as either form here.
            size_t fullForms = 0;
            for (size_t pos = 0; pos < text.size();) fullForms += formOf(utf8::next(text, pos), kind) == 1;
            if (!fullForms) continue;
        }
        WidthFinding f{kind, half, full, {}};
        const int rare = half < full ? 0 : 1;
        CodePointCounter cp(text);
        size_t runBegin = 0;
        bool inRun = false;
        for (size_t pos = 0; pos < text.size();) {
            const size_t before = pos;
            const bool match = formOf(utf8::next(text, pos), kind) == rare;
            if (match && !inRun) runBegin = before, inRun = true;
            if (!match && inRun) f.spans.push_back(cp.span(runBegin, before)), inRun = false;
        }
        if (inRun) f.spans.push_back(cp.span(runBegin, text.size()));
        if (!f.spans.empty()) out.push_back(std::move(f));
    }
    return out;
}

std::vector<NfkcDifference> nfkcDifferences(std::string_view text)
{
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
    if (U_FAILURE(status)) throw Error(std::string("ICU has no NFKC data: ") + u_errorName(status));
    const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
    if (nfkc->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return {};
    status = U_ZERO_ERROR;
    std::string changed;
    icu::StringByteSink<std::string> sink(&changed);
    icu::Edits edits;
    nfkc->normalizeUTF8(U_OMIT_UNCHANGED_TEXT, piece, sink, &edits, status);
    if (U_FAILURE(status)) throw Error(std::string("NFKC normalization failed: ") + u_errorName(status));
    std::vector<NfkcDifference> out;
    CodePointCounter cp(text);
    auto it = edits.getCoarseChangesIterator();
    while (it.next(status)) {
        const auto begin = static_cast<size_t>(it.sourceIndex());
        const auto end = begin + static_cast<size_t>(it.oldLength());
        out.push_back({cp.span(begin, end), std::string(text.substr(begin, end - begin)),
                       changed.substr(static_cast<size_t>(it.replacementIndex()), static_cast<size_t>(it.newLength()))});
    }
    return out;
}

std::string guessLanguage(std::string_view text)
{
    std::string storage;
    const ClassCounts c = countClasses(proseOf(text, storage));
    const size_t letters = c.letters();
    if (letters < 4) return "";
    const size_t kana = c[CharClass::Hiragana] + c[CharClass::Katakana];
    const double share = 1.0 / double(letters);
    if (kana * share >= 0.05 && (kana + c[CharClass::Kanji]) * share >= 0.3) return "ja";
    if (c.hangul * share >= 0.3) return "ko";
    if (c[CharClass::Kanji] * share >= 0.5) return "zh";
    if (c[CharClass::Latin] * share >= 0.7) return "en";
    return "";
}

LanguageMismatch checkLanguageMismatch(std::string_view prompt, std::string_view answer)
{
    LanguageMismatch m{false, guessLanguage(prompt), guessLanguage(answer)};
    if (m.promptLanguage.empty() || m.answerLanguage.empty() || m.promptLanguage == m.answerLanguage) return m;
    static constexpr std::array<std::string_view, 18> kAsksForLanguage = {
        "翻訳", "英訳", "和訳", "訳して", "訳してください", "英語で", "日本語で", "中国語で", "韓国語で", "英文",
        "translate", "translation", "in english", "in japanese", "in chinese", "in korean", "english", "japanese"};
    std::string lower(prompt);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (std::string_view k : kAsksForLanguage)
        if (lower.find(k) != std::string::npos) return m;
    m.mismatch = true;
    return m;
}

}  // namespace tsumugi::quality
