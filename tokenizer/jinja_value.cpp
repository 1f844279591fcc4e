#include "tokenizer/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace tsumugi::tok::jinja {

const Value* Dict::find(std::string_view key) const
{
    for (const auto& [k, v] : items)
        if (k == key) return &v;
    return nullptr;
}

void Dict::set(const std::string& key, Value value)
{
    for (auto& [k, v] : items)
        if (k == key) {
            v = std::move(value);
            return;
        }
    items.emplace_back(key, std::move(value));
}

Value Value::undefined(std::string name)
{
    Value v;
    v.s = std::move(name);
    return v;
}
Value Value::none()
{
    Value v;
    v.kind = Kind::None;
    return v;
}
Value Value::boolean(bool b)
{
    Value v;
    v.kind = Kind::Bool;
    v.b = b;
    return v;
}
Value Value::integer(int64_t i)
{
    Value v;
    v.kind = Kind::Int;
    v.i = i;
    return v;
}
Value Value::number(double f)
{
    Value v;
    v.kind = Kind::Float;
    v.f = f;
    return v;
}
Value Value::string(std::string s)
{
    Value v;
    v.kind = Kind::String;
    v.s = std::move(s);
    return v;
}
Value Value::makeList(List items)
{
    Value v;
    v.kind = Kind::List;
    v.list = std::make_shared<List>(std::move(items));
    return v;
}
Value Value::makeDict(Dict d)
{
    Value v;
    v.kind = Kind::Dict;
    v.dict = std::make_shared<Dict>(std::move(d));
    return v;
}
Value Value::makeNamespace(Dict d)
{
    Value v = makeDict(std::move(d));
    v.kind = Kind::Namespace;
    return v;
}
Value Value::function(Function f)
{
    Value v;
    v.kind = Kind::Function;
    v.fn = std::make_shared<Function>(std::move(f));
    return v;
}

Value Value::fromJson(const nlohmann::ordered_json& j)
{
    switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return integer(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return number(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
        List items;
        items.reserve(j.size());
        for (const auto& e : j) items.push_back(fromJson(e));
        return makeList(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
        Dict d;
        for (const auto& [k, e] : j.items()) d.items.emplace_back(k, fromJson(e));
        return makeDict(std::move(d));
    }
    default: return undefined();
    }
}

const char* kindName(Value::Kind kind)
{
    switch (kind) {
    case Value::Kind::Undefined: return "undefined";
    case Value::Kind::None: return "none";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "string";
    case Value::Kind::List: return "list";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Namespace: return "namespace";
    case Value::Kind::Function: return "function";
    }
    return "?";
}

bool truthy(const Value& v)
{
    switch (v.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.b;
    case Value::Kind::Int: return v.i != 0;
    case Value::Kind::Float: return v.f != 0;
    case Value::Kind::String: return !v.s.empty();
    case Value::Kind::List: return !v.list->empty();
    case Value::Kind::Dict: return !v.dict->items.empty();
    case Value::Kind::Namespace:
    case Value::Kind::Function: return true;
    }
    return false;
}

bool equals(const Value& a, const Value& b)
{
    if (a.isNumber() && b.isNumber()) {
        if (a.kind == Value::Kind::Int && b.kind == Value::Kind::Int) return a.i == b.i;
        return a.asDouble() == b.asDouble();
    }
    // Python: True == 1.
    if (a.kind == Value::Kind::Bool && b.isNumber()) return equals(Value::integer(a.b), b);
    if (b.kind == Value::Kind::Bool && a.isNumber()) return equals(a, Value::integer(b.b));
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return true;
    case Value::Kind::Bool: return a.b == b.b;
    case Value::Kind::String: return a.s == b.s;
    case Value::Kind::List:
        if (a.list->size() != b.list->size()) return false;
        for (size_t k = 0; k < a.list->size(); ++k)
            if (!equals((*a.list)[k], (*b.list)[k])) return false;
        return true;
    case Value::Kind::Dict:
        if (a.dict->items.size() != b.dict->items.size()) return false;
        for (const auto& [k, v] : a.dict->items) {
            const Value* other = b.dict->find(k);
            if (!other || !equals(v, *other)) return false;
        }
        return true;
    case Value::Kind::Namespace: return a.dict == b.dict;
    case Value::Kind::Function: return a.fn == b.fn;
    default: return false;
    }
}

