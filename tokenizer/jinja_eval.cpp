// The evaluator: walks the syntax tree with a stack of scopes (a for loop and a macro call
// open one, as in Jinja2, so `set` inside a loop does not leak out: that is what namespace()
// is for) and writes the output into one string.
#include <cmath>

#include "core/error.h"
#include "tokenizer/jinja_ast.h"

namespace tsumugi::tok::jinja {

namespace {

// Bounds that keep a hostile or broken template from running forever or exhausting the stack.
constexpr int64_t kMaxSteps = 50'000'000;
constexpr int kMaxDepth = 200;
constexpr size_t kMaxText = size_t{64} << 20;

enum class Flow { Normal, Break, Continue };

class Renderer {
public:
    Renderer(const Program& program, const nlohmann::ordered_json& context) : m_program(program)
    {
        m_scopes.emplace_back();
        addGlobals(m_scopes.back());
        if (context.is_object())
            for (const auto& [k, v] : context.items()) m_scopes.back().set(k, Value::fromJson(v));
        m_scopes.emplace_back();
    }

    std::string run()
    {
        std::string out;
        exec(m_program.body, out);
        return out;
    }

private:
    const Program& m_program;
    std::vector<Dict> m_scopes;
    int64_t m_steps = 0;
    int m_depth = 0;

    std::string where(int line) const { return m_program.origin + ":" + std::to_string(line); }
    [[noreturn]] void fail(int line, const std::string& message) const { throw Error(where(line) + ": " + message); }

    void step(int line)
    {
        if (++m_steps > kMaxSteps) fail(line, "template rendering took too many steps (an endless loop?)");
    }

    Value lookup(const std::string& name) const
    {
        for (auto it = m_scopes.rbegin(); it != m_scopes.rend(); ++it)
            if (const Value* v = it->find(name)) return *v;
        return Value::undefined(name);
    }

    Flow exec(const Body& body, std::string& out)
    {
        for (const auto& s : body) {
            Flow flow = exec(*s, out);
            if (flow != Flow::Normal) return flow;
        }
        return Flow::Normal;
    }

    Flow exec(const Stmt& s, std::string& out)
    {
        step(s.line);
        switch (s.kind) {
        case Stmt::Kind::Text: out += s.text; break;
        case Stmt::Kind::Output:
            out += toStr(eval(*s.expr));
            if (out.size() > kMaxText) fail(s.line, "template output over 64 MiB (an endless loop?)");
            break;
        case Stmt::Kind::If:
            for (size_t k = 0; k < s.conditions.size(); ++k)
                if (!s.conditions[k] || truthy(eval(*s.conditions[k]))) return exec(s.bodies[k], out);
            break;
        case Stmt::Kind::For: execFor(s, out); break;
        case Stmt::Kind::Set: {
            Value v = eval(*s.expr);
            if (s.target) {
                const Expr& base = *s.target->args[0];
                Value ns = lookup(base.name);
                if (ns.kind != Value::Kind::Namespace)
                    fail(s.line, "cannot set attribute '" + s.target->name + "' of '" + base.name + "', which is " +
                                     (ns.isUndefined() ? "undefined" : std::string("a ") + kindName(ns.kind)) +
                                     ", not a namespace()");
                ns.dict->set(s.target->name, std::move(v));
            } else {
                assign(s.targets, v, s.line);
            }
            break;
        }
        case Stmt::Kind::SetBlock: {
            std::string captured;
            exec(s.bodies[0], captured);
            m_scopes.back().set(s.targets[0], Value::string(std::move(captured)));
            break;
        }
        case Stmt::Kind::Macro: m_scopes.back().set(s.text, makeMacro(s)); break;
        case Stmt::Kind::Break: return Flow::Break;
        case Stmt::Kind::Continue: return Flow::Continue;
        case Stmt::Kind::FilterBlock: {
            std::string captured;
            exec(s.bodies[0], captured);
            out += toStr(evalFilter(*s.expr, Value::string(std::move(captured))));
            break;
        }
        case Stmt::Kind::Scope: return exec(s.bodies[0], out);
        }
        return Flow::Normal;
    }

