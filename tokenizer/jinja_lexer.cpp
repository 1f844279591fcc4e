// Jinja2's lexer, as transformers configures it: trim_blocks drops the first newline after a
// block or comment tag, lstrip_blocks drops spaces and tabs between a line start and a block
// or comment tag; "-" inside a delimiter strips all whitespace on that side, "+" disables
// lstrip_blocks / trim_blocks for that tag.
#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/jinja_ast.h"

namespace tsumugi::tok::jinja {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool isNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
public:
    Lexer(std::string_view src, const std::string& origin) : m_src(src), m_origin(origin)
    {
        m_lineStarts.push_back(0);
        for (size_t k = 0; k < src.size(); ++k)
            if (src[k] == '\n') m_lineStarts.push_back(k + 1);
    }

    std::vector<Token> run()
    {
        size_t pos = 0;
        bool stripNext = false;  // the previous tag ended with "-"
        while (pos < m_src.size()) {
            size_t tag = findTag(pos);
            std::string text(m_src.substr(pos, tag - pos));
            if (stripNext) {
                size_t k = 0;
                while (k < text.size() && isSpace(text[k])) ++k;
                text.erase(0, k);
                stripNext = false;
            }
            if (tag == m_src.size()) {
                pushText(std::move(text), pos);
                break;
            }
            char kind = m_src[tag + 1];
            char control = tag + 2 < m_src.size() ? m_src[tag + 2] : '\0';
            if (control == '-') {
                while (!text.empty() && isSpace(text.back())) text.pop_back();
            } else if (control != '+' && kind != '{') {
                // lstrip_blocks: only when nothing but spaces and tabs precede the tag on its line.
                size_t k = tag;
                while (k > pos && (m_src[k - 1] == ' ' || m_src[k - 1] == '\t')) --k;
                if (k == 0 || m_src[k - 1] == '\n') text.erase(text.size() - std::min(text.size(), tag - k));
            }
            pushText(std::move(text), pos);
            size_t inner = tag + 2 + ((control == '-' || control == '+') ? 1 : 0);
            size_t after;
            char endControl = '\0';
            if (kind == '#') {
                size_t close = m_src.find("#}", inner);
                if (close == std::string_view::npos) fail(tag, "unclosed comment: \"{#\" without \"#}\"");
                if (close > inner && (m_src[close - 1] == '-' || m_src[close - 1] == '+')) endControl = m_src[close - 1];
                after = close + 2;
            } else if (kind == '%' && isRawBlock(inner, after, endControl)) {
                // the raw text is pushed; `after` is past {% endraw %}
            } else {
                after = lexTag(tag, inner, kind == '{', endControl);
            }
            if (endControl == '-') {
                stripNext = true;
            } else if (endControl != '+' && kind != '{') {
                // trim_blocks
                if (after < m_src.size() && m_src[after] == '\n')
                    ++after;
                else if (after + 1 < m_src.size() && m_src[after] == '\r' && m_src[after + 1] == '\n')
                    after += 2;
            }
            pos = after;
        }
        m_tokens.push_back({Token::Kind::End, {}, lineOf(m_src.size()), columnOf(m_src.size())});
        return std::move(m_tokens);
    }

private:
    std::string_view m_src;
    const std::string& m_origin;
    std::vector<size_t> m_lineStarts;
    std::vector<Token> m_tokens;

    int lineOf(size_t pos) const
    {
        auto it = std::upper_bound(m_lineStarts.begin(), m_lineStarts.end(), pos);
        return static_cast<int>(it - m_lineStarts.begin());
    }
    int columnOf(size_t pos) const { return static_cast<int>(pos - m_lineStarts[static_cast<size_t>(lineOf(pos) - 1)]) + 1; }

    [[noreturn]] void fail(size_t pos, const std::string& message) const
    {
        throw ParseError(m_origin, lineOf(pos), columnOf(pos), message);
    }

