// Repetition within one text, as Swallow's corpus filter measures it on characters (the
// Gopher rules, Rae et al. 2021, measure words; Japanese has no spaces between words):
//   duplicate line / sentence fraction: occurrences beyond the first of a repeated line
//     (sentence) over all lines (sentences), and the same counted in characters;
//   top n-gram fraction (n = 2, 3, 4): the count of the most frequent character n-gram
//     over the number of n-grams in the text;
//   duplicate n-gram fraction (n = 5 … 10): distinct character n-grams that occur more
//     than once over distinct n-grams.
// Lines are split on \n (a trailing \r dropped); blank lines are not counted. Sentences end
// at 。．！？!? (a run of them ends one sentence) or at the end of a line.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace tsumugi::quality {

inline constexpr int kTopNgramMin = 2, kTopNgramMax = 4;
inline constexpr int kDupNgramMin = 5, kDupNgramMax = 10;

struct RepetitionStats {
    size_t lines = 0, sentences = 0;
    double duplicateLineFraction = 0, duplicateLineCharFraction = 0;
    double duplicateSentenceFraction = 0, duplicateSentenceCharFraction = 0;
    std::array<double, kTopNgramMax + 1> topNgramFraction{};        // index n = 2 … 4
    std::array<double, kDupNgramMax + 1> duplicateNgramFraction{};  // index n = 5 … 10
};

RepetitionStats measureRepetition(std::string_view text);

// The same measured directly on the bytes, n-grams of every position in one table: what
// measureRepetition does for text that is not valid UTF-8, and the reference its fast path
// is tested against.
RepetitionStats measureRepetitionReference(std::string_view text);

}  // namespace tsumugi::quality