    void assign(const std::vector<std::string>& targets, const Value& v, int line)
    {
        if (targets.size() == 1) {
            m_scopes.back().set(targets[0], v);
            return;
        }
        if (!v.isList() || v.list->size() != targets.size())
            fail(line, "cannot unpack " + std::string(kindName(v.kind)) + " into " + std::to_string(targets.size()) + " names");
        for (size_t k = 0; k < targets.size(); ++k) m_scopes.back().set(targets[k], (*v.list)[k]);
    }

    List iterate(const Value& v, int line) const
    {
        try {
            return toList(v);
        } catch (const CallError&) {
            fail(line, std::string("cannot iterate over a ") + kindName(v.kind));
        }
    }

    void execFor(const Stmt& s, std::string& out)
    {
        List items = iterate(eval(*s.expr), s.line);
        if (s.filter) {
            List kept;
            m_scopes.emplace_back();
            for (const auto& item : items) {
                assign(s.targets, item, s.line);
                if (truthy(eval(*s.filter))) kept.push_back(item);
            }
            m_scopes.pop_back();
            items = std::move(kept);
        }
        if (items.empty()) {
            if (s.bodies.size() > 1) exec(s.bodies[1], out);
            return;
        }
        m_scopes.emplace_back();
        const auto n = static_cast<int64_t>(items.size());
        for (int64_t k = 0; k < n; ++k) {
            Dict loop;
            loop.items = {{"index", Value::integer(k + 1)},
                          {"index0", Value::integer(k)},
                          {"revindex", Value::integer(n - k)},
                          {"revindex0", Value::integer(n - k - 1)},
                          {"first", Value::boolean(k == 0)},
                          {"last", Value::boolean(k == n - 1)},
                          {"length", Value::integer(n)},
                          {"previtem", k > 0 ? items[static_cast<size_t>(k - 1)] : Value::undefined("previtem")},
                          {"nextitem", k + 1 < n ? items[static_cast<size_t>(k + 1)] : Value::undefined("nextitem")}};
            loop.set("cycle", Value::function([k](const std::vector<Value>& args, const KwArgs&) {
                         if (args.empty()) throw CallError{"loop.cycle() needs at least one value"};
                         return args[static_cast<size_t>(k) % args.size()];
                     }));
            m_scopes.back().set("loop", Value::makeDict(std::move(loop)));
            assign(s.targets, items[static_cast<size_t>(k)], s.line);
            if (exec(s.bodies[0], out) == Flow::Break) break;
        }
        m_scopes.pop_back();
    }

    Value makeMacro(const Stmt& s)
    {
        return Value::function([this, &s](const std::vector<Value>& args, const KwArgs& kwargs) {
            if (++m_depth > kMaxDepth) {
                --m_depth;
                throw CallError{"macro '" + s.text + "' nested too deeply"};
            }
            m_scopes.emplace_back();
            for (size_t k = 0; k < s.params.size(); ++k) {
                Value v = Value::undefined(s.params[k].first);
                if (k < args.size())
                    v = args[k];
                else if (s.params[k].second)
                    v = eval(*s.params[k].second);
                for (const auto& [key, kv] : kwargs)
                    if (key == s.params[k].first) v = kv;
                m_scopes.back().set(s.params[k].first, std::move(v));
            }
            std::string out;
            exec(s.bodies[0], out);
            m_scopes.pop_back();
            --m_depth;
            return Value::string(std::move(out));
        });
    }

    void evalArgs(const Expr& e, size_t first, std::vector<Value>& args, KwArgs& kwargs)
    {
        for (size_t k = first; k < e.args.size(); ++k) args.push_back(eval(*e.args[k]));
        for (const auto& [key, arg] : e.kwargs) kwargs.emplace_back(key, eval(*arg));
    }

    Value evalFilter(const Expr& e, const Value& input)
    {
        std::vector<Value> args;
        KwArgs kwargs;
        evalArgs(e, 1, args, kwargs);
        return applyFilter(e.name, input, args, kwargs, where(e.line));
    }

    Value call(const Value& fn, const std::vector<Value>& args, const KwArgs& kwargs, int line, const std::string& what)
    {
        if (fn.kind != Value::Kind::Function)
            fail(line, "'" + what + "' is " + (fn.isUndefined() ? "undefined" : std::string("a ") + kindName(fn.kind)) +
                           ", not a function");
        try {
            return (*fn.fn)(args, kwargs);
        } catch (const CallError& err) {
            fail(line, err.message);
        }
    }