    size_t findTag(size_t pos) const
    {
        while (true) {
            size_t k = m_src.find('{', pos);
            if (k == std::string_view::npos || k + 1 >= m_src.size()) return m_src.size();
            char c = m_src[k + 1];
            if (c == '{' || c == '%' || c == '#') return k;
            pos = k + 1;
        }
    }

    void pushText(std::string text, size_t pos)
    {
        if (text.empty()) return;
        m_tokens.push_back({Token::Kind::Text, std::move(text), lineOf(pos), columnOf(pos)});
    }

    // Matches `{% raw %}` at `inner`; emits the text up to `{% endraw %}` and moves past it.
    bool isRawBlock(size_t inner, size_t& after, char& endControl)
    {
        auto skipWs = [&](size_t k) {
            while (k < m_src.size() && isSpace(m_src[k])) ++k;
            return k;
        };
        auto matchTagWord = [&](size_t k, std::string_view word, size_t& end, char& control) {
            k = skipWs(k);
            if (m_src.substr(k, word.size()) != word) return false;
            k = skipWs(k + word.size());
            control = '\0';
            if (k < m_src.size() && (m_src[k] == '-' || m_src[k] == '+')) control = m_src[k++];
            if (m_src.substr(k, 2) != "%}") return false;
            end = k + 2;
            return true;
        };
        size_t bodyStart;
        char openControl;
        if (!matchTagWord(inner, "raw", bodyStart, openControl)) return false;
        size_t search = bodyStart;
        while (true) {
            size_t open = m_src.find("{%", search);
            if (open == std::string_view::npos) fail(inner, "unclosed raw block: {% raw %} without {% endraw %}");
            size_t k = open + 2;
            bool stripLeft = k < m_src.size() && m_src[k] == '-';
            if (k < m_src.size() && (m_src[k] == '-' || m_src[k] == '+')) ++k;
            size_t end;
            char control;
            if (matchTagWord(k, "endraw", end, control)) {
                std::string text(m_src.substr(bodyStart, open - bodyStart));
                if (openControl == '-') text.erase(0, std::find_if(text.begin(), text.end(), [](char c) { return !isSpace(c); }) - text.begin());
                if (stripLeft)
                    while (!text.empty() && isSpace(text.back())) text.pop_back();
                pushText(std::move(text), bodyStart);
                after = end;
                endControl = control;
                break;
            }
            search = open + 2;
        }
        return true;
    }

