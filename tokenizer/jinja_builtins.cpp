// Filters, tests, string and dict methods and global functions, following Python and Jinja2
// (str.strip() also strips Unicode spaces such as U+3000; len() counts code points).
#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/error.h"
#include "tokenizer/jinja_ast.h"

namespace tsumugi::tok::jinja {

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& message) { throw Error(where + ": " + message); }

// Decodes one UTF-8 code point at s[k]; returns its length (1 for a stray byte).
size_t decode(std::string_view s, size_t k, uint32_t& cp)
{
    auto c = static_cast<unsigned char>(s[k]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (k + len > s.size()) len = 1;
    cp = len == 1 ? c : c & (0xFF >> (len + 1));
    for (size_t j = 1; j < len; ++j) cp = (cp << 6) | (static_cast<unsigned char>(s[k + j]) & 0x3F);
    return len;
}

bool isPyspace(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Python's str.strip / lstrip / rstrip; `chars` (when given) lists the code points to strip.
std::string strip(const std::string& s, const Value& chars, bool left, bool right)
{
    auto strippable = [&](std::string_view piece, uint32_t cp) {
        if (chars.isString()) return chars.s.find(piece) != std::string::npos;
        return isPyspace(cp);
    };
    size_t begin = 0, end = s.size();
    if (left)
        while (begin < end) {
            uint32_t cp;
            size_t len = decode(s, begin, cp);
            if (!strippable(std::string_view(s).substr(begin, len), cp)) break;
            begin += len;
        }
    if (right)
        while (end > begin) {
            size_t start = end - 1;
            while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
            uint32_t cp;
            decode(s, start, cp);
            if (!strippable(std::string_view(s).substr(start, end - start), cp)) break;
            end = start;
        }
    return s.substr(begin, end - begin);
}

std::string asciiMap(std::string s, int (*fn)(int))
{
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(fn(static_cast<unsigned char>(c)));
    return s;
}

std::string capitalize(const std::string& s)
{
    std::string out = asciiMap(s, [](int c) { return std::tolower(c); });
    if (!out.empty() && static_cast<unsigned char>(out[0]) < 0x80) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return out;
}

std::string title(const std::string& s)
{
    std::string out = s;
    bool prevCased = false;
    for (char& c : out) {
        auto u = static_cast<unsigned char>(c);
        bool cased = u < 0x80 && std::isalpha(u);
        if (cased) c = static_cast<char>(prevCased ? std::tolower(u) : std::toupper(u));
        prevCased = cased;
    }
    return out;
}

std::string replace(const std::string& s, const std::string& from, const std::string& to, int64_t count)
{
    std::string out;
    if (from.empty()) {  // Python inserts `to` between every code point
        auto offsets = codepointOffsets(s);
        for (size_t k = 0; k + 1 < offsets.size(); ++k) {
            if (count < 0 || static_cast<int64_t>(k) < count) out += to;
            out += s.substr(offsets[k], offsets[k + 1] - offsets[k]);
        }
        if (count < 0 || static_cast<int64_t>(offsets.size()) - 1 < count) out += to;
        return out;
    }
    size_t pos = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        size_t hit = s.find(from, pos);
        if (hit == std::string::npos) break;
        out += s.substr(pos, hit - pos) + to;
        pos = hit + from.size();
        ++done;
    }
    return out + s.substr(pos);
}

List split(const std::string& s, const Value& sep, int64_t maxsplit)
{
    List parts;
    if (!sep.isString()) {  // runs of whitespace, no empty parts
        size_t k = 0;
        while (true) {
            while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
            if (k >= s.size()) break;
            if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
                parts.push_back(Value::string(strip(s.substr(k), Value::none(), false, true)));
                break;
            }
            size_t end = k;
            while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end]))) ++end;
            parts.push_back(Value::string(s.substr(k, end - k)));
            k = end;
        }
        return parts;
    }
    if (sep.s.empty()) throw CallError{"split(): empty separator"};
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
        size_t hit = s.find(sep.s, pos);
        if (hit == std::string::npos) break;
        parts.push_back(Value::string(s.substr(pos, hit - pos)));
        pos = hit + sep.s.size();
    }
    parts.push_back(Value::string(s.substr(pos)));
    return parts;
}

