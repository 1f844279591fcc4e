#include "datastore/quality/config.h"

#include "core/error.h"
#include "datastore/settings.h"
#include "datastore/workspace.h"

namespace tsumugi::quality {

namespace {

double fraction(const nlohmann::json& v, const std::string& name)
{
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)
        throw Error("setting quality." + name + " must be a number from 0 to 1, got " + v.dump());
    return v.get<double>();
}

size_t count(const nlohmann::json& v, const std::string& name)
{
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
        throw Error("setting quality." + name + " must be a whole number ≥ 0, got " + v.dump());
    return v.get<size_t>();
}

template <size_t N>
void perN(const nlohmann::json& v, const std::string& name, std::array<double, N>& out, int lo, int hi)
{
    if (!v.is_object())
        throw Error("setting quality." + name + " must be an object from n to a fraction, e.g. {\"" +
                    std::to_string(lo) + "\": " + std::to_string(out[size_t(lo)]).substr(0, 4) + "}");
    for (const auto& [key, value] : v.items()) {
        int n = 0;
        try {
            n = std::stoi(key);
        } catch (const std::exception&) {
            n = -1;
        }
        if (n < lo || n > hi || std::to_string(n) != key)
            throw Error("setting quality." + name + ": key '" + key + "' must be n from " + std::to_string(lo) +
                        " to " + std::to_string(hi));
        out[size_t(n)] = fraction(value, name + "." + key);
    }
}

}  // namespace

Thresholds thresholdsFromJson(const nlohmann::json& value)
{
    Thresholds t;
    if (value.is_null()) return t;
    if (!value.is_object()) throw Error("setting quality must be a JSON object of thresholds, got " + value.dump());
    for (const auto& [key, v] : value.items()) {
        if (key == "hiragana_fraction_min") t.hiraganaFractionMin = fraction(v, key);
        else if (key == "katakana_fraction_max") t.katakanaFractionMax = fraction(v, key);
        else if (key == "japanese_fraction_min") t.japaneseFractionMin = fraction(v, key);
        else if (key == "ratio_min_chars") t.ratioMinChars = count(v, key);
        else if (key == "min_chars") t.minChars = v.is_null() ? std::nullopt : std::optional(count(v, key));
        else if (key == "max_chars") t.maxChars = v.is_null() ? std::nullopt : std::optional(count(v, key));
        else if (key == "duplicate_line_fraction_max") t.duplicateLineFractionMax = fraction(v, key);
        else if (key == "duplicate_line_char_fraction_max") t.duplicateLineCharFractionMax = fraction(v, key);
        else if (key == "duplicate_sentence_fraction_max") t.duplicateSentenceFractionMax = fraction(v, key);
        else if (key == "duplicate_sentence_char_fraction_max") t.duplicateSentenceCharFractionMax = fraction(v, key);
        else if (key == "top_ngram_fraction_max") perN(v, key, t.topNgramFractionMax, kTopNgramMin, kTopNgramMax);
        else if (key == "duplicate_ngram_fraction_max")
            perN(v, key, t.duplicateNgramFractionMax, kDupNgramMin, kDupNgramMax);
        else if (key == "repetition_min_chars") t.repetitionMinChars = count(v, key);
        else if (key == "near_duplicate_threshold") {
            t.nearDuplicateThreshold = fraction(v, key);
            if (t.nearDuplicateThreshold < 0.5)
                throw Error("setting quality.near_duplicate_threshold must be at least 0.5 (MinHash bands are "
                            "chosen for thresholds from 0.5 to 1)");
        } else if (key == "contamination_ngram") {
            t.contaminationNgram = count(v, key);
            if (t.contaminationNgram < 8) throw Error("setting quality.contamination_ngram must be at least 8");
        } else
            throw Error("setting quality has an unknown field '" + key + "'; see docs/quality.md for the fields");
    }
    if (t.minChars && t.maxChars && *t.minChars > *t.maxChars)
        throw Error("setting quality: min_chars is larger than max_chars");
    return t;
}

nlohmann::json thresholdsToJson(const Thresholds& t)
{
    nlohmann::json j;
    j["hiragana_fraction_min"] = t.hiraganaFractionMin;
    j["katakana_fraction_max"] = t.katakanaFractionMax;
    j["japanese_fraction_min"] = t.japaneseFractionMin;
    j["ratio_min_chars"] = t.ratioMinChars;
    j["min_chars"] = t.minChars ? nlohmann::json(*t.minChars) : nlohmann::json(nullptr);
    j["max_chars"] = t.maxChars ? nlohmann::json(*t.maxChars) : nlohmann::json(nullptr);
    j["duplicate_line_fraction_max"] = t.duplicateLineFractionMax;
    j["duplicate_line_char_fraction_max"] = t.duplicateLineCharFractionMax;
    j["duplicate_sentence_fraction_max"] = t.duplicateSentenceFractionMax;
    j["duplicate_sentence_char_fraction_max"] = t.duplicateSentenceCharFractionMax;
    for (int n = kTopNgramMin; n <= kTopNgramMax; ++n)
        j["top_ngram_fraction_max"][std::to_string(n)] = t.topNgramFractionMax[size_t(n)];
    for (int n = kDupNgramMin; n <= kDupNgramMax; ++n)
        j["duplicate_ngram_fraction_max"][std::to_string(n)] = t.duplicateNgramFractionMax[size_t(n)];
    j["repetition_min_chars"] = t.repetitionMinChars;
    j["near_duplicate_threshold"] = t.nearDuplicateThreshold;
    j["contamination_ngram"] = t.contaminationNgram;
    return j;
}

std::vector<std::string> ngWordsFromJson(const nlohmann::json& value)
{
    std::vector<std::string> words;
    if (value.is_null()) return words;
    if (!value.is_array()) throw Error("setting ng_words must be a JSON array of strings, got " + value.dump());
    for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string())
            throw Error("setting ng_words[" + std::to_string(i) + "] must be a string, got " + value[i].dump());
        if (!value[i].get<std::string>().empty()) words.push_back(value[i].get<std::string>());
    }
    return words;
}

QualityConfig qualityConfig(Workspace& ws)
{
    QualityConfig c;
    try {
        if (auto v = getSetting(ws, "quality")) c.thresholds = thresholdsFromJson(*v);
        if (auto v = getSetting(ws, "ng_words")) c.ngWords = ngWordsFromJson(*v);
    } catch (const Error& e) {
        throw Error(ws.path() + ": " + e.what() + "; fix it with `tsumugi settings set " + ws.path() + " KEY JSON`");
    }
    return c;
}

}  // namespace tsumugi::quality
