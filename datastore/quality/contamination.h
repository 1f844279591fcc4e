// Contamination: training items that share a long run of characters with an evaluation
// set. Evaluation files are JSONL in their own layouts; the text fields read by default:
//   ELYZA-tasks-100       input, output (eval_aspect is grading notes and left out)
//   Japanese MT-Bench     turns (a list), reference (a list, when present)
//   plain                 text, instruction, prompt, question, input, output, response,
//                         answer, context
//   chat                  messages[].content, conversations[].value
// or the fields the caller names. Matching ignores whitespace: n is counted in
// non-whitespace code points, so a reflowed copy still matches. An evaluation text shorter
// than n (but at least shortMin characters) matches when it appears whole.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datastore/quality/spans.h"

namespace tsumugi::quality {

struct EvalText {
    std::string file;
    int64_t line = 0;
    std::string field;  // e.g. "input", "turns[1]"
    std::string text;
};

// Every text field of every line. Throws ParseError (file:line) on a line that is not a
// JSON object or holds none of the fields, naming the fields looked for and --field.
std::vector<EvalText> readTextFields(const std::string& path, const std::vector<std::string>& fields = {});

struct ContaminationHit {
    size_t eval = 0;      // index into the index's texts
    Span itemSpan;        // in the item's text
    Span evalSpan;        // in the evaluation text
    size_t length = 0;    // non-whitespace code points shared
};

class ContaminationIndex {
public:
    ContaminationIndex(std::vector<EvalText> texts, size_t ngram = 50, size_t shortMin = 20);
    // Maximal shared runs of at least n non-whitespace characters (or a whole short
    // evaluation text), in item order.
    std::vector<ContaminationHit> find(std::string_view text) const;
    const std::vector<EvalText>& texts() const { return m_texts; }
    size_t ngram() const { return m_n; }
    size_t tooShort() const { return m_tooShort; }  // texts shorter than shortMin: never matched

private:
    struct Entry {
        uint64_t hash;
        uint32_t text;
        uint32_t pos;  // in non-whitespace code points
    };
    struct Table {
        std::vector<Entry> entries;     // sorted by hash
        std::vector<uint64_t> present;  // open-addressing set of hashes (0 = empty)
        uint64_t mask = 0;
        void build();
        bool contains(uint64_t h) const;
    };
    std::vector<EvalText> m_texts;
    std::vector<std::vector<char32_t>> m_cps;        // non-whitespace code points of each text
    std::vector<std::vector<uint32_t>> m_offsets;    // their byte offsets (+ one past the end)
    size_t m_n, m_shortMin, m_tooShort = 0;
    Table m_long, m_short;  // n-grams of long texts; the first shortMin characters of short ones
};

}  // namespace tsumugi::quality
