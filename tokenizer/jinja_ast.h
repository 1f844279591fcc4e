// Inside the Jinja interpreter: tokens (jinja_lexer.cpp), the syntax tree
// (jinja_parser.cpp) and the evaluator's built-ins (jinja_eval.cpp, jinja_builtins.cpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja.h"
#include "tokenizer/jinja_value.h"

namespace tsumugi::tok::jinja {

struct Token {
    enum class Kind {
        Text,        // template text, whitespace control already applied
        VarBegin,    // {{
        VarEnd,      // }}
        BlockBegin,  // {%
        BlockEnd,    // %}
        Name,
        String,
        Int,
        Float,
        Op,  // operators and punctuation
        End,
    };
    Kind kind;
    std::string text;
    int line = 1;
    int column = 1;
};

// Splits a template into text and tag tokens the way Jinja2 does with trim_blocks and
// lstrip_blocks (as transformers configures it); comments are dropped, raw blocks become text.
std::vector<Token> lex(std::string_view source, const std::string& origin);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    enum class Kind {
        Literal,  // literal
        Name,     // name
        List,     // args: items
        Tuple,    // args: items
        Dict,     // args: key0, value0, key1, value1, ...
        Attr,     // args[0].name
        Index,    // args[0][args[1]]
        Slice,    // args[0][args[1]:args[2]:args[3]], each bound may be null
        Call,     // args[0](args[1..], kwargs)
        Filter,   // args[0] | name(args[1..], kwargs)
        Test,     // args[0] is [not] name(args[1..])
        Unary,    // name in {"-", "+", "not"}; args[0]
        Binary,   // name is the operator; args[0], args[1]
        Cond,     // args[0] if args[1] else args[2] (args[2] may be null)
    };
    Kind kind;
    int line = 1;
    Value literal;
    std::string name;
    std::vector<ExprPtr> args;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
    bool negated = false;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
    enum class Kind {
        Text,        // text
        Output,      // {{ expr }}
        If,          // conditions[k] -> bodies[k]; a null condition is the else branch
        For,         // for targets in expr [if filter]: bodies[0], else bodies[1]
        Set,         // targets = expr; or target (a namespace attribute) = expr
        SetBlock,    // {% set targets[0] %}bodies[0]{% endset %}
        Macro,       // macro name(params = defaults): bodies[0]
        Break,
        Continue,
        FilterBlock,  // filter (expr is a Filter on a null input): bodies[0]
        Scope,        // bodies[0] rendered as is ({% generation %})
    };
    Kind kind;
    int line = 1;
    std::string text;
    ExprPtr expr;
    ExprPtr filter;  // For: the inline `if`
    ExprPtr target;  // Set: a namespace attribute target (Attr expression)
    std::vector<std::string> targets;
    std::vector<ExprPtr> conditions;
    std::vector<Body> bodies;
    std::vector<std::pair<std::string, ExprPtr>> params;  // Macro
};

struct Program {
    std::string origin;
    Body body;
};

Body parse(const std::vector<Token>& tokens, const std::string& origin);

// Thrown by built-in functions (raise_exception, a bad argument); the evaluator adds the
// template origin and line and rethrows it as tsumugi::Error.
struct CallError {
    std::string message;
};

// The items a value iterates over: a list, a dict's keys, a string's characters (code
// points); Undefined gives none. Throws CallError for anything else.
List toList(const Value& v);

// Built-ins (jinja_builtins.cpp). `where` is "origin:line" for error messages.
Value applyFilter(const std::string& name, const Value& input, const std::vector<Value>& args, const KwArgs& kwargs,
                  const std::string& where);
bool applyTest(const std::string& name, const Value& input, const std::vector<Value>& args, const std::string& where);
// A method call such as text.strip() or message.get("k"); false when `name` is no method of
// the receiver's type.
bool callMethod(const Value& receiver, const std::string& name, const std::vector<Value>& args, const KwArgs& kwargs,
                const std::string& where, Value& result);
bool hasMethod(const Value& receiver, const std::string& name);
// Python slicing over lists and (by code point) strings.
Value slice(const Value& v, const Value& start, const Value& stop, const Value& step, const std::string& where);
void addGlobals(Dict& globals);

}  // namespace tsumugi::tok::jinja
