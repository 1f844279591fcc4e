// A small Jinja interpreter for the chat templates Hugging Face models ship in
// tokenizer_config.json. It follows Python Jinja2 as transformers configures it
// (ImmutableSandboxedEnvironment, trim_blocks=True, lstrip_blocks=True, loop controls,
// a `tojson` that keeps non-ASCII text, `raise_exception`, `strftime_now`), because that is
// what formats prompts at training and inference time elsewhere.
//
// Covered: {{ }}, {% %}, {# #}, whitespace control (- and +), raw blocks; for (loop.*, else,
// inline `if`, break/continue), if/elif/else, set (names, tuples, namespace attributes, block
// set), macros, filter blocks, {% generation %}; literals, lists, dicts, tuples, attribute and
// subscript access, slices, arithmetic, ~, comparisons, and/or/not, in/not in, tests, inline
// if-else; the filters and string/dict methods chat templates use. Not covered: include,
// extends, import, call blocks, `%` string formatting.
//
// Values printed with {{ }} follow Python: True/False/None, lists and dicts as repr.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tsumugi::tok::jinja {

struct Program;

class Template {
public:
    // Throws ParseError naming `origin`, line and column.
    Template(std::string_view source, std::string origin);

    // `context` is a JSON object whose keys become template variables (messages,
    // bos_token, add_generation_prompt, ...). Errors — raise_exception(), an attribute of an
    // undefined value, a type error, an unknown filter — are tsumugi::Error naming the origin
    // and the template line. An undefined value prints as nothing, as in Jinja2.
    std::string render(const nlohmann::ordered_json& context) const;

    const std::string& origin() const;

private:
    std::shared_ptr<const Program> m_program;
};

}  // namespace tsumugi::tok::jinja
