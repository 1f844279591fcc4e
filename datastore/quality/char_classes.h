// Character classes of Japanese text: how much of it is hiragana, katakana, kanji, Latin,
// digits, symbols and whitespace, and the fractions Swallow's corpus filter uses. Pure
// functions over valid UTF-8; lengths are code points. Classes build on core/utf8.h.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace tsumugi::quality {

enum class CharClass : unsigned char {
    Hiragana,
    Katakana,     // with ー and half-width katakana (core/utf8.h)
    Kanji,        // with 々
    Latin,        // ASCII and full-width letters, accented Latin
    Digit,        // ASCII and full-width digits
    Whitespace,   // with U+3000 and NBSP
    Symbol,       // punctuation (、。「」 …), symbols, emoji
    OtherLetter,  // other scripts: Hangul, Cyrillic, Greek, Thai, Arabic …
};
inline constexpr size_t kCharClassCount = 8;

CharClass classify(char32_t cp);
std::string_view charClassName(CharClass c);

struct ClassCounts {
    size_t chars = 0;  // code points
    std::array<size_t, kCharClassCount> byClass{};
    size_t kutenToten = 0;  // 、，。．！？ (full-width), counted as Japanese by Swallow
    size_t hangul = 0;      // part of OtherLetter
    size_t asciiDigits = 0, fullwidthDigits = 0;
    size_t asciiLatin = 0, fullwidthLatin = 0;
    size_t halfwidthKatakana = 0;  // part of Katakana

    size_t operator[](CharClass c) const { return byClass[static_cast<size_t>(c)]; }
    bool operator==(const ClassCounts&) const = default;
    // Share of all code points (0 for an empty text).
    double share(CharClass c) const { return chars ? double((*this)[c]) / double(chars) : 0.0; }
    size_t japanese() const
    {
        return (*this)[CharClass::Hiragana] + (*this)[CharClass::Katakana] + (*this)[CharClass::Kanji] + kutenToten;
    }
    size_t letters() const
    {
        return (*this)[CharClass::Hiragana] + (*this)[CharClass::Katakana] + (*this)[CharClass::Kanji] +
               (*this)[CharClass::Latin] + (*this)[CharClass::OtherLetter];
    }
    // Swallow's definitions (Okazaki et al. 2024, quality filter of Swallow corpus v1):
    // hiragana and katakana as shares of the Japanese characters (hiragana + katakana +
    // kanji + 、，。．！？), Japanese characters as a share of all characters.
    double hiraganaFraction() const { return japanese() ? double((*this)[CharClass::Hiragana]) / double(japanese()) : 0; }
    double katakanaFraction() const { return japanese() ? double((*this)[CharClass::Katakana]) / double(japanese()) : 0; }
    double japaneseFraction() const { return chars ? double(japanese()) / double(chars) : 0.0; }
};

ClassCounts countClasses(std::string_view text);

// The text without fenced code blocks (``` … ```, the fence lines included): ratios and
// repetition are measured on prose, since code is Latin and repeats lines by nature. An
// unclosed fence runs to the end. Returns `text` itself when it holds no fence.
std::string_view proseOf(std::string_view text, std::string& storage);

}  // namespace tsumugi::quality