const Value& arg(const std::vector<Value>& args, const KwArgs& kwargs, size_t index, std::string_view name)
{
    static const Value kMissing;
    for (const auto& [k, v] : kwargs)
        if (k == name) return v;
    return index < args.size() ? args[index] : kMissing;
}

int64_t intArg(const Value& v, int64_t fallback)
{
    if (v.kind == Value::Kind::Int) return v.i;
    if (v.kind == Value::Kind::Bool) return v.b;
    return fallback;
}

Value length(const Value& v)
{
    switch (v.kind) {
    case Value::Kind::String: return Value::integer(codepointLength(v.s));
    case Value::Kind::List: return Value::integer(static_cast<int64_t>(v.list->size()));
    case Value::Kind::Dict:
    case Value::Kind::Namespace: return Value::integer(static_cast<int64_t>(v.dict->items.size()));
    default: return Value::integer(0);
    }
}


Value items(const Value& v)
{
    List out;
    if (v.isMapping())
        for (const auto& [k, e] : v.dict->items) out.push_back(Value::makeList({Value::string(k), e}));
    return Value::makeList(std::move(out));
}

// An attribute path such as "function.name" looked up in a dict.
Value attribute(const Value& v, const std::string& path)
{
    Value cur = v;
    size_t pos = 0;
    while (true) {
        size_t dot = path.find('.', pos);
        std::string key = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        if (!cur.isMapping()) return Value::undefined(key);
        const Value* next = cur.dict->find(key);
        if (!next) return Value::undefined(key);
        cur = *next;
        if (dot == std::string::npos) return cur;
        pos = dot + 1;
    }
}

}  // namespace

List toList(const Value& v)
{
    switch (v.kind) {
    case Value::Kind::List: return *v.list;
    case Value::Kind::Dict: {
        List keys;
        for (const auto& [k, e] : v.dict->items) keys.push_back(Value::string(k));
        return keys;
    }
    case Value::Kind::String: {
        List chars;
        auto offsets = codepointOffsets(v.s);
        for (size_t k = 0; k + 1 < offsets.size(); ++k) chars.push_back(Value::string(v.s.substr(offsets[k], offsets[k + 1] - offsets[k])));
        return chars;
    }
    case Value::Kind::Undefined: return {};
    default: throw CallError{std::string("a ") + kindName(v.kind) + " is not iterable"};
    }
}

Value slice(const Value& v, const Value& start, const Value& stop, const Value& step, const std::string& where)
{
    if (!v.isList() && !v.isString()) fail(where, std::string("a ") + kindName(v.kind) + " cannot be sliced");
    auto offsets = v.isList() ? std::vector<size_t>{} : codepointOffsets(v.s);
    auto n = static_cast<int64_t>(v.isList() ? v.list->size() : offsets.size() - 1);
    int64_t st = step.isNone() ? 1 : intArg(step, 1);
    if (st == 0) fail(where, "slice step cannot be zero");
    auto bound = [&](const Value& b, int64_t fallback) {
        if (b.isNone()) return fallback;
        if (b.kind != Value::Kind::Int) fail(where, std::string("slice indices must be integers, not ") + kindName(b.kind));
        int64_t k = b.i < 0 ? b.i + n : b.i;
        if (st > 0) return std::clamp<int64_t>(k, 0, n);
        return std::clamp<int64_t>(k, -1, n - 1);
    };
    int64_t a = bound(start, st > 0 ? 0 : n - 1);
    int64_t b = bound(stop, st > 0 ? n : -1);
    List outList;
    std::string outStr;
    for (int64_t k = a; st > 0 ? k < b : k > b; k += st) {
        if (v.isList())
            outList.push_back((*v.list)[static_cast<size_t>(k)]);
        else
            outStr += v.s.substr(offsets[static_cast<size_t>(k)], offsets[static_cast<size_t>(k + 1)] - offsets[static_cast<size_t>(k)]);
    }
    return v.isList() ? Value::makeList(std::move(outList)) : Value::string(std::move(outStr));
}

