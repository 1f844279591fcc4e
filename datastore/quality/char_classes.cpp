#include "datastore/quality/char_classes.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/utf8.h"

namespace tsumugi::quality {

namespace {

constexpr std::array<CharClass, 128> asciiTable()
{
    std::array<CharClass, 128> t{};
    for (size_t c = 0; c < 128; ++c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            t[c] = CharClass::Latin;
        else if (c >= '0' && c <= '9')
            t[c] = CharClass::Digit;
        else if (c == ' ' || (c >= '\t' && c <= '\r'))
            t[c] = CharClass::Whitespace;
        else
            t[c] = CharClass::Symbol;
    }
    return t;
}
constexpr auto kAscii = asciiTable();

bool isHangul(char32_t cp)
{
    return (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F);
}

bool isOtherLetter(char32_t cp)
{
    return isHangul(cp) || (cp >= 0x0370 && cp <= 0x03FF) ||  // Greek
           (cp >= 0x0400 && cp <= 0x052F) ||                   // Cyrillic
           (cp >= 0x0590 && cp <= 0x06FF) ||                   // Hebrew, Arabic
           (cp >= 0x0900 && cp <= 0x0DFF) ||                   // Indic scripts
           (cp >= 0x0E00 && cp <= 0x0EFF);                     // Thai, Lao
}

}  // namespace

CharClass classify(char32_t cp)
{
    if (cp < 0x80) return kAscii[cp];
    if (utf8::isHiragana(cp)) return CharClass::Hiragana;
    if (utf8::isKatakana(cp)) return CharClass::Katakana;
    if (utf8::isKanji(cp)) return CharClass::Kanji;
    if (cp >= 0xFF10 && cp <= 0xFF19) return CharClass::Digit;
    if ((cp >= 0xFF21 && cp <= 0xFF3A) || (cp >= 0xFF41 && cp <= 0xFF5A)) return CharClass::Latin;
    if (utf8::isWhitespace(cp) || cp == 0x2028 || cp == 0x2029 || cp == 0x0085) return CharClass::Whitespace;
    if ((cp >= 0x00C0 && cp <= 0x024F && cp != 0x00D7 && cp != 0x00F7) || (cp >= 0x1E00 && cp <= 0x1EFF))
        return CharClass::Latin;
    if (isOtherLetter(cp)) return CharClass::OtherLetter;
    return CharClass::Symbol;
}

std::string_view charClassName(CharClass c)
{
    static constexpr std::array<std::string_view, kCharClassCount> names = {
        "hiragana", "katakana", "kanji", "latin", "digit", "whitespace", "symbol", "other_letter"};
    return names[static_cast<size_t>(c)];
}

namespace {

// What countClasses records for one code point: its class in the low three bits and, above
// them, which of the extra counters it adds to (at most one).
enum Extra : unsigned char {
    kNoExtra,
    kKutenToten,
    kAsciiDigit,
    kFullwidthDigit,
    kAsciiLatin,
    kFullwidthLatin,
    kHalfwidthKatakana,
    kHangul
};
constexpr size_t kCodes = kCharClassCount * 8;

// asciiByte: the code point was one byte (malformed longer forms of ASCII count as others).
unsigned char codeOf(char32_t cp, bool asciiByte)
{
    const CharClass k = classify(cp);
    Extra extra = kNoExtra;
    if (asciiByte) {
        extra = k == CharClass::Digit ? kAsciiDigit : k == CharClass::Latin ? kAsciiLatin : kNoExtra;
    } else {
        switch (cp) {
        case U'、': case U'，': case U'。': case U'．': case U'！': case U'？': extra = kKutenToten; break;
        default: break;
        }
        if (k == CharClass::Digit) extra = kFullwidthDigit;
        if (k == CharClass::Latin && cp >= 0xFF21) extra = kFullwidthLatin;
        if (k == CharClass::Katakana && cp >= 0xFF66) extra = kHalfwidthKatakana;
        if (k == CharClass::OtherLetter && isHangul(cp)) extra = kHangul;
    }
    return static_cast<unsigned char>(static_cast<unsigned>(k) | unsigned(extra) << 3);
}

// codeOf for multi-byte code points of the Basic Multilingual Plane in two levels: a block of 256 codes per high byte,
// blocks that are alike stored once (all of CJK shares one), so the whole table stays in
// cache: about 20 blocks.
struct BmpCodes {
    std::array<uint16_t, 256> block{};
    std::vector<unsigned char> codes;  // [block, low byte]
    BmpCodes()
    {
        for (char32_t high = 0; high < 256; ++high) {
            std::array<unsigned char, 256> row;
            for (char32_t low = 0; low < 256; ++low) row[low] = codeOf(high << 8 | low, false);
            size_t b = 0;
            while (b < codes.size() / 256 && !std::equal(row.begin(), row.end(), codes.begin() + long(b * 256))) ++b;
            if (b == codes.size() / 256) codes.insert(codes.end(), row.begin(), row.end());
            block[high] = static_cast<uint16_t>(b);
        }
    }
    unsigned char operator()(char32_t cp) const { return codes[size_t(block[cp >> 8]) << 8 | (cp & 0xFF)]; }
};

constexpr std::array<unsigned char, 128> asciiCodes()
{
    std::array<unsigned char, 128> t{};
    for (size_t c = 0; c < 128; ++c) {
        const CharClass k = kAscii[c];
        const Extra extra = k == CharClass::Digit ? kAsciiDigit : k == CharClass::Latin ? kAsciiLatin : kNoExtra;
        t[c] = static_cast<unsigned char>(static_cast<unsigned>(k) | unsigned(extra) << 3);
    }
    return t;
}
constexpr auto kAsciiCodes = asciiCodes();

}  // namespace

ClassCounts countClasses(std::string_view text)
{
    static const BmpCodes bmp;
    std::array<size_t, kCodes> perCode{};
    size_t chars = 0;
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        ++chars;
        if (c < 0x80) {
            ++perCode[kAsciiCodes[c]];
            ++i;
            continue;
        }
        char32_t cp;
        if ((c & 0xF0) == 0xE0 && i + 2 < n) {  // most Japanese: three bytes, decoded here
            cp = char32_t(c & 0x0F) << 12 | char32_t(s[i + 1] & 0x3F) << 6 | char32_t(s[i + 2] & 0x3F);
            i += 3;
        } else {
            cp = utf8::next(text, i);
        }
        ++perCode[cp < 0x10000 ? bmp(cp) : codeOf(cp, false)];
    }
    ClassCounts counts;
    counts.chars = chars;
    for (size_t code = 0; code < kCodes; ++code) {
        const size_t count = perCode[code];
        counts.byClass[code & 7] += count;
        switch (Extra(code >> 3)) {
        case kNoExtra: break;
        case kKutenToten: counts.kutenToten += count; break;
        case kAsciiDigit: counts.asciiDigits += count; break;
        case kFullwidthDigit: counts.fullwidthDigits += count; break;
        case kAsciiLatin: counts.asciiLatin += count; break;
        case kFullwidthLatin: counts.fullwidthLatin += count; break;
        case kHalfwidthKatakana: counts.halfwidthKatakana += count; break;
        case kHangul: counts.hangul += count; break;
        }
    }
    return counts;
}

std::string_view proseOf(std::string_view text, std::string& storage)
{
    if (text.find("```") == std::string_view::npos) return text;
    storage.clear();
    bool inCode = false;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        end = end == std::string_view::npos ? text.size() : end + 1;
        const std::string_view line = text.substr(pos, end - pos);
        const size_t first = line.find_first_not_of(" \t");
        const bool fence = first != std::string_view::npos && line.substr(first, 3) == "```";
        if (fence)
            inCode = !inCode;
        else if (!inCode)
            storage.append(line);
        pos = end;
    }
    return storage;
}

}  // namespace tsumugi::quality
