#include "datastore/quality/pii.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>

#include "core/utf8.h"

namespace tsumugi::quality {

std::string_view piiKindName(PiiKind kind)
{
    switch (kind) {
    case PiiKind::Email: return "email";
    case PiiKind::Url: return "url";
    case PiiKind::Phone: return "phone";
    case PiiKind::PostalCode: return "postal_code";
    case PiiKind::MyNumber: return "my_number";
    case PiiKind::CardNumber: return "card_number";
    }
    return "?";
}

int myNumberCheckDigit(std::string_view first11)
{
    int sum = 0;
    for (int n = 1; n <= 11; ++n) {
        const int p = first11[size_t(11 - n)] - '0';
        const int q = n <= 6 ? n + 1 : n - 5;
        sum += p * q;
    }
    const int r = sum % 11;
    return r <= 1 ? 0 : 11 - r;
}

bool luhnValid(std::string_view digits)
{
    int sum = 0;
    bool twice = false;
    for (size_t i = digits.size(); i-- > 0;) {
        int d = digits[i] - '0';
        if (twice && (d *= 2) > 9) d -= 9;
        sum += d;
        twice = !twice;
    }
    return !digits.empty() && sum % 10 == 0;
}

namespace {

bool asciiAlnum(char32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool fullwidthAlnum(char32_t c)
{
    return (c >= 0xFF10 && c <= 0xFF19) || (c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A);
}
int digitValue(char32_t c)
{
    if (c >= '0' && c <= '9') return int(c - '0');
    if (c >= 0xFF10 && c <= 0xFF19) return int(c - 0xFF10);
    return -1;
}
bool isHyphen(char32_t c)
{
    return c == '-' || (c >= 0x2010 && c <= 0x2015) || c == 0x2212 || c == 0xFF0D || c == 0x30FC || c == 0xFF70;
}
bool isSpace(char32_t c) { return c == ' ' || c == 0x3000; }
bool isParen(char32_t c) { return c == '(' || c == ')' || c == 0xFF08 || c == 0xFF09; }

// The code point before byte `pos` and where it starts; 0 at the start of the text.
char32_t before(std::string_view text, size_t pos, size_t* start = nullptr)
{
    if (pos == 0) return 0;
    size_t p = pos - 1;
    while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
    if (start) *start = p;
    size_t q = p;
    return utf8::next(text, q);
}
char32_t at(std::string_view text, size_t pos)
{
    if (pos >= text.size()) return 0;
    return utf8::next(text, pos);
}

// A run of digit groups: 03-1234-5678, ０９０（１２３４）５６７８, 4111 1111 1111 1111.
struct NumberToken {
    size_t begin = 0, end = 0;  // bytes, first digit to last digit
    std::vector<std::string> groups;
    bool hyphen = false, space = false, paren = false;
    std::string digits() const
    {
        std::string d;
        for (const auto& g : groups) d += g;
        return d;
    }
};

// Reads groups from a digit at `pos`. A separator is one hyphen or space, or a parenthesis
// with at most one hyphen or space beside it; it must be followed by a digit.
NumberToken readNumber(std::string_view text, size_t pos)
{
    NumberToken t;
    t.begin = pos;
    while (true) {
        std::string group;
        size_t p = pos;
        while (p < text.size()) {
            size_t q = p;
            const int d = digitValue(utf8::next(text, q));
            if (d < 0) break;
            group += char('0' + d);
            p = q;
        }
        t.groups.push_back(std::move(group));
        t.end = p;
        // A separator?
        size_t q = p;
        bool hyphen = false, space = false, paren = false;
        int plain = 0;
        for (int k = 0; k < 3 && q < text.size(); ++k) {
            size_t r = q;
            const char32_t c = utf8::next(text, r);
            if (isParen(c) && !paren) {
                paren = true;
            } else if ((isHyphen(c) || isSpace(c)) && plain == 0) {
                (isHyphen(c) ? hyphen : space) = true;
                ++plain;
            } else {
                break;
            }
            q = r;
        }
        if (q == p || digitValue(at(text, q)) < 0) break;
        t.hyphen |= hyphen, t.space |= space, t.paren |= paren;
        pos = q;
    }
    return t;
}

std::vector<size_t> groupLengths(const NumberToken& t)
{
    std::vector<size_t> lengths;
    for (const auto& g : t.groups) lengths.push_back(g.size());
    return lengths;
}

bool phoneDigits(const std::string& d)
{
    if (d.size() < 10 || d.size() > 11 || d[0] != '0' || d[1] == '0') return false;
    if (d.find_first_not_of(d[1], 1) == std::string::npos) return false;  // 0111111111
    const bool mobilePrefix = d[2] == '0' && (d[1] == '2' || (d[1] >= '5' && d[1] <= '9'));  // 020 050 060 070 080 090
    if (d.size() == 11) return mobilePrefix || d.compare(0, 4, "0800") == 0;
    return !mobilePrefix;  // 10 digits: fixed lines, 0120, 0570
}

bool phoneGroups(const NumberToken& t)
{
    const auto g = groupLengths(t);
    if (g.size() == 1) return !t.space;
    if (g.size() > 3 || t.groups[0][0] != '0' || g[0] < 2 || g[0] > 5) return false;
    return g.back() >= 3 && g.back() <= 4;
}

bool cardGroups(const std::vector<size_t>& g)
{
    if (g.size() == 1) return true;
    if (g == std::vector<size_t>{4, 6, 5} || g == std::vector<size_t>{4, 6, 4}) return true;
    for (size_t i = 0; i + 1 < g.size(); ++i)
        if (g[i] != 4) return false;
    return g.back() >= 1 && g.back() <= 4;
}

const std::array<std::string_view, 47> kPrefectures = {
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県"};

bool postalContext(std::string_view text, const NumberToken& t)
{
    size_t start = t.begin;
    char32_t prev = before(text, start, &start);
    if (isSpace(prev)) prev = before(text, start, &start);
    if (prev == U'〒') return true;
    const size_t from = t.begin > 40 ? t.begin - 40 : 0;
    const std::string_view window = text.substr(from, t.begin - from);
    for (std::string_view key : {"郵便番号", "住所", "所在地", "postal", "Postal", "POSTAL", "zip", "ZIP", "Zip"})
        if (window.find(key) != std::string_view::npos) return true;
    size_t after = t.end;
    if (isSpace(at(text, after))) utf8::next(text, after);
    const std::string_view rest = text.substr(after);
    for (std::string_view pref : kPrefectures)
        if (rest.substr(0, pref.size()) == pref) return true;
    return false;
}

// What a token is, if anything; `national` gets the digits to report.
std::optional<PiiKind> classify(std::string_view text, const NumberToken& t, bool international, std::string& digits)
{
    digits = t.digits();
    const auto g = groupLengths(t);
    if (international) {  // +81 …: national form is 0 + the rest (a (0) written after +81 kept once)
        std::string rest = digits.substr(2);
        if (rest.empty() || rest[0] != '0') rest = "0" + rest;
        if (!phoneDigits(rest)) return std::nullopt;
        digits = rest;
        return PiiKind::Phone;
    }
    const size_t n = digits.size();
    if (n >= 13 && n <= 19 && digits[0] >= '2' && digits[0] <= '6' && cardGroups(g) && luhnValid(digits))
        return PiiKind::CardNumber;
    if (n == 12 && (g.size() == 1 || g == std::vector<size_t>{4, 4, 4}) &&
        myNumberCheckDigit(std::string_view(digits).substr(0, 11)) == digits[11] - '0')
        return PiiKind::MyNumber;
    if (phoneDigits(digits) && phoneGroups(t)) return PiiKind::Phone;
    if (((g == std::vector<size_t>{3, 4} && !t.space && !t.paren) || g == std::vector<size_t>{7}) &&
        postalContext(text, t)) {
        if (g.size() == 1) {  // seven digits in a row only right after 〒
            size_t start = t.begin;
            char32_t prev = before(text, start, &start);
            if (isSpace(prev)) prev = before(text, start, &start);
            if (prev != U'〒') return std::nullopt;
        }
        return PiiKind::PostalCode;
    }
    return std::nullopt;
}

// Spaces may glue unrelated numbers together ("2026 03-1234-5678"): the parts between
// separators that hold a space, each read alone.
std::vector<NumberToken> splitAtSpaces(std::string_view text, const NumberToken& t)
{
    std::vector<NumberToken> parts;
    NumberToken cur;
    cur.begin = t.begin;
    size_t p = t.begin;
    while (p < t.end) {
        std::string group;
        while (p < t.end) {
            size_t q = p;
            const int d = digitValue(utf8::next(text, q));
            if (d < 0) break;
            group += char('0' + d);
            p = q;
        }
        cur.groups.push_back(std::move(group));
        cur.end = p;
        bool space = false, hyphen = false, paren = false;
        while (p < t.end && digitValue(at(text, p)) < 0) {
            const char32_t c = utf8::next(text, p);
            space |= isSpace(c), hyphen |= isHyphen(c), paren |= isParen(c);
        }
        if (p >= t.end) break;
        if (space) {
            parts.push_back(std::move(cur));
            cur = NumberToken{};
            cur.begin = p;
        } else {
            cur.hyphen |= hyphen, cur.paren |= paren;
        }
    }
    parts.push_back(std::move(cur));
    return parts;
}

// Numbers glued to letters, or inside a longer figure (1.090…, 3/0312345678), are not PII.
bool separated(std::string_view text, size_t begin, size_t end)
{
    size_t start = begin;
    const char32_t prev = before(text, begin, &start);
    if (asciiAlnum(prev) || fullwidthAlnum(prev)) return false;
    if (prev == '.' || prev == ',' || prev == '/' || prev == 0xFF0E || prev == 0xFF0C || prev == 0xFF0F) {
        const char32_t prev2 = before(text, start);
        if (digitValue(prev2) >= 0) return false;
    }
    size_t q = end;
    const char32_t next = at(text, q);
    if (asciiAlnum(next) || fullwidthAlnum(next)) return false;
    if (next == '.' || next == ',' || next == '/' || next == 0xFF0E || next == 0xFF0C || next == 0xFF0F) {
        utf8::next(text, q);
        if (digitValue(at(text, q)) >= 0) return false;
    }
    return true;
}

void scanNumbers(std::string_view text, std::vector<PiiFinding>& out, const std::vector<std::pair<size_t, size_t>>& taken)
{
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    auto covered = [&](size_t pos) {
        for (const auto& [b, e] : taken)
            if (pos >= b && pos < e) return e;
        return size_t(0);
    };
    while (i < n) {
        const unsigned char c = s[i];
        const bool ascii = c >= '0' && c <= '9';
        const bool wide = c == 0xEF && i + 2 < n && s[i + 1] == 0xBC && s[i + 2] >= 0x90 && s[i + 2] <= 0x99;
        if (!ascii && !wide) {
            ++i;
            continue;
        }
        if (const size_t skip = covered(i)) {
            i = skip;
            continue;
        }
        NumberToken t = readNumber(text, i);
        // +81 in front, or an opening parenthesis: the finding starts there.
        size_t begin = t.begin;
        bool international = false;
        {
            size_t start = begin;
            const char32_t prev = before(text, begin, &start);
            if ((prev == '+' || prev == 0xFF0B) && t.groups[0].rfind("81", 0) == 0) {
                international = true;
                begin = start;
                if (t.groups[0].size() > 2) {  // +8190… written without a separator
                    t.groups.insert(t.groups.begin() + 1, t.groups[0].substr(2));
                    t.groups[0] = "81";
                }
            } else if (prev == '(' || prev == 0xFF08) {
                begin = start;
            }
        }
        std::string digits;
        auto report = [&](const NumberToken& token, size_t from, bool intl) {
            if (!separated(text, from, token.end)) return false;
            const auto kind = classify(text, token, intl, digits);
            if (!kind) return false;
            out.push_back({*kind, {from, token.end, 0, 0}, std::string(text.substr(from, token.end - from)), digits});
            return true;
        };
        if (!report(t, begin, international) && t.space && !international)
            for (const NumberToken& part : splitAtSpaces(text, t)) {
                size_t from = part.begin;
                const char32_t prev = before(text, part.begin, &from);
                report(part, prev == '(' || prev == 0xFF08 ? from : part.begin, false);
            }
        i = t.end;
    }
}

bool urlChar(unsigned char c)
{
    return c > 0x20 && c < 0x7F && !std::strchr("<>\"'`{}|\\^", c);
}

void scanUrls(std::string_view text, std::vector<PiiFinding>& out)
{
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t scheme = text.find("://", pos);
        const size_t www = text.find("www.", pos);
        size_t begin = std::min(scheme, www);
        if (begin == std::string_view::npos) break;
        size_t hostStart;
        if (begin == scheme) {
            size_t b = scheme;
            while (b > 0 && std::isalpha(static_cast<unsigned char>(text[b - 1]))) --b;
            const std::string_view name = text.substr(b, scheme - b);
            if (name != "http" && name != "https" && name != "ftp" && name != "HTTP" && name != "HTTPS") {
                pos = scheme + 3;
                continue;
            }
            begin = b;
            hostStart = scheme + 3;
        } else {
            if (begin > 0 && (urlChar(static_cast<unsigned char>(text[begin - 1])) &&
                              text[begin - 1] != '(' && text[begin - 1] != '[')) {
                pos = begin + 4;
                continue;
            }
            hostStart = begin + 4;
        }
        size_t end = hostStart;
        while (end < text.size() && urlChar(static_cast<unsigned char>(text[end]))) ++end;
        // Trailing punctuation belongs to the sentence; a ) only when unbalanced.
        while (end > hostStart) {
            const char c = text[end - 1];
            if (std::strchr(".,;:!?", c)) {
                --end;
            } else if (c == ')') {
                const std::string_view body = text.substr(begin, end - begin);
                if (std::count(body.begin(), body.end(), '(') >= std::count(body.begin(), body.end(), ')')) break;
                --end;
            } else {
                break;
            }
        }
        if (end > hostStart && std::isalnum(static_cast<unsigned char>(text[hostStart])))
            out.push_back({PiiKind::Url, {begin, end, 0, 0}, std::string(text.substr(begin, end - begin)), {}});
        pos = std::max(end, hostStart);
    }
}

bool localChar(unsigned char c) { return std::isalnum(c) || std::strchr("._%+-", c); }
bool domainChar(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; }

void scanEmails(std::string_view text, std::vector<PiiFinding>& out, const std::vector<std::pair<size_t, size_t>>& taken)
{
    for (size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
        bool inside = false;
        for (const auto& [b, e] : taken) inside |= at >= b && at < e;
        if (inside) continue;
        size_t begin = at;
        while (begin > 0 && localChar(static_cast<unsigned char>(text[begin - 1]))) --begin;
        while (begin < at && text[begin] == '.') ++begin;
        size_t end = at + 1;
        while (end < text.size() && domainChar(static_cast<unsigned char>(text[end]))) ++end;
        while (end > at + 1 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
        if (begin == at || end == at + 1) continue;
        const std::string_view domain = text.substr(at + 1, end - at - 1);
        const size_t dot = domain.rfind('.');
        if (dot == std::string_view::npos || dot == 0 || domain.find("..") != std::string_view::npos) continue;
        const std::string_view tld = domain.substr(dot + 1);
        if (tld.size() < 2 || !std::all_of(tld.begin(), tld.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
            continue;
        out.push_back({PiiKind::Email, {begin, end, 0, 0}, std::string(text.substr(begin, end - begin)), {}});
    }
}

}  // namespace

std::vector<PiiFinding> scanPii(std::string_view text)
{
    std::vector<PiiFinding> out;
    scanUrls(text, out);
    std::vector<std::pair<size_t, size_t>> taken;
    for (const auto& f : out) taken.emplace_back(f.span.begin, f.span.end);
    scanEmails(text, out, taken);
    taken.clear();
    for (const auto& f : out) taken.emplace_back(f.span.begin, f.span.end);
    scanNumbers(text, out, taken);
    std::sort(out.begin(), out.end(), [](const PiiFinding& a, const PiiFinding& b) { return a.span.begin < b.span.begin; });
    CodePointCounter cp(text);
    for (auto& f : out) f.span = cp.span(f.span.begin, f.span.end);
    return out;
}

}  // namespace tsumugi::quality
