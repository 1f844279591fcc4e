// The thresholds the quality checks apply and the workspace's NG words. Defaults follow
// published Japanese corpus filters (docs/quality.md names each source); a workspace
// changes them through its settings: key "quality" (an object with any of the fields
// below, by their snake_case names) and key "ng_words" (an array of strings).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datastore/quality/repetition.h"

namespace tsumugi {
class Workspace;
}

namespace tsumugi::quality {

struct Thresholds {
    // Swallow corpus v1 (Okazaki et al. 2024).
    double hiraganaFractionMin = 0.2;
    double katakanaFractionMax = 0.5;
    double japaneseFractionMin = 0.5;
    // Ratios say little about a few characters: texts shorter than this skip them (ours).
    size_t ratioMinChars = 10;
    // Lengths in code points; unset = not checked (Swallow drops web pages under 400
    // characters, which would drop most instructions).
    std::optional<size_t> minChars, maxChars;
    // Gopher's repetition limits (Rae et al. 2021) as Swallow applies them to characters.
    double duplicateLineFractionMax = 0.30;
    double duplicateLineCharFractionMax = 0.20;
    double duplicateSentenceFractionMax = 0.30;
    double duplicateSentenceCharFractionMax = 0.20;
    std::array<double, kTopNgramMax + 1> topNgramFractionMax{0, 0, 0.20, 0.18, 0.16};
    std::array<double, kDupNgramMax + 1> duplicateNgramFractionMax{0, 0, 0, 0, 0, 0.15, 0.14, 0.13, 0.12, 0.11, 0.10};
    // Repetition rules were made for documents: texts shorter than this skip them (ours).
    size_t repetitionMinChars = 100;
    // Near duplicates: Jaccard similarity of character 5-gram sets.
    double nearDuplicateThreshold = 0.8;
    // Contamination: length of the shared character n-gram.
    size_t contaminationNgram = 50;
};

struct QualityConfig {
    Thresholds thresholds;
    std::vector<std::string> ngWords;
};

// Reads the "quality" setting's object over the defaults; throws Error naming the field
// and the accepted range. Unknown fields are errors too (a typo must not pass silently).
Thresholds thresholdsFromJson(const nlohmann::json& value);
nlohmann::json thresholdsToJson(const Thresholds& t);
std::vector<std::string> ngWordsFromJson(const nlohmann::json& value);

// The workspace's settings over the defaults.
QualityConfig qualityConfig(Workspace& ws);

}  // namespace tsumugi::quality
