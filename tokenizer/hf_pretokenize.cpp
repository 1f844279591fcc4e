// Split scanners for the regexes of Llama 3, Qwen2 and GPT-2, written out by hand.
//
// Why hand-written: the patterns are alternations of greedy character-class runs whose
// backtracking can be resolved by looking at most two code points ahead, so a scanner that
// decides each alternative directly gives the leftmost-first match a backtracking engine
// (Oniguruma, which the Rust `tokenizers` crate uses) would give, in linear time. Each
// alternative below carries the piece of the pattern it implements and why the scanner's
// decision equals the engine's. Notation: i = position (code point index), n = length,
// L/N/S = \p{L}, \p{N}, \s; run_X(i) = end of the maximal run of class X from i.
#include "tokenizer/hf_pretokenize.h"

#include <array>
#include <unicode/uchar.h>

namespace tsumugi::tok::hf {

size_t decodeUtf8(std::string_view text, size_t pos, char32_t& cp)
{
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    const unsigned c = s[pos];
    if (c < 0x80) {
        cp = c;
        return 1;
    }
    auto cont = [&](size_t k) { return pos + k < n && (s[pos + k] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF && cont(1)) {
        cp = ((c & 0x1F) << 6) | (s[pos + 1] & 0x3F);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
        const char32_t v = ((c & 0x0F) << 12) | ((s[pos + 1] & 0x3F) << 6) | (s[pos + 2] & 0x3F);
        if (v >= 0x800 && (v < 0xD800 || v > 0xDFFF)) {
            cp = v;
            return 3;
        }
    }
    if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
        const char32_t v =
            ((c & 0x07) << 18) | ((s[pos + 1] & 0x3F) << 12) | ((s[pos + 2] & 0x3F) << 6) | (s[pos + 3] & 0x3F);
        if (v >= 0x10000 && v <= 0x10FFFF) {
            cp = v;
            return 4;
        }
    }
    cp = 0x110000 + c;
    return 1;
}

namespace {

uint8_t computeClass(char32_t cp)
{
    if (cp > 0x10FFFF) return 0;
    uint8_t cls = 0;
    const auto mask = U_GET_GC_MASK(static_cast<UChar32>(cp));
    if (mask & U_GC_L_MASK) cls |= kLetter;
    if (mask & U_GC_N_MASK) cls |= kNumber;
    if (u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE)) cls |= kSpace;
    if (cp == '\r' || cp == '\n') cls |= kLineBreak;
    return cls;
}

// Classes of the Basic Multilingual Plane, computed once (64 KiB): Japanese text is all BMP.
const std::array<uint8_t, 0x10000>& bmpClasses()
{
    static const auto table = [] {
        std::array<uint8_t, 0x10000> t{};
        for (char32_t c = 0; c < 0x10000; ++c) t[c] = computeClass(c);
        return t;
    }();
    return table;
}

constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Simple case folding restricted to what the contractions need: ASCII letters, and U+017F
// LATIN SMALL LETTER LONG S, which Oniguruma's (?i) folds to 's' (Unicode CaseFolding.txt).
char32_t foldForContraction(char32_t c)
{
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c == 0x017F) return 's';
    return c;
}

// Length (in code points) of a contraction 's 't 're 've 'm 'll 'd starting at i, or 0.
size_t contraction(const char32_t* cp, size_t i, size_t n, bool caseInsensitive)
{
    if (cp[i] != '\'' || i + 1 >= n) return 0;
    auto f = [&](char32_t c) { return caseInsensitive ? foldForContraction(c) : c; };
    const char32_t a = f(cp[i + 1]);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 >= n) return 0;
    const char32_t b = f(cp[i + 2]);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

struct Scan {
    const char32_t* cp;
    const uint8_t* cls;
    size_t n;
    size_t run(size_t i, uint8_t anyOf) const  // end of the run of code points having a class in anyOf
    {
        while (i < n && (cls[i] & anyOf)) ++i;
        return i;
    }
    size_t runNot(size_t i, uint8_t noneOf) const
    {
        while (i < n && !(cls[i] & noneOf)) ++i;
        return i;
    }
};

