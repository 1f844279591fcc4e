// Jinja2's grammar, by precedence from loosest: inline if-else, or, and, not, comparisons
// (==, !=, <, <=, >, >=, in, not in), + -, ~, * / // %, **, unary - +, then primaries with
// their postfixes (.attr, [index], [a:b:c], (call)) and filters / tests (| f, is t).
#include <initializer_list>

#include "core/error.h"
#include "tokenizer/jinja_ast.h"

namespace tsumugi::tok::jinja {

namespace {

class Parser {
public:
    Parser(const std::vector<Token>& tokens, const std::string& origin) : m_tokens(tokens), m_origin(origin) {}

    Body run()
    {
        std::string which;
        Body body = parseUntil({}, which);
        return body;
    }

private:
    const std::vector<Token>& m_tokens;
    const std::string& m_origin;
    size_t m_pos = 0;
    int m_depth = 0;

    // Bounds recursion on hostile input (a thousand opening parentheses).
    struct Nesting {
        Parser& p;
        explicit Nesting(Parser& parser) : p(parser)
        {
            if (++p.m_depth > 200) p.fail(p.peek(), "template nested too deeply (over 200 levels)");
        }
        ~Nesting() { --p.m_depth; }
    };

    const Token& peek(size_t ahead = 0) const { return m_tokens[std::min(m_pos + ahead, m_tokens.size() - 1)]; }
    const Token& next()
    {
        const Token& t = m_tokens[m_pos];
        if (m_pos + 1 < m_tokens.size()) ++m_pos;
        return t;
    }
    [[noreturn]] void fail(const Token& at, const std::string& message) const
    {
        throw ParseError(m_origin, at.line, at.column, message);
    }
    static std::string describe(const Token& t)
    {
        switch (t.kind) {
        case Token::Kind::Text: return "template text";
        case Token::Kind::VarBegin: return "'{{'";
        case Token::Kind::VarEnd: return "'}}'";
        case Token::Kind::BlockBegin: return "'{%'";
        case Token::Kind::BlockEnd: return "'%}'";
        case Token::Kind::End: return "end of template";
        case Token::Kind::String: return "string '" + t.text + "'";
        default: return "'" + t.text + "'";
        }
    }
    bool isOp(std::string_view op, size_t ahead = 0) const
    {
        const Token& t = peek(ahead);
        return t.kind == Token::Kind::Op && t.text == op;
    }
    bool isName(std::string_view name, size_t ahead = 0) const
    {
        const Token& t = peek(ahead);
        return t.kind == Token::Kind::Name && t.text == name;
    }
    void expectOp(std::string_view op)
    {
        if (!isOp(op)) fail(peek(), "expected '" + std::string(op) + "', found " + describe(peek()));
        next();
    }
    void expectName(std::string_view name)
    {
        if (!isName(name)) fail(peek(), "expected '" + std::string(name) + "', found " + describe(peek()));
        next();
    }
    std::string expectIdentifier()
    {
        if (peek().kind != Token::Kind::Name) fail(peek(), "expected a name, found " + describe(peek()));
        return next().text;
    }
    void expectBlockEnd()
    {
        if (peek().kind != Token::Kind::BlockEnd) fail(peek(), "expected '%}', found " + describe(peek()));
        next();
    }

    static ExprPtr node(Expr::Kind kind, int line)
    {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->line = line;
        return e;
    }
    static StmtPtr stmt(Stmt::Kind kind, int line)
    {
        auto s = std::make_unique<Stmt>();
        s->kind = kind;
        s->line = line;
        return s;
    }

    // Statements up to a block tag named in `ends` (its name consumed, stored in `which`).
    Body parseUntil(std::initializer_list<std::string_view> ends, std::string& which)
    {
        Body body;
        while (true) {
            const Token& t = peek();
            switch (t.kind) {
            case Token::Kind::End:
                if (ends.size() == 0) return body;
                fail(t, "unexpected end of template; expected '{% " + std::string(*(ends.end() - 1)) + " %}'");
            case Token::Kind::Text: {
                auto s = stmt(Stmt::Kind::Text, t.line);
                s->text = next().text;
                body.push_back(std::move(s));
                break;
            }
            case Token::Kind::VarBegin: {
                next();
                auto s = stmt(Stmt::Kind::Output, t.line);
                s->expr = parseExpression();
                if (peek().kind != Token::Kind::VarEnd) fail(peek(), "expected '}}', found " + describe(peek()));
                next();
                body.push_back(std::move(s));
                break;
            }
            case Token::Kind::BlockBegin: {
                const Token& name = peek(1);
                if (name.kind != Token::Kind::Name) fail(name, "expected a tag name, found " + describe(name));
                for (std::string_view end : ends)
                    if (name.text == end) {
                        next();
                        which = next().text;
                        return body;
                    }
                next();
                body.push_back(parseStatement());
                break;
            }
            default: fail(t, "unexpected " + describe(t));
            }
        }
    }