bool applyTest(const std::string& name, const Value& v, const std::vector<Value>& args, const std::string& where)
{
    using K = Value::Kind;
    auto other = [&]() -> const Value& {
        if (args.empty()) fail(where, "test '" + name + "' needs an argument");
        return args[0];
    };
    if (name == "defined") return !v.isUndefined();
    if (name == "undefined") return v.isUndefined();
    if (name == "none") return v.isNone();
    if (name == "string") return v.isString();
    if (name == "number") return v.isNumber();
    if (name == "integer") return v.kind == K::Int;
    if (name == "float") return v.kind == K::Float;
    if (name == "boolean") return v.kind == K::Bool;
    if (name == "true") return v.kind == K::Bool && v.b;
    if (name == "false") return v.kind == K::Bool && !v.b;
    if (name == "mapping") return v.isMapping();
    if (name == "sequence") return v.isList() || v.isString() || v.isMapping();
    if (name == "iterable") return v.isList() || v.isString() || v.isMapping();
    if (name == "callable") return v.kind == K::Function;
    if (name == "lower") return v.isString() && asciiMap(v.s, [](int c) { return std::tolower(c); }) == v.s;
    if (name == "upper") return v.isString() && asciiMap(v.s, [](int c) { return std::toupper(c); }) == v.s;
    if (name == "even" || name == "odd" || name == "divisibleby") {
        if (v.kind != K::Int) fail(where, "test '" + name + "' needs an integer, not a " + kindName(v.kind));
        int64_t d = name == "divisibleby" ? intArg(other(), 1) : 2;
        if (d == 0) fail(where, "divisibleby(0)");
        bool divisible = v.i % d == 0;
        return name == "odd" ? !divisible : divisible;
    }
    if (name == "eq" || name == "equalto" || name == "==") return equals(v, other());
    if (name == "ne" || name == "!=") return !equals(v, other());
    if (name == "sameas") return v.kind == other().kind && equals(v, other());
    if (name == "in") {
        const Value& c = other();
        if (c.isString()) return v.isString() && c.s.find(v.s) != std::string::npos;
        if (c.isMapping()) return v.isString() && c.dict->find(v.s);
        if (c.isList()) return std::any_of(c.list->begin(), c.list->end(), [&](const Value& e) { return equals(e, v); });
        return false;
    }
    if (name == "lt" || name == "gt" || name == "le" || name == "ge") {
        const Value& o = other();
        if (!v.isNumber() || !o.isNumber()) fail(where, "test '" + name + "' needs numbers");
        double x = v.asDouble(), y = o.asDouble();
        return name == "lt" ? x < y : name == "gt" ? x > y : name == "le" ? x <= y : x >= y;
    }
    fail(where, "unknown test '" + name + "'");
}