    // Lexes the inside of {{ }} or {% %}; returns the position after the closing delimiter.
    size_t lexTag(size_t tag, size_t pos, bool isVar, char& endControl)
    {
        m_tokens.push_back({isVar ? Token::Kind::VarBegin : Token::Kind::BlockBegin, {}, lineOf(tag), columnOf(tag)});
        const std::string_view close = isVar ? "}}" : "%}";
        int depth = 0;
        while (true) {
            while (pos < m_src.size() && isSpace(m_src[pos])) ++pos;
            if (pos >= m_src.size())
                fail(tag, std::string("unclosed tag: \"") + (isVar ? "{{" : "{%") + "\" without \"" + std::string(close) + "\"");
            if (depth == 0) {
                if ((m_src[pos] == '-' || m_src[pos] == '+') && m_src.substr(pos + 1, 2) == close) {
                    endControl = m_src[pos];
                    m_tokens.push_back({isVar ? Token::Kind::VarEnd : Token::Kind::BlockEnd, {}, lineOf(pos), columnOf(pos)});
                    return pos + 3;
                }
                if (m_src.substr(pos, 2) == close) {
                    m_tokens.push_back({isVar ? Token::Kind::VarEnd : Token::Kind::BlockEnd, {}, lineOf(pos), columnOf(pos)});
                    return pos + 2;
                }
            }
            Token token{Token::Kind::Op, {}, lineOf(pos), columnOf(pos)};
            char c = m_src[pos];
            if (isNameStart(c)) {
                size_t end = pos;
                while (end < m_src.size() && isNameChar(m_src[end])) ++end;
                token.kind = Token::Kind::Name;
                token.text = std::string(m_src.substr(pos, end - pos));
                pos = end;
            } else if (std::isdigit(static_cast<unsigned char>(c))) {
                size_t end = pos;
                while (end < m_src.size() && (std::isdigit(static_cast<unsigned char>(m_src[end])) || m_src[end] == '_')) ++end;
                token.kind = Token::Kind::Int;
                if (end + 1 < m_src.size() && m_src[end] == '.' && std::isdigit(static_cast<unsigned char>(m_src[end + 1]))) {
                    token.kind = Token::Kind::Float;
                    ++end;
                    while (end < m_src.size() && std::isdigit(static_cast<unsigned char>(m_src[end]))) ++end;
                }
                if (end < m_src.size() && (m_src[end] == 'e' || m_src[end] == 'E')) {
                    size_t k = end + 1;
                    if (k < m_src.size() && (m_src[k] == '+' || m_src[k] == '-')) ++k;
                    if (k < m_src.size() && std::isdigit(static_cast<unsigned char>(m_src[k]))) {
                        token.kind = Token::Kind::Float;
                        end = k;
                        while (end < m_src.size() && std::isdigit(static_cast<unsigned char>(m_src[end]))) ++end;
                    }
                }
                for (size_t k = pos; k < end; ++k)
                    if (m_src[k] != '_') token.text += m_src[k];
                pos = end;
            } else if (c == '\'' || c == '"') {
                token.kind = Token::Kind::String;
                pos = lexString(pos, token.text);
            } else {
                static const char* const kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">",
                                                   "=",  "(",  ")",  "[",  "]",  "{",  "}", ",", ".", ":", "|"};
                bool found = false;
                for (const char* op : kOps) {
                    std::string_view o(op);
                    if (m_src.substr(pos, o.size()) == o) {
                        token.text = std::string(o);
                        pos += o.size();
                        found = true;
                        break;
                    }
                }
                if (!found) fail(pos, std::string("unexpected character '") + c + "'");
                if (token.text == "(" || token.text == "[" || token.text == "{") ++depth;
                if ((token.text == ")" || token.text == "]" || token.text == "}") && depth > 0) --depth;
            }
            m_tokens.push_back(std::move(token));
        }
    }

    size_t lexString(size_t pos, std::string& out)
    {
        char quote = m_src[pos];
        size_t k = pos + 1;
        while (true) {
            if (k >= m_src.size()) fail(pos, "unterminated string literal");
            char c = m_src[k];
            if (c == quote) return k + 1;
            if (c != '\\') {
                out += c;
                ++k;
                continue;
            }
            if (k + 1 >= m_src.size()) fail(pos, "unterminated string literal");
            char e = m_src[k + 1];
            k += 2;
            switch (e) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case '0': out += '\0'; break;
            case '\\': out += '\\'; break;
            case '\'': out += '\''; break;
            case '"': out += '"'; break;
            case '\n': break;
            case 'u':
            case 'x': {
                size_t digits = e == 'u' ? 4 : 2;
                if (k + digits > m_src.size()) fail(pos, "bad escape in string literal");
                uint32_t cp = 0;
                for (size_t d = 0; d < digits; ++d) {
                    char h = m_src[k + d];
                    if (!std::isxdigit(static_cast<unsigned char>(h))) fail(pos, "bad escape in string literal");
                    cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
                }
                utf8::append(out, static_cast<char32_t>(cp));
                k += digits;
                break;
            }
            default:
                out += '\\';
                out += e;
            }
        }
    }
};

}  // namespace

std::vector<Token> lex(std::string_view source, const std::string& origin) { return Lexer(source, origin).run(); }

}  // namespace tsumugi::tok::jinja