    Value eval(const Expr& e)
    {
        step(e.line);
        if (++m_depth > kMaxDepth) fail(e.line, "expression nested too deeply");
        struct DepthGuard {
            int& depth;
            ~DepthGuard() { --depth; }
        } guard{m_depth};
        switch (e.kind) {
        case Expr::Kind::Literal: return e.literal;
        case Expr::Kind::Name: return lookup(e.name);
        case Expr::Kind::List:
        case Expr::Kind::Tuple: {
            List items;
            for (const auto& item : e.args) items.push_back(eval(*item));
            return Value::makeList(std::move(items));
        }
        case Expr::Kind::Dict: {
            Dict d;
            for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
                Value key = eval(*e.args[k]);
                d.set(toStr(key), eval(*e.args[k + 1]));
            }
            return Value::makeDict(std::move(d));
        }
        case Expr::Kind::Attr: {
            Value obj = eval(*e.args[0]);
            if (obj.isUndefined()) fail(e.line, undefinedMessage(obj, *e.args[0]) + " (reading ." + e.name + ")");
            if (obj.isMapping()) {
                if (const Value* v = obj.dict->find(e.name)) return *v;
            }
            if (hasMethod(obj, e.name)) {
                std::string name = e.name;
                std::string w = where(e.line);
                return Value::function([obj, name, w](const std::vector<Value>& args, const KwArgs& kwargs) {
                    Value result;
                    if (!callMethod(obj, name, args, kwargs, w, result))
                        throw CallError{std::string(kindName(obj.kind)) + " has no attribute '" + name + "'"};
                    return result;
                });
            }
            return Value::undefined(e.name);
        }
        case Expr::Kind::Index: {
            Value obj = eval(*e.args[0]);
            Value index = eval(*e.args[1]);
            return subscript(obj, index, e);
        }
        case Expr::Kind::Slice: {
            Value obj = eval(*e.args[0]);
            if (obj.isUndefined()) fail(e.line, undefinedMessage(obj, *e.args[0]));
            Value bounds[3];
            for (int k = 0; k < 3; ++k)
                bounds[k] = e.args[static_cast<size_t>(k + 1)] ? eval(*e.args[static_cast<size_t>(k + 1)]) : Value::none();
            return slice(obj, bounds[0], bounds[1], bounds[2], where(e.line));
        }
        case Expr::Kind::Call: {
            const Expr& callee = *e.args[0];
            std::vector<Value> args;
            KwArgs kwargs;
            if (callee.kind == Expr::Kind::Attr) {
                Value obj = eval(*callee.args[0]);
                if (obj.isUndefined()) fail(e.line, undefinedMessage(obj, *callee.args[0]) + " (calling ." + callee.name + "())");
                if (!(obj.isMapping() && obj.dict->find(callee.name))) {
                    evalArgs(e, 1, args, kwargs);
                    Value result;
                    try {
                        if (callMethod(obj, callee.name, args, kwargs, where(e.line), result)) return result;
                    } catch (const CallError& err) {
                        fail(e.line, err.message);
                    }
                    fail(e.line, std::string(kindName(obj.kind)) + " has no method '" + callee.name + "'");
                }
                Value fn = *obj.dict->find(callee.name);
                evalArgs(e, 1, args, kwargs);
                return call(fn, args, kwargs, e.line, callee.name);
            }
            Value fn = eval(callee);
            evalArgs(e, 1, args, kwargs);
            return call(fn, args, kwargs, e.line, callee.kind == Expr::Kind::Name ? callee.name : "expression");
        }
        case Expr::Kind::Filter: return evalFilter(e, eval(*e.args[0]));
        case Expr::Kind::Test: {
            Value input = eval(*e.args[0]);
            std::vector<Value> args;
            KwArgs kwargs;
            evalArgs(e, 1, args, kwargs);
            return Value::boolean(applyTest(e.name, input, args, where(e.line)) != e.negated);
        }
        case Expr::Kind::Unary: {
            Value v = eval(*e.args[0]);
            if (e.name == "not") return Value::boolean(!truthy(v));
            if (v.kind == Value::Kind::Bool) v = Value::integer(v.b);
            if (!v.isNumber()) fail(e.line, "bad operand type for unary " + e.name + ": " + kindName(v.kind));
            if (e.name == "+") return v;
            return v.kind == Value::Kind::Int ? Value::integer(-v.i) : Value::number(-v.f);
        }
        case Expr::Kind::Binary: return binary(e);
        case Expr::Kind::Cond:
            if (truthy(eval(*e.args[1]))) return eval(*e.args[0]);
            return e.args[2] ? eval(*e.args[2]) : Value::undefined();
        }
        return Value::undefined();
    }