// End of the Llama 3 / Qwen2 match starting at i (always > i: some alternative matches at
// every position). maxDigits is 3 for Llama 3 (\p{N}{1,3}) and 1 for Qwen2 (\p{N}).
size_t matchLlama3(const Scan& s, size_t i, size_t maxDigits)
{
    const uint8_t c = s.cls[i];
    // (?i:'s|'t|'re|'ve|'m|'ll|'d): tried first, so "'s" wins over the [^…]?\p{L}+ below.
    if (const size_t k = contraction(s.cp, i, s.n, true)) return i + k;
    // [^\r\n\p{L}\p{N}]?\p{L}+ : if cp[i] is a letter the optional class cannot take it (it
    // excludes L), so the match is the letter run. Otherwise the optional takes cp[i] when it
    // is not \r, \n or N and a letter follows; if no letter follows, backtracking to an empty
    // optional leaves \p{L}+ at a non-letter, which fails.
    if (c & kLetter) return s.run(i, kLetter);
    if (!(c & (kNumber | kLineBreak)) && i + 1 < s.n && (s.cls[i + 1] & kLetter)) return s.run(i + 1, kLetter);
    // \p{N}{1,3}: greedy, at most maxDigits.
    if (c & kNumber) {
        size_t j = i;
        while (j < s.n && j - i < maxDigits && (s.cls[j] & kNumber)) ++j;
        return j;
    }
    // " ?[^\s\p{L}\p{N}]+[\r\n]*": the optional space is taken when the next code point is in
    // the class (greedy); with an empty optional the class must take cp[i] itself. Neither
    // quantified part can give anything back that would let a later part match more.
    const uint8_t notOther = kSpace | kLetter | kNumber;
    size_t start = s.n;
    if (s.cp[i] == ' ' && i + 1 < s.n && !(s.cls[i + 1] & notOther))
        start = i + 1;
    else if (!(c & notOther))
        start = i;
    if (start != s.n) {
        const size_t j = s.runNot(start, notOther);
        return s.run(j, kLineBreak);
    }
    // Here cp[i] is whitespace (every other class was handled above). Let [i, j) be its run.
    const size_t j = s.run(i, kSpace);
    // \s*[\r\n]+ : \s* first takes the whole run and gives back one code point at a time
    // until [\r\n]+ can start, i.e. at the last line break of the run; [\r\n]+ then takes
    // only that one (what follows it inside the run is not a line break).
    for (size_t k = j; k > i; --k)
        if (s.cls[k - 1] & kLineBreak) return k;
    // \s+(?!\S): the whole run when it ends the text; else give back one code point so the
    // lookahead sees whitespace, which needs a run of two or more.
    if (j == s.n) return j;
    if (j - i >= 2) return j - 1;
    // \s+
    return j;
}

// End of the GPT-2 match starting at i.
size_t matchGpt2(const Scan& s, size_t i)
{
    if (const size_t k = contraction(s.cp, i, s.n, false)) return i + k;
    const uint8_t c = s.cls[i];
    const bool spaceThen = s.cp[i] == ' ' && i + 1 < s.n;
    // " ?\p{L}+", " ?\p{N}+": the optional space only when the class follows it.
    if (spaceThen && (s.cls[i + 1] & kLetter)) return s.run(i + 1, kLetter);
    if (c & kLetter) return s.run(i, kLetter);
    if (spaceThen && (s.cls[i + 1] & kNumber)) return s.run(i + 1, kNumber);
    if (c & kNumber) return s.run(i, kNumber);
    // " ?[^\s\p{L}\p{N}]+"
    const uint8_t notOther = kSpace | kLetter | kNumber;
    if (spaceThen && !(s.cls[i + 1] & notOther)) return s.runNot(i + 1, notOther);
    if (!(c & notOther)) return s.runNot(i, notOther);
    // "\s+(?!\S)|\s+" as in matchLlama3.
    const size_t j = s.run(i, kSpace);
    if (j == s.n) return j;
    if (j - i >= 2) return j - 1;
    return j;
}

}  // namespace

uint8_t charClass(char32_t cp)
{
    if (cp < 0x10000) return bmpClasses()[cp];
    return computeClass(cp);
}

bool recognizeSplitPattern(std::string_view regex, SplitPattern& out)
{
    if (regex == kLlama3)
        out = SplitPattern::Llama3;
    else if (regex == kQwen2)
        out = SplitPattern::Qwen2;
    else if (regex == kGpt2)
        out = SplitPattern::Gpt2;
    else
        return false;
    return true;
}

const char* splitPatternText(SplitPattern p)
{
    switch (p) {
        case SplitPattern::Llama3:
            return kLlama3.data();
        case SplitPattern::Qwen2:
            return kQwen2.data();
        case SplitPattern::Gpt2:
            return kGpt2.data();
    }
    return "";
}

void splitByPattern(SplitPattern p, std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& pieces)
{
    thread_local std::vector<char32_t> cps;
    thread_local std::vector<uint8_t> cls;
    thread_local std::vector<uint32_t> offs;
    cps.clear();
    cls.clear();
    offs.clear();
    const auto& bmp = bmpClasses();
    for (size_t pos = 0; pos < text.size();) {
        char32_t cp;
        const size_t len = decodeUtf8(text, pos, cp);
        cps.push_back(cp);
        cls.push_back(cp < 0x10000 ? bmp[cp] : computeClass(cp));
        offs.push_back(static_cast<uint32_t>(pos));
        pos += len;
    }
    offs.push_back(static_cast<uint32_t>(text.size()));
    const Scan s{cps.data(), cls.data(), cps.size()};
    for (size_t i = 0; i < s.n;) {
        const size_t j =
            p == SplitPattern::Gpt2 ? matchGpt2(s, i) : matchLlama3(s, i, p == SplitPattern::Llama3 ? 3 : 1);
        pieces.emplace_back(offs[i], offs[j]);
        i = j;
    }
}

namespace {
struct ByteMaps {
    std::array<char32_t, 256> toUnicode{};
    std::array<int16_t, 512> toByte{};
    ByteMaps()
    {
        toByte.fill(-1);
        // Printable bytes map to themselves; the others, in order, to U+0100 onwards.
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            toUnicode[b] = printable ? static_cast<char32_t>(b) : next++;
            toByte[toUnicode[b]] = static_cast<int16_t>(b);
        }
    }
};
const ByteMaps& byteMaps()
{
    static const ByteMaps maps;
    return maps;
}
}  // namespace

char32_t byteToUnicode(uint8_t b)
{
    return byteMaps().toUnicode[b];
}
int unicodeToByte(char32_t cp)
{
    return cp < 512 ? byteMaps().toByte[cp] : -1;
}

}  // namespace tsumugi::tok::hf
