// UTF-8 helpers: validation that says where a sequence breaks, code point iteration and
// character classes for Japanese text. Lengths are counted in code points, never bytes
// or whitespace-separated words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tsumugi::utf8 {

// Byte offset of the first invalid sequence (overlong forms, surrogates and values past
// U+10FFFF are invalid), or nullopt when the whole string is valid UTF-8.
std::optional<size_t> firstInvalid(std::string_view text);
inline bool isValid(std::string_view text) { return !firstInvalid(text).has_value(); }

// Decodes the code point starting at text[pos] and advances pos; text must be valid.
char32_t next(std::string_view text, size_t& pos);

// Length in code points of valid UTF-8.
size_t length(std::string_view text);

void append(std::string& out, char32_t cp);

bool isHiragana(char32_t cp);
bool isKatakana(char32_t cp);  // includes the prolonged sound mark ー and half-width katakana
bool isKanji(char32_t cp);     // CJK unified ideographs and the iteration mark 々
bool isJapanesePunctuation(char32_t cp);
bool isWhitespace(char32_t cp);

}  // namespace tsumugi::utf8