    static std::string undefinedMessage(const Value& v, const Expr& e)
    {
        std::string name = !v.s.empty() ? v.s : e.kind == Expr::Kind::Name ? e.name : "value";
        return "'" + name + "' is undefined";
    }

    Value subscript(const Value& obj, const Value& index, const Expr& e)
    {
        switch (obj.kind) {
        case Value::Kind::Undefined: fail(e.line, undefinedMessage(obj, *e.args[0]));
        case Value::Kind::Dict:
        case Value::Kind::Namespace: {
            std::string key = toStr(index);
            if (const Value* v = obj.dict->find(key)) return *v;
            return Value::undefined(key);
        }
        case Value::Kind::List:
        case Value::Kind::String: {
            if (index.kind != Value::Kind::Int)
                fail(e.line, std::string(kindName(obj.kind)) + " indices must be integers, not " + kindName(index.kind));
            auto offsets = obj.isList() ? std::vector<size_t>{} : codepointOffsets(obj.s);
            auto n = static_cast<int64_t>(obj.isList() ? obj.list->size() : offsets.size() - 1);
            int64_t k = index.i < 0 ? index.i + n : index.i;
            if (k < 0 || k >= n) return Value::undefined();
            if (obj.isList()) return (*obj.list)[static_cast<size_t>(k)];
            auto a = offsets[static_cast<size_t>(k)], b = offsets[static_cast<size_t>(k + 1)];
            return Value::string(obj.s.substr(a, b - a));
        }
        default: fail(e.line, std::string("a ") + kindName(obj.kind) + " cannot be subscripted");
        }
    }

