// Pieces of Hugging Face tokenizer.json that work on code points: the character classes the
// split patterns use (\p{L}, \p{N}, \s as Oniguruma sees them, through ICU), the split
// patterns of Llama 3 / GPT-2 / Qwen2 as hand-written scanners (linear time, no backtracking
// regex engine), and GPT-2's bytes→unicode map of the ByteLevel pre-tokenizer and decoder.
//
// Text here is bytes that should be UTF-8; a byte that does not start a valid sequence is
// taken as one "code point" of its own that belongs to no class, so nothing is ever lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tsumugi::tok::hf {

enum CharClass : uint8_t {
    kLetter = 1,     // \p{L}
    kNumber = 2,     // \p{N}
    kSpace = 4,      // \s (Unicode White_Space)
    kLineBreak = 8,  // \r or \n
};

// Decodes one code point at text[pos]; returns its byte length (1 for an invalid byte, whose
// code point is reported as 0x110000 + byte).
size_t decodeUtf8(std::string_view text, size_t pos, char32_t& cp);
uint8_t charClass(char32_t cp);
inline bool isWhiteSpace(char32_t cp)
{
    return (charClass(cp) & kSpace) != 0;
}

// The split patterns we recognise by their exact text in tokenizer.json.
enum class SplitPattern {
    Llama3,  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
             // ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Qwen2,   // the same with \p{N} (one digit per piece)
    Gpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
};
// nullopt-like: returns false when the pattern text is not one we know.
bool recognizeSplitPattern(std::string_view regex, SplitPattern& out);
const char* splitPatternText(SplitPattern p);

// Byte ranges [begin, end) of the pieces the pattern cuts `text` into (every byte belongs to
// exactly one piece, in order: the patterns match at every position, so there are no gaps).
void splitByPattern(SplitPattern p, std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& pieces);

// GPT-2 bytes_to_unicode: byte → code point, and back (-1 for a code point that is no byte).
char32_t byteToUnicode(uint8_t b);
int unicodeToByte(char32_t cp);

}  // namespace tsumugi::tok::hf