    StmtPtr parseStatement()
    {
        Nesting nesting(*this);
        const Token& tag = next();
        const std::string& name = tag.text;
        if (name == "if") return parseIf(tag);
        if (name == "for") return parseFor(tag);
        if (name == "set") return parseSet(tag);
        if (name == "macro") return parseMacro(tag);
        if (name == "break" || name == "continue") {
            expectBlockEnd();
            return stmt(name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, tag.line);
        }
        if (name == "filter") {
            auto s = stmt(Stmt::Kind::FilterBlock, tag.line);
            s->expr = parseFilters(nullptr);
            expectBlockEnd();
            std::string which;
            s->bodies.push_back(parseUntil({"endfilter"}, which));
            expectBlockEnd();
            return s;
        }
        if (name == "generation") {
            expectBlockEnd();
            auto s = stmt(Stmt::Kind::Scope, tag.line);
            std::string which;
            s->bodies.push_back(parseUntil({"endgeneration"}, which));
            expectBlockEnd();
            return s;
        }
        fail(tag, "unknown tag '" + name + "' (supported: if, for, set, macro, filter, generation, raw, break, continue)");
    }

    StmtPtr parseIf(const Token& tag)
    {
        auto s = stmt(Stmt::Kind::If, tag.line);
        s->conditions.push_back(parseExpression());
        expectBlockEnd();
        while (true) {
            std::string which;
            s->bodies.push_back(parseUntil({"elif", "else", "endif"}, which));
            if (which == "endif") break;
            if (which == "elif") {
                s->conditions.push_back(parseExpression());
                expectBlockEnd();
                continue;
            }
            s->conditions.push_back(nullptr);
            expectBlockEnd();
            s->bodies.push_back(parseUntil({"endif"}, which));
            break;
        }
        expectBlockEnd();
        return s;
    }

    StmtPtr parseFor(const Token& tag)
    {
        auto s = stmt(Stmt::Kind::For, tag.line);
        bool paren = isOp("(");
        if (paren) next();
        s->targets.push_back(expectIdentifier());
        while (isOp(",")) {
            next();
            s->targets.push_back(expectIdentifier());
        }
        if (paren) expectOp(")");
        expectName("in");
        s->expr = parseOr();
        if (isName("if")) {
            next();
            s->filter = parseExpression();
        }
        if (isName("recursive")) fail(peek(), "recursive loops are not supported");
        expectBlockEnd();
        std::string which;
        s->bodies.push_back(parseUntil({"else", "endfor"}, which));
        if (which == "else") {
            expectBlockEnd();
            s->bodies.push_back(parseUntil({"endfor"}, which));
        }
        expectBlockEnd();
        return s;
    }

    StmtPtr parseSet(const Token& tag)
    {
        const Token& first = peek();
        std::string name = expectIdentifier();
        if (isOp(".")) {
            next();
            auto s = stmt(Stmt::Kind::Set, tag.line);
            auto target = node(Expr::Kind::Attr, first.line);
            auto base = node(Expr::Kind::Name, first.line);
            base->name = name;
            target->args.push_back(std::move(base));
            target->name = expectIdentifier();
            s->target = std::move(target);
            expectOp("=");
            s->expr = parseExpression();
            expectBlockEnd();
            return s;
        }
        std::vector<std::string> targets{name};
        while (isOp(",")) {
            next();
            targets.push_back(expectIdentifier());
        }
        if (isOp("=")) {
            next();
            auto s = stmt(Stmt::Kind::Set, tag.line);
            s->targets = std::move(targets);
            s->expr = parseExpression();
            if (isOp(",")) {  // set a, b = 1, 2
                auto tuple = node(Expr::Kind::Tuple, tag.line);
                tuple->args.push_back(std::move(s->expr));
                while (isOp(",")) {
                    next();
                    tuple->args.push_back(parseExpression());
                }
                s->expr = std::move(tuple);
            }
            expectBlockEnd();
            return s;
        }
        if (targets.size() != 1) fail(peek(), "expected '=' after the names of a set");
        auto s = stmt(Stmt::Kind::SetBlock, tag.line);
        s->targets = std::move(targets);
        expectBlockEnd();
        std::string which;
        s->bodies.push_back(parseUntil({"endset"}, which));
        expectBlockEnd();
        return s;
    }