    Value binary(const Expr& e)
    {
        const std::string& op = e.name;
        if (op == "and") {
            Value a = eval(*e.args[0]);
            return truthy(a) ? eval(*e.args[1]) : a;
        }
        if (op == "or") {
            Value a = eval(*e.args[0]);
            return truthy(a) ? a : eval(*e.args[1]);
        }
        Value a = eval(*e.args[0]);
        Value b = eval(*e.args[1]);
        if (op == "~") return checked(Value::string(toStr(a) + toStr(b)), e.line);
        if (op == "==") return Value::boolean(equals(a, b));
        if (op == "!=") return Value::boolean(!equals(a, b));
        if (op == "in" || op == "not in") return Value::boolean(contains(b, a, e.line) == (op == "in"));
        if (a.kind == Value::Kind::Bool) a = Value::integer(a.b);
        if (b.kind == Value::Kind::Bool) b = Value::integer(b.b);
        auto typeError = [&]() {
            fail(e.line, "unsupported operand types for " + op + ": " + kindName(a.kind) + " and " + kindName(b.kind) +
                             (a.isUndefined() || b.isUndefined() ? " (a variable is undefined)" : ""));
        };
        if (op == "<" || op == "<=" || op == ">" || op == ">=") {
            int cmp;
            if (a.isNumber() && b.isNumber())
                cmp = a.asDouble() < b.asDouble() ? -1 : a.asDouble() > b.asDouble() ? 1 : 0;
            else if (a.isString() && b.isString())
                cmp = a.s.compare(b.s);
            else
                typeError();
            bool r = op == "<" ? cmp < 0 : op == "<=" ? cmp <= 0 : op == ">" ? cmp > 0 : cmp >= 0;
            return Value::boolean(r);
        }
        if (op == "+") {
            if (a.isString() && b.isString()) return checked(Value::string(a.s + b.s), e.line);
            if (a.isList() && b.isList()) {
                if (a.list->size() + b.list->size() > 1'000'000) fail(e.line, "list over a million items");
                List items = *a.list;
                items.insert(items.end(), b.list->begin(), b.list->end());
                return Value::makeList(std::move(items));
            }
        }
        if (op == "*" && ((a.isString() || a.isList()) && b.kind == Value::Kind::Int)) return repeat(a, b.i, e.line);
        if (op == "*" && ((b.isString() || b.isList()) && a.kind == Value::Kind::Int)) return repeat(b, a.i, e.line);
        if (op == "%" && a.isString()) fail(e.line, "'%' string formatting is not supported; use ~ or format()");
        if (!a.isNumber() || !b.isNumber()) typeError();
        bool ints = a.kind == Value::Kind::Int && b.kind == Value::Kind::Int;
        double x = a.asDouble(), y = b.asDouble();
        if (op == "+") return ints ? Value::integer(a.i + b.i) : Value::number(x + y);
        if (op == "-") return ints ? Value::integer(a.i - b.i) : Value::number(x - y);
        if (op == "*") return ints ? Value::integer(a.i * b.i) : Value::number(x * y);
        if (op == "**") {
            if (ints && b.i >= 0) return Value::integer(static_cast<int64_t>(std::pow(x, y)));
            return Value::number(std::pow(x, y));
        }
        if (y == 0) fail(e.line, "division by zero");
        if (op == "/") return Value::number(x / y);
        if (op == "//") {
            if (ints) {
                int64_t q = a.i / b.i;
                if ((a.i % b.i != 0) && ((a.i < 0) != (b.i < 0))) --q;
                return Value::integer(q);
            }
            return Value::number(std::floor(x / y));
        }
        if (ints) {
            int64_t r = a.i % b.i;
            if (r != 0 && ((r < 0) != (b.i < 0))) r += b.i;
            return Value::integer(r);
        }
        return Value::number(x - y * std::floor(x / y));
    }

    Value checked(Value v, int line) const
    {
        if (v.s.size() > kMaxText) fail(line, "string over 64 MiB");
        return v;
    }

    Value repeat(const Value& v, int64_t times, int line)
    {
        if (times < 0) times = 0;
        size_t unit = v.isString() ? v.s.size() : v.list->size();
        if (static_cast<double>(unit) * static_cast<double>(times) > (v.isString() ? kMaxText : 1'000'000)) fail(line, "repetition result too large");
        if (v.isString()) {
            std::string out;
            for (int64_t k = 0; k < times; ++k) out += v.s;
            return Value::string(std::move(out));
        }
        List items;
        for (int64_t k = 0; k < times; ++k) items.insert(items.end(), v.list->begin(), v.list->end());
        return Value::makeList(std::move(items));
    }

    bool contains(const Value& container, const Value& item, int line) const
    {
        switch (container.kind) {
        case Value::Kind::String:
            if (!item.isString()) fail(line, "'in <string>' needs a string on the left, not a " + std::string(kindName(item.kind)));
            return container.s.find(item.s) != std::string::npos;
        case Value::Kind::List:
            for (const auto& v : *container.list)
                if (equals(v, item)) return true;
            return false;
        case Value::Kind::Dict:
        case Value::Kind::Namespace: return item.isString() && container.dict->find(item.s) != nullptr;
        case Value::Kind::Undefined: return false;
        default: fail(line, std::string("argument of type ") + kindName(container.kind) + " is not iterable");
        }
    }
};

}  // namespace

Template::Template(std::string_view source, std::string origin)
{
    auto program = std::make_shared<Program>();
    program->origin = std::move(origin);
    // Jinja2's keep_trailing_newline=False (transformers' setting): one final newline is dropped.
    if (source.ends_with("\r\n"))
        source.remove_suffix(2);
    else if (source.ends_with('\n'))
        source.remove_suffix(1);
    program->body = parse(lex(source, program->origin), program->origin);
    m_program = std::move(program);
}

std::string Template::render(const nlohmann::ordered_json& context) const { return Renderer(*m_program, context).run(); }

const std::string& Template::origin() const { return m_program->origin; }

}  // namespace tsumugi::tok::jinja