Value applyFilter(const std::string& name, const Value& v, const std::vector<Value>& args, const KwArgs& kwargs,
                  const std::string& where)
{
    try {
        auto needString = [&]() -> const std::string& {
            if (!v.isString()) fail(where, "filter '" + name + "' needs a string, not a " + kindName(v.kind));
            return v.s;
        };
        if (name == "trim") return Value::string(strip(toStr(v), arg(args, kwargs, 0, "chars"), true, true));
        if (name == "length" || name == "count") return length(v);
        if (name == "upper") return Value::string(asciiMap(toStr(v), [](int c) { return std::toupper(c); }));
        if (name == "lower") return Value::string(asciiMap(toStr(v), [](int c) { return std::tolower(c); }));
        if (name == "title") return Value::string(title(toStr(v)));
        if (name == "capitalize") return Value::string(capitalize(toStr(v)));
        if (name == "string") return v.isString() ? v : Value::string(toStr(v));
        if (name == "safe" || name == "e" || name == "escape" || name == "forceescape") return v;  // autoescape is off
        if (name == "replace") {
            const Value& from = arg(args, kwargs, 0, "old");
            const Value& to = arg(args, kwargs, 1, "new");
            if (!from.isString() || !to.isString()) fail(where, "replace() needs two strings");
            return Value::string(replace(toStr(v), from.s, to.s, intArg(arg(args, kwargs, 2, "count"), -1)));
        }
        if (name == "tojson") {
            const Value& indent = arg(args, kwargs, 0, "indent");
            return Value::string(toJson(v, indent.kind == Value::Kind::Int ? static_cast<int>(indent.i) : -1,
                                        truthy(arg(args, kwargs, 1, "sort_keys"))));
        }
        if (name == "join") {
            const Value& sep = arg(args, kwargs, 0, "d");
            const Value& attr = arg(args, kwargs, 1, "attribute");
            std::string out;
            bool first = true;
            for (const auto& e : toList(v)) {
                if (!first) out += toStr(sep);
                first = false;
                out += toStr(attr.isString() ? attribute(e, attr.s) : e);
            }
            return Value::string(std::move(out));
        }
        if (name == "default" || name == "d") {
            bool boolean = truthy(arg(args, kwargs, 1, "boolean"));
            bool useDefault = v.isUndefined() || (boolean && !truthy(v));
            if (!useDefault) return v;
            const Value& def = arg(args, kwargs, 0, "default_value");
            return def.isUndefined() ? Value::string("") : def;
        }
        if (name == "first" || name == "last") {
            List list = toList(v);
            if (list.empty()) return Value::undefined(name);
            return name == "first" ? list.front() : list.back();
        }
        if (name == "list") return Value::makeList(toList(v));
        if (name == "reverse") {
            if (v.isString()) {
                List chars = toList(v);
                std::string out;
                for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += it->s;
                return Value::string(std::move(out));
            }
            List list = toList(v);
            std::reverse(list.begin(), list.end());
            return Value::makeList(std::move(list));
        }
        if (name == "items" || name == "dictitems") return items(v);
        if (name == "int") {
            const Value& def = arg(args, kwargs, 0, "default");
            if (v.kind == Value::Kind::Int) return v;
            if (v.kind == Value::Kind::Float) return Value::integer(static_cast<int64_t>(v.f));
            if (v.kind == Value::Kind::Bool) return Value::integer(v.b);
            if (v.isString()) {
                try {
                    size_t used = 0;
                    std::string t = strip(v.s, Value::none(), true, true);
                    int64_t n = std::stoll(t, &used);
                    if (used == t.size()) return Value::integer(n);
                } catch (const std::exception&) {
                }
            }
            return def.isUndefined() ? Value::integer(0) : def;
        }
        if (name == "float") {
            if (v.isNumber()) return Value::number(v.asDouble());
            if (v.isString()) try {
                    return Value::number(std::stod(v.s));
                } catch (const std::exception&) {
                }
            return Value::number(0);
        }
        if (name == "abs") {
            if (v.kind == Value::Kind::Int) return Value::integer(v.i < 0 ? -v.i : v.i);
            if (v.kind == Value::Kind::Float) return Value::number(v.f < 0 ? -v.f : v.f);
            fail(where, "abs needs a number");
        }
        if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
            bool byAttr = name.size() > 6;
            bool keep = name[0] == 's';
            size_t testAt = byAttr ? 1 : 0;
            List out;
            for (const auto& e : toList(v)) {
                Value subject = e;
                if (byAttr) {
                    if (args.empty() || !args[0].isString()) fail(where, name + "() needs an attribute name");
                    subject = attribute(e, args[0].s);
                }
                bool pass;
                if (args.size() > testAt) {
                    if (!args[testAt].isString()) fail(where, name + "(): the test name must be a string");
                    std::vector<Value> testArgs(args.begin() + static_cast<std::ptrdiff_t>(testAt) + 1, args.end());
                    pass = applyTest(args[testAt].s, subject, testArgs, where);
                } else {
                    pass = truthy(subject);
                }
                if (pass == keep) out.push_back(e);
            }
            return Value::makeList(std::move(out));
        }
        if (name == "map") {
            List out;
            const Value& attr = arg(args, kwargs, 99, "attribute");
            for (const auto& e : toList(v)) {
                if (attr.isString()) {
                    Value got = attribute(e, attr.s);
                    const Value& def = arg(args, kwargs, 99, "default");
                    out.push_back(got.isUndefined() && !def.isUndefined() ? def : got);
                } else if (!args.empty() && args[0].isString()) {
                    out.push_back(applyFilter(args[0].s, e, std::vector<Value>(args.begin() + 1, args.end()), {}, where));
                } else {
                    fail(where, "map() needs a filter name or attribute=");
                }
            }
            return Value::makeList(std::move(out));
        }
        if (name == "unique") {
            List out;
            for (const auto& e : toList(v))
                if (std::none_of(out.begin(), out.end(), [&](const Value& o) { return equals(o, e); })) out.push_back(e);
            return Value::makeList(std::move(out));
        }
        if (name == "indent") {
            const std::string& s = needString();
            int64_t width = intArg(arg(args, kwargs, 0, "width"), 4);
            bool firstLine = truthy(arg(args, kwargs, 1, "first"));
            std::string pad(static_cast<size_t>(std::clamp<int64_t>(width, 0, 1000)), ' ');
            std::string out = firstLine && !s.empty() ? pad : "";
            for (size_t k = 0; k < s.size(); ++k) {
                out += s[k];
                if (s[k] == '\n' && k + 1 < s.size() && s[k + 1] != '\n') out += pad;
            }
            return Value::string(std::move(out));
        }
        fail(where, "unknown filter '" + name + "'");
    } catch (const CallError& err) {
        fail(where, "filter '" + name + "': " + err.message);
    }
}