    StmtPtr parseMacro(const Token& tag)
    {
        auto s = stmt(Stmt::Kind::Macro, tag.line);
        s->text = expectIdentifier();
        expectOp("(");
        while (!isOp(")")) {
            std::string param = expectIdentifier();
            ExprPtr def;
            if (isOp("=")) {
                next();
                def = parseExpression();
            }
            s->params.emplace_back(std::move(param), std::move(def));
            if (!isOp(",")) break;
            next();
        }
        expectOp(")");
        expectBlockEnd();
        std::string which;
        s->bodies.push_back(parseUntil({"endmacro"}, which));
        if (peek().kind == Token::Kind::Name) next();  // {% endmacro name %}
        expectBlockEnd();
        return s;
    }

    ExprPtr parseExpression()
    {
        Nesting nesting(*this);
        ExprPtr value = parseOr();
        while (isName("if")) {
            int line = next().line;
            auto cond = node(Expr::Kind::Cond, line);
            cond->args.push_back(std::move(value));
            cond->args.push_back(parseOr());
            if (isName("else")) {
                next();
                cond->args.push_back(parseExpression());
            } else {
                cond->args.push_back(nullptr);
            }
            value = std::move(cond);
        }
        return value;
    }

    ExprPtr binary(std::string op, ExprPtr left, ExprPtr right, int line)
    {
        auto e = node(Expr::Kind::Binary, line);
        e->name = std::move(op);
        e->args.push_back(std::move(left));
        e->args.push_back(std::move(right));
        return e;
    }

    ExprPtr parseOr()
    {
        ExprPtr left = parseAnd();
        while (isName("or")) {
            int line = next().line;
            left = binary("or", std::move(left), parseAnd(), line);
        }
        return left;
    }

    ExprPtr parseAnd()
    {
        ExprPtr left = parseNot();
        while (isName("and")) {
            int line = next().line;
            left = binary("and", std::move(left), parseNot(), line);
        }
        return left;
    }

    ExprPtr parseNot()
    {
        Nesting nesting(*this);
        if (isName("not")) {
            auto e = node(Expr::Kind::Unary, next().line);
            e->name = "not";
            e->args.push_back(parseNot());
            return e;
        }
        return parseCompare();
    }

    ExprPtr parseCompare()
    {
        ExprPtr left = parseMath1();
        while (true) {
            const Token& t = peek();
            std::string op;
            if (t.kind == Token::Kind::Op &&
                (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
                op = t.text;
                next();
            } else if (isName("in")) {
                op = "in";
                next();
            } else if (isName("not") && isName("in", 1)) {
                op = "not in";
                next();
                next();
            } else {
                return left;
            }
            left = binary(op, std::move(left), parseMath1(), t.line);
        }
    }

    ExprPtr parseMath1()
    {
        ExprPtr left = parseConcat();
        while (isOp("+") || isOp("-")) {
            const Token& t = next();
            left = binary(t.text, std::move(left), parseConcat(), t.line);
        }
        return left;
    }

    ExprPtr parseConcat()
    {
        ExprPtr left = parseMath2();
        while (isOp("~")) {
            const Token& t = next();
            left = binary("~", std::move(left), parseMath2(), t.line);
        }
        return left;
    }

    ExprPtr parseMath2()
    {
        ExprPtr left = parsePow();
        while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
            const Token& t = next();
            left = binary(t.text, std::move(left), parsePow(), t.line);
        }
        return left;
    }

    ExprPtr parsePow()
    {
        ExprPtr left = parseUnary();
        while (isOp("**")) {
            const Token& t = next();
            left = binary("**", std::move(left), parseUnary(), t.line);
        }
        return left;
    }

    ExprPtr parseUnary()
    {
        Nesting nesting(*this);
        if (isOp("-") || isOp("+")) {
            const Token& t = next();
            auto e = node(Expr::Kind::Unary, t.line);
            e->name = t.text;
            e->args.push_back(parseUnary());
            return parseFilters(std::move(e));
        }
        return parseFilters(parsePostfix(parsePrimary()));
    }

    void parseCallArgs(Expr& call)
    {
        expectOp("(");
        while (!isOp(")")) {
            if (peek().kind == Token::Kind::Name && isOp("=", 1)) {
                std::string key = next().text;
                next();
                call.kwargs.emplace_back(std::move(key), parseExpression());
            } else {
                call.args.push_back(parseExpression());
            }
            if (!isOp(",")) break;
            next();
        }
        expectOp(")");
    }

