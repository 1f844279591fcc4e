#include "datastore/quality/check.h"

#include "core/utf8.h"

namespace tsumugi::quality {

std::vector<ThresholdFailure> thresholdFailures(const ClassCounts& c, const std::optional<RepetitionStats>& rep,
                                                size_t chars, const Thresholds& t)
{
    std::vector<ThresholdFailure> out;
    auto below = [&](const char* rule, double value, double limit) {
        if (value < limit) out.push_back({rule, value, limit});
    };
    // The rule's name is built only for a failure: most texts fail nothing.
    auto above = [&](const char* rule, double value, double limit, int n = 0) {
        if (value > limit) out.push_back({n ? rule + std::string(".") + std::to_string(n) : rule, value, limit});
    };
    if (t.minChars && chars < *t.minChars) out.push_back({"min_chars", double(chars), double(*t.minChars)});
    if (t.maxChars && chars > *t.maxChars) out.push_back({"max_chars", double(chars), double(*t.maxChars)});
    if (c.chars >= t.ratioMinChars && c.chars > 0) {
        below("hiragana_fraction_min", c.hiraganaFraction(), t.hiraganaFractionMin);
        above("katakana_fraction_max", c.katakanaFraction(), t.katakanaFractionMax);
        below("japanese_fraction_min", c.japaneseFraction(), t.japaneseFractionMin);
    }
    if (rep) {
        above("duplicate_line_fraction_max", rep->duplicateLineFraction, t.duplicateLineFractionMax);
        above("duplicate_line_char_fraction_max", rep->duplicateLineCharFraction, t.duplicateLineCharFractionMax);
        above("duplicate_sentence_fraction_max", rep->duplicateSentenceFraction, t.duplicateSentenceFractionMax);
        above("duplicate_sentence_char_fraction_max", rep->duplicateSentenceCharFraction,
              t.duplicateSentenceCharFractionMax);
        for (int n = kTopNgramMin; n <= kTopNgramMax; ++n)
            above("top_ngram_fraction_max", rep->topNgramFraction[size_t(n)], t.topNgramFractionMax[size_t(n)], n);
        for (int n = kDupNgramMin; n <= kDupNgramMax; ++n)
            above("duplicate_ngram_fraction_max", rep->duplicateNgramFraction[size_t(n)],
                  t.duplicateNgramFractionMax[size_t(n)], n);
    }
    return out;
}

TextReport checkText(std::string_view text, const Thresholds& thresholds, const NgWordMatcher& ngWords,
                     const CheckOptions& options)
{
    TextReport r;
    std::string storage;
    const std::string_view prose = proseOf(text, storage);
    r.counts = countClasses(prose);
    r.chars = prose.size() == text.size() ? r.counts.chars : utf8::length(text);
    r.codeChars = r.chars - r.counts.chars;
    if (r.counts.chars >= thresholds.repetitionMinChars) r.repetition = measureRepetition(prose);
    r.failures = thresholdFailures(r.counts, r.repetition, r.chars, thresholds);
    r.pii = scanPii(text);
    if (!ngWords.empty()) r.ngWords = ngWords.find(text);
    r.brackets = checkBrackets(text);
    r.width = prose.size() == text.size() ? checkWidthMixing(text, r.counts) : checkWidthMixing(text);
    if (options.nfkc) r.nfkc = nfkcDifferences(text);
    return r;
}

nlohmann::ordered_json spanJson(const Span& s)
{
    return {{"begin", s.begin}, {"end", s.end}, {"cp_begin", s.cpBegin}, {"cp_end", s.cpEnd}};
}

nlohmann::ordered_json reportJson(const TextReport& r, const NgWordMatcher& ngWords)
{
    using ojson = nlohmann::ordered_json;
    ojson j;
    j["chars"] = r.chars;
    j["code_chars"] = r.codeChars;
    ojson shares = ojson::object();
    for (size_t k = 0; k < kCharClassCount; ++k) shares[std::string(charClassName(CharClass(k)))] = r.counts.share(CharClass(k));
    j["shares"] = shares;
    j["hiragana_fraction"] = r.counts.hiraganaFraction();
    j["katakana_fraction"] = r.counts.katakanaFraction();
    j["japanese_fraction"] = r.counts.japaneseFraction();
    if (r.repetition) {
        const auto& rep = *r.repetition;
        ojson rj = {{"duplicate_line_fraction", rep.duplicateLineFraction},
                    {"duplicate_line_char_fraction", rep.duplicateLineCharFraction},
                    {"duplicate_sentence_fraction", rep.duplicateSentenceFraction},
                    {"duplicate_sentence_char_fraction", rep.duplicateSentenceCharFraction}};
        for (int n = kTopNgramMin; n <= kTopNgramMax; ++n)
            rj["top_ngram_fraction"][std::to_string(n)] = rep.topNgramFraction[size_t(n)];
        for (int n = kDupNgramMin; n <= kDupNgramMax; ++n)
            rj["duplicate_ngram_fraction"][std::to_string(n)] = rep.duplicateNgramFraction[size_t(n)];
        j["repetition"] = rj;
    }
    j["failures"] = ojson::array();
    for (const auto& f : r.failures) j["failures"].push_back({{"rule", f.rule}, {"value", f.value}, {"limit", f.limit}});
    j["pii"] = ojson::array();
    for (const auto& p : r.pii)
        j["pii"].push_back({{"kind", piiKindName(p.kind)}, {"span", spanJson(p.span)}, {"text", p.text}});
    j["ng_words"] = ojson::array();
    for (const auto& m : r.ngWords)
        j["ng_words"].push_back({{"word", ngWords.words()[m.word]}, {"span", spanJson(m.span)}});
    j["brackets"] = ojson::array();
    for (const auto& b : r.brackets)
        j["brackets"].push_back(
            {{"problem", bracketProblemName(b.problem)}, {"bracket", b.bracket}, {"span", spanJson(b.span)}});
    j["width"] = ojson::array();
    for (const auto& w : r.width) {
        ojson spans = ojson::array();
        for (const auto& s : w.spans) spans.push_back(spanJson(s));
        j["width"].push_back({{"kind", widthKindName(w.kind)}, {"halfwidth", w.halfwidth}, {"fullwidth", w.fullwidth},
                              {"spans", spans}});
    }
    j["nfkc"] = ojson::array();
    for (const auto& d : r.nfkc)
        j["nfkc"].push_back({{"span", spanJson(d.span)}, {"original", d.original}, {"normalized", d.normalized}});
    return j;
}

}  // namespace tsumugi::quality