bool hasMethod(const Value& self, const std::string& name)
{
    static const char* const kString[] = {"strip", "lstrip", "rstrip", "startswith", "endswith", "split", "upper",
                                          "lower", "title", "capitalize", "replace", "find", "join"};
    static const char* const kDict[] = {"items", "keys", "values", "get"};
    if (self.isString()) return std::find(std::begin(kString), std::end(kString), name) != std::end(kString);
    if (self.kind == Value::Kind::Dict) return std::find(std::begin(kDict), std::end(kDict), name) != std::end(kDict);
    return false;
}

bool callMethod(const Value& self, const std::string& name, const std::vector<Value>& args, const KwArgs& kwargs,
                const std::string& where, Value& result)
{
    if (self.isString()) {
        const std::string& s = self.s;
        if (name == "strip" || name == "lstrip" || name == "rstrip") {
            result = Value::string(strip(s, arg(args, kwargs, 0, "chars"), name != "rstrip", name != "lstrip"));
        } else if (name == "startswith" || name == "endswith") {
            const Value& what = arg(args, kwargs, 0, "prefix");
            List options = what.isList() ? *what.list : List{what};
            bool hit = false;
            for (const auto& o : options) {
                if (!o.isString()) throw CallError{name + "() needs a string or a tuple of strings"};
                hit = hit || (name == "startswith" ? s.starts_with(o.s) : s.ends_with(o.s));
            }
            result = Value::boolean(hit);
        } else if (name == "split") {
            result = Value::makeList(split(s, arg(args, kwargs, 0, "sep"), intArg(arg(args, kwargs, 1, "maxsplit"), -1)));
        } else if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
            result = applyFilter(name, self, {}, {}, where);
        } else if (name == "replace") {
            result = applyFilter(name, self, args, kwargs, where);
        } else if (name == "find") {
            const Value& what = arg(args, kwargs, 0, "sub");
            if (!what.isString()) throw CallError{"find() needs a string"};
            size_t at = s.find(what.s);
            result = Value::integer(at == std::string::npos ? -1 : codepointLength(std::string_view(s).substr(0, at)));
        } else if (name == "join") {
            std::string out;
            bool first = true;
            for (const auto& e : toList(arg(args, kwargs, 0, "iterable"))) {
                if (!first) out += s;
                first = false;
                out += toStr(e);
            }
            result = Value::string(std::move(out));
        } else {
            return false;
        }
        return true;
    }
    if (self.kind == Value::Kind::Dict) {
        if (name == "items") {
            result = items(self);
        } else if (name == "keys" || name == "values") {
            List out;
            for (const auto& [k, e] : self.dict->items) out.push_back(name == "keys" ? Value::string(k) : e);
            result = Value::makeList(std::move(out));
        } else if (name == "get") {
            const Value& key = arg(args, kwargs, 0, "key");
            const Value* found = self.dict->find(toStr(key));
            const Value& def = arg(args, kwargs, 1, "default");
            result = found ? *found : def.isUndefined() ? Value::none() : def;
        } else {
            return false;
        }
        return true;
    }
    return false;
}