    ExprPtr parsePostfix(ExprPtr value)
    {
        while (true) {
            const Token& t = peek();
            if (isOp(".")) {
                next();
                auto e = node(Expr::Kind::Attr, t.line);
                e->args.push_back(std::move(value));
                e->name = expectIdentifier();
                value = std::move(e);
            } else if (isOp("[")) {
                next();
                ExprPtr parts[3];
                bool isSlice = false;
                for (int k = 0; k < 3; ++k) {
                    if (!isOp(":") && !isOp("]")) parts[k] = parseExpression();
                    if (k < 2 && isOp(":")) {
                        next();
                        isSlice = true;
                    } else {
                        break;
                    }
                }
                expectOp("]");
                auto e = node(isSlice ? Expr::Kind::Slice : Expr::Kind::Index, t.line);
                e->args.push_back(std::move(value));
                if (!isSlice && !parts[0]) fail(t, "empty subscript");
                for (int k = 0; k < (isSlice ? 3 : 1); ++k) e->args.push_back(std::move(parts[k]));
                value = std::move(e);
            } else if (isOp("(")) {
                auto e = node(Expr::Kind::Call, t.line);
                e->args.push_back(std::move(value));
                parseCallArgs(*e);
                value = std::move(e);
            } else {
                return value;
            }
        }
    }

    // `| name(args)` and `is [not] name(args)`; `input` may be null for a {% filter %} block.
    ExprPtr parseFilters(ExprPtr input)
    {
        bool first = input == nullptr;
        while (first || isOp("|") || isName("is")) {
            if (first || isOp("|")) {
                const Token& t = first ? peek() : next();
                first = false;
                auto e = node(Expr::Kind::Filter, t.line);
                e->args.push_back(std::move(input));
                e->name = expectIdentifier();
                if (isOp("(")) parseCallArgs(*e);
                input = std::move(e);
            } else {
                const Token& t = next();
                auto e = node(Expr::Kind::Test, t.line);
                if (isName("not")) {
                    next();
                    e->negated = true;
                }
                e->args.push_back(std::move(input));
                e->name = expectIdentifier();
                if (isOp("(")) parseCallArgs(*e);
                input = std::move(e);
            }
        }
        return input;
    }

    ExprPtr parsePrimary()
    {
        const Token& t = next();
        auto literal = [&](Value v) {
            auto e = node(Expr::Kind::Literal, t.line);
            e->literal = std::move(v);
            return e;
        };
        switch (t.kind) {
        case Token::Kind::String: {
            std::string s = t.text;
            while (peek().kind == Token::Kind::String) s += next().text;  // adjacent literals join
            return literal(Value::string(std::move(s)));
        }
        case Token::Kind::Int:
            try {
                return literal(Value::integer(std::stoll(t.text)));
            } catch (const std::exception&) {
                fail(t, "integer literal out of range: " + t.text);
            }
        case Token::Kind::Float: return literal(Value::number(std::stod(t.text)));
        case Token::Kind::Name: {
            if (t.text == "true" || t.text == "True") return literal(Value::boolean(true));
            if (t.text == "false" || t.text == "False") return literal(Value::boolean(false));
            if (t.text == "none" || t.text == "None") return literal(Value::none());
            auto e = node(Expr::Kind::Name, t.line);
            e->name = t.text;
            return e;
        }
        case Token::Kind::Op:
            if (t.text == "(") {
                if (isOp(")")) {
                    next();
                    return node(Expr::Kind::Tuple, t.line);
                }
                ExprPtr inner = parseExpression();
                if (!isOp(",")) {
                    expectOp(")");
                    return inner;
                }
                auto tuple = node(Expr::Kind::Tuple, t.line);
                tuple->args.push_back(std::move(inner));
                while (isOp(",")) {
                    next();
                    if (isOp(")")) break;
                    tuple->args.push_back(parseExpression());
                }
                expectOp(")");
                return tuple;
            }
            if (t.text == "[") {
                auto list = node(Expr::Kind::List, t.line);
                while (!isOp("]")) {
                    list->args.push_back(parseExpression());
                    if (!isOp(",")) break;
                    next();
                }
                expectOp("]");
                return list;
            }
            if (t.text == "{") {
                auto dict = node(Expr::Kind::Dict, t.line);
                while (!isOp("}")) {
                    dict->args.push_back(parseExpression());
                    expectOp(":");
                    dict->args.push_back(parseExpression());
                    if (!isOp(",")) break;
                    next();
                }
                expectOp("}");
                return dict;
            }
            break;
        default: break;
        }
        fail(t, "unexpected " + describe(t) + " in expression");
    }
};

}  // namespace

Body parse(const std::vector<Token>& tokens, const std::string& origin) { return Parser(tokens, origin).run(); }

}  // namespace tsumugi::tok::jinja
