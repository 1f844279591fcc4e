// Every check of one text in one call, as the annotator's sidebar, `tsumugi check` and the
// snapshot filters use them: character classes and the thresholds they fail, repetition,
// PII, NG words, brackets, width mixing and NFKC differences. Pure: no workspace here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "datastore/quality/char_classes.h"
#include "datastore/quality/config.h"
#include "datastore/quality/ng_words.h"
#include "datastore/quality/pii.h"
#include "datastore/quality/repetition.h"
#include "datastore/quality/text_checks.h"

namespace tsumugi::quality {

// A threshold a text fails: rule is the settings field (e.g. "hiragana_fraction_min",
// "top_ngram_fraction_max.3"), value what the text has, limit what the rule allows.
struct ThresholdFailure {
    std::string rule;
    double value = 0;
    double limit = 0;
};

struct TextReport {
    size_t chars = 0;      // code points of the whole text
    size_t codeChars = 0;  // of them in fenced code blocks (left out of ratios and repetition)
    ClassCounts counts;    // of the prose
    std::optional<RepetitionStats> repetition;  // when the prose is long enough
    std::vector<ThresholdFailure> failures;
    std::vector<PiiFinding> pii;
    std::vector<NgWordMatch> ngWords;
    std::vector<BracketFinding> brackets;
    std::vector<WidthFinding> width;
    std::vector<NfkcDifference> nfkc;

    // Nothing to warn about. NFKC differences are information, not a warning.
    bool clean() const
    {
        return failures.empty() && pii.empty() && ngWords.empty() && brackets.empty() && width.empty();
    }
};

struct CheckOptions {
    bool nfkc = true;  // the costliest check; the sidebar may ask for it on demand
};

TextReport checkText(std::string_view text, const Thresholds& thresholds, const NgWordMatcher& ngWords,
                     const CheckOptions& options = {});

// The threshold rules alone, from counts and repetition (checkText calls this).
std::vector<ThresholdFailure> thresholdFailures(const ClassCounts& counts, const std::optional<RepetitionStats>& rep,
                                                size_t chars, const Thresholds& t);

// JSON for programs (the annotator reads `tsumugi check --json`): spans as
// {"begin","end","cp_begin","cp_end"}.
nlohmann::ordered_json spanJson(const Span& s);
nlohmann::ordered_json reportJson(const TextReport& r, const NgWordMatcher& ngWords);

}  // namespace tsumugi::quality
