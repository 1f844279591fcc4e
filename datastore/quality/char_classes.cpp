#include "datastore/quality/char_classes.h"

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

ClassCounts countClasses(std::string_view text)
{
    ClassCounts counts;
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        ++counts.chars;
        if (c < 0x80) {
            const CharClass k = kAscii[c];
            ++counts.byClass[static_cast<size_t>(k)];
            counts.asciiDigits += k == CharClass::Digit;
            counts.asciiLatin += k == CharClass::Latin;
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
        CharClass k;
        if (cp >= 0x3041 && cp <= 0x309F) k = CharClass::Hiragana;  // the common cases first
        else if (cp >= 0x4E00 && cp <= 0x9FFF) k = CharClass::Kanji;
        else k = classify(cp);
        ++counts.byClass[static_cast<size_t>(k)];
        switch (cp) {
        case U'、': case U'，': case U'。': case U'．': case U'！': case U'？': ++counts.kutenToten; break;
        default: break;
        }
        if (k == CharClass::Digit) ++counts.fullwidthDigits;
        if (k == CharClass::Latin && cp >= 0xFF21) ++counts.fullwidthLatin;
        if (k == CharClass::Katakana && cp >= 0xFF66) ++counts.halfwidthKatakana;
        if (k == CharClass::OtherLetter && isHangul(cp)) ++counts.hangul;
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
