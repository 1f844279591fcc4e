// Checks of one text that point at spans: unbalanced Japanese brackets, full-width and
// half-width forms mixed in one text, what NFKC would change (shown, never applied), and
// the language of a text, for prompt/answer mismatches. Pure functions over valid UTF-8.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "datastore/quality/char_classes.h"
#include "datastore/quality/spans.h"

namespace tsumugi::quality {

// 「」『』（）【】 and half-width ｢｣.
enum class BracketProblem {
    Unclosed,    // an opening bracket never closed
    Unopened,    // a closing bracket with no opening one before it
};
struct BracketFinding {
    BracketProblem problem = BracketProblem::Unclosed;
    Span span;            // the bracket itself
    std::string bracket;  // its text, e.g. 「
};
std::vector<BracketFinding> checkBrackets(std::string_view text);
std::string_view bracketProblemName(BracketProblem p);

// Both widths of one kind in one text (１２３ beside 123, ＡＢＣ beside ABC, ｶﾀｶﾅ beside
// カタカナ). The spans are the runs of the rarer form (the full-width one on a tie), so a
// UI highlights the odd ones out.
enum class WidthKind { Digits, Latin, Katakana };
struct WidthFinding {
    WidthKind kind = WidthKind::Digits;
    size_t halfwidth = 0, fullwidth = 0;  // code points of each form
    std::vector<Span> spans;
};
std::vector<WidthFinding> checkWidthMixing(std::string_view text);
// The same with countClasses(text) already at hand.
std::vector<WidthFinding> checkWidthMixing(std::string_view text, const ClassCounts& counts);
std::string_view widthKindName(WidthKind k);

// Where NFKC normalization would change the text, with what it would become. The text
// itself is never changed.
struct NfkcDifference {
    Span span;
    std::string original;
    std::string normalized;
};
std::vector<NfkcDifference> nfkcDifferences(std::string_view text);

// The language a text is written in, from its letters (fenced code blocks left out):
// "ja" (kana present), "zh" (Han without kana), "ko" (Hangul), "en" (Latin script), or
// "" when there are too few letters to say (fewer than 4).
std::string guessLanguage(std::string_view text);

struct LanguageMismatch {
    bool mismatch = false;
    std::string promptLanguage, answerLanguage;
};
// A prompt in one language answered in another. A prompt that asks for a translation or
// names the answer's language (翻訳, 英訳, 和訳, 英語で, 日本語で, translate, in English …)
// is never a mismatch.
LanguageMismatch checkLanguageMismatch(std::string_view prompt, std::string_view answer);

}  // namespace tsumugi::quality
