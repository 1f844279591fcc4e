// Values of the Jinja interpreter (jinja.h): Python's None, bool, int, float, str, list, dict,
// Jinja's Undefined and namespace objects, and callables (globals, macros, bound methods).
// Lists, dicts and namespaces are shared by reference, as in Python.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tsumugi::tok::jinja {

struct Value;
using List = std::vector<Value>;
using KwArgs = std::vector<std::pair<std::string, Value>>;
using Function = std::function<Value(const std::vector<Value>& args, const KwArgs& kwargs)>;

// Insertion-ordered, string-keyed (chat templates only ever use string keys).
struct Dict {
    std::vector<std::pair<std::string, Value>> items;
    const Value* find(std::string_view key) const;
    void set(const std::string& key, Value value);
};

struct Value {
    enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };

    Kind kind = Kind::Undefined;
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::string s;                    // String; for Undefined, the name that was missing
    std::shared_ptr<List> list;       // List
    std::shared_ptr<Dict> dict;       // Dict, Namespace
    std::shared_ptr<Function> fn;     // Function

    static Value undefined(std::string name = {});
    static Value none();
    static Value boolean(bool v);
    static Value integer(int64_t v);
    static Value number(double v);
    static Value string(std::string v);
    static Value makeList(List items = {});
    static Value makeDict(Dict d = {});
    static Value makeNamespace(Dict d = {});
    static Value function(Function f);
    static Value fromJson(const nlohmann::ordered_json& j);

    bool isUndefined() const { return kind == Kind::Undefined; }
    bool isNone() const { return kind == Kind::None; }
    bool isString() const { return kind == Kind::String; }
    bool isNumber() const { return kind == Kind::Int || kind == Kind::Float; }
    bool isList() const { return kind == Kind::List; }
    bool isMapping() const { return kind == Kind::Dict || kind == Kind::Namespace; }
    double asDouble() const { return kind == Kind::Float ? f : static_cast<double>(i); }
};

const char* kindName(Value::Kind kind);
bool truthy(const Value& v);
bool equals(const Value& a, const Value& b);
// Python's str(): what {{ }} prints (Undefined prints nothing, None prints "None").
std::string toStr(const Value& v);
// Python's repr(), used for list and dict elements.
std::string repr(const Value& v);
// json.dumps(v, ensure_ascii=False, indent=indent, sort_keys=sortKeys), as transformers' tojson.
std::string toJson(const Value& v, int indent = -1, bool sortKeys = false);
nlohmann::ordered_json toJsonValue(const Value& v);

// UTF-8 code point boundaries: Python strings index and count code points, not bytes.
std::vector<size_t> codepointOffsets(std::string_view s);  // size = count + 1, last = s.size()
int64_t codepointLength(std::string_view s);

}  // namespace tsumugi::tok::jinja