void addGlobals(Dict& globals)
{
    globals.set("raise_exception", Value::function([](const std::vector<Value>& args, const KwArgs&) -> Value {
                    throw CallError{"template raised an error: " + (args.empty() ? std::string("(no message)") : toStr(args[0]))};
                }));
    globals.set("namespace", Value::function([](const std::vector<Value>& args, const KwArgs& kwargs) {
                    Dict d;
                    for (const auto& a : args)
                        if (a.isMapping())
                            for (const auto& [k, v] : a.dict->items) d.set(k, v);
                    for (const auto& [k, v] : kwargs) d.set(k, v);
                    return Value::makeNamespace(std::move(d));
                }));
    globals.set("dict", Value::function([](const std::vector<Value>& args, const KwArgs& kwargs) {
                    Dict d;
                    for (const auto& a : args)
                        if (a.isMapping())
                            for (const auto& [k, v] : a.dict->items) d.set(k, v);
                    for (const auto& [k, v] : kwargs) d.set(k, v);
                    return Value::makeDict(std::move(d));
                }));
    globals.set("range", Value::function([](const std::vector<Value>& args, const KwArgs&) {
                    if (args.empty() || args.size() > 3) throw CallError{"range() takes 1 to 3 integers"};
                    for (const auto& a : args)
                        if (a.kind != Value::Kind::Int) throw CallError{"range() takes integers"};
                    int64_t start = args.size() > 1 ? args[0].i : 0;
                    int64_t stop = args.size() > 1 ? args[1].i : args[0].i;
                    int64_t step = args.size() > 2 ? args[2].i : 1;
                    if (step == 0) throw CallError{"range() step must not be zero"};
                    List out;
                    for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
                        if (out.size() >= 1'000'000) throw CallError{"range() too long (over a million items)"};
                        out.push_back(Value::integer(k));
                    }
                    return Value::makeList(std::move(out));
                }));
    globals.set("strftime_now", Value::function([](const std::vector<Value>& args, const KwArgs&) {
                    if (args.empty() || !args[0].isString()) throw CallError{"strftime_now() needs a format string"};
                    std::time_t now = std::time(nullptr);
                    std::tm tm{};
                    localtime_r(&now, &tm);
                    char buf[256];
                    size_t n = std::strftime(buf, sizeof buf, args[0].s.c_str(), &tm);
                    return Value::string(std::string(buf, n));
                }));
}

}  // namespace tsumugi::tok::jinja