namespace {

// Python's repr(float): shortest round-trip digits, exponent form outside [1e-4, 1e16).
std::string floatRepr(double d)
{
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    bool negative = sci[0] == '-';
    if (negative) sci.erase(0, 1);
    size_t e = sci.find('e');
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    int exponent = std::stoi(sci.substr(e + 1));
    std::string out;
    if (exponent < -4 || exponent >= 16) {
        out = digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        char ebuf[16];
        std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
        out += ebuf;
    } else if (exponent < 0) {
        out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else {
        auto intLen = static_cast<size_t>(exponent + 1);
        if (digits.size() <= intLen)
            out = digits + std::string(intLen - digits.size(), '0') + ".0";
        else
            out = digits.substr(0, intLen) + "." + digits.substr(intLen);
    }
    return negative ? "-" + out : out;
}

std::string stringRepr(const std::string& s)
{
    char quote = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
    std::string out(1, quote);
    for (char c : s) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c == quote) out += '\\';
            out += c;
        }
    }
    out += quote;
    return out;
}

void jsonString(std::string& out, const std::string& s)
{
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

void jsonDump(std::string& out, const Value& v, int indent, bool sortKeys, int depth)
{
    auto newline = [&](int level) {
        if (indent < 0) return;
        out += '\n';
        out.append(static_cast<size_t>(indent * level), ' ');
    };
    const char* itemSep = indent < 0 ? ", " : ",";
    switch (v.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None: out += "null"; return;
    case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
    case Value::Kind::Int: out += std::to_string(v.i); return;
    case Value::Kind::Float:
        out += std::isnan(v.f) ? "NaN" : std::isinf(v.f) ? (v.f > 0 ? "Infinity" : "-Infinity") : floatRepr(v.f);
        return;
    case Value::Kind::String: jsonString(out, v.s); return;
    case Value::Kind::Function: out += "null"; return;
    case Value::Kind::List: {
        if (v.list->empty()) {
            out += "[]";
            return;
        }
        out += '[';
        for (size_t k = 0; k < v.list->size(); ++k) {
            if (k) out += itemSep;
            newline(depth + 1);
            jsonDump(out, (*v.list)[k], indent, sortKeys, depth + 1);
        }
        newline(depth);
        out += ']';
        return;
    }
    case Value::Kind::Dict:
    case Value::Kind::Namespace: {
        if (v.dict->items.empty()) {
            out += "{}";
            return;
        }
        std::vector<const std::pair<std::string, Value>*> items;
        for (const auto& item : v.dict->items) items.push_back(&item);
        if (sortKeys)
            std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
        out += '{';
        bool first = true;
        for (const auto* item : items) {
            if (!first) out += itemSep;
            first = false;
            newline(depth + 1);
            jsonString(out, item->first);
            out += ": ";
            jsonDump(out, item->second, indent, sortKeys, depth + 1);
        }
        newline(depth);
        out += '}';
        return;
    }
    }
}

}  // namespace

std::string toStr(const Value& v)
{
    switch (v.kind) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return v.b ? "True" : "False";
    case Value::Kind::Int: return std::to_string(v.i);
    case Value::Kind::Float: return floatRepr(v.f);
    case Value::Kind::String: return v.s;
    default: return repr(v);
    }
}

std::string repr(const Value& v)
{
    switch (v.kind) {
    case Value::Kind::String: return stringRepr(v.s);
    case Value::Kind::List: {
        std::string out = "[";
        for (size_t k = 0; k < v.list->size(); ++k) out += (k ? ", " : "") + repr((*v.list)[k]);
        return out + "]";
    }
    case Value::Kind::Dict: {
        std::string out = "{";
        bool first = true;
        for (const auto& [k, e] : v.dict->items) {
            out += (first ? "" : ", ") + stringRepr(k) + ": " + repr(e);
            first = false;
        }
        return out + "}";
    }
    case Value::Kind::Namespace: return "<Namespace>";
    case Value::Kind::Function: return "<function>";
    default: return toStr(v);
    }
}

std::string toJson(const Value& v, int indent, bool sortKeys)
{
    std::string out;
    jsonDump(out, v, indent, sortKeys, 0);
    return out;
}

nlohmann::ordered_json toJsonValue(const Value& v)
{
    switch (v.kind) {
    case Value::Kind::Bool: return v.b;
    case Value::Kind::Int: return v.i;
    case Value::Kind::Float: return v.f;
    case Value::Kind::String: return v.s;
    case Value::Kind::List: {
        auto out = nlohmann::ordered_json::array();
        for (const auto& e : *v.list) out.push_back(toJsonValue(e));
        return out;
    }
    case Value::Kind::Dict:
    case Value::Kind::Namespace: {
        auto out = nlohmann::ordered_json::object();
        for (const auto& [k, e] : v.dict->items) out[k] = toJsonValue(e);
        return out;
    }
    default: return nullptr;
    }
}

std::vector<size_t> codepointOffsets(std::string_view s)
{
    std::vector<size_t> offsets;
    offsets.reserve(s.size() + 1);
    for (size_t k = 0; k < s.size(); ++k)
        if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80) offsets.push_back(k);
    offsets.push_back(s.size());
    return offsets;
}

int64_t codepointLength(std::string_view s)
{
    int64_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

}  // namespace tsumugi::tok::jinja
