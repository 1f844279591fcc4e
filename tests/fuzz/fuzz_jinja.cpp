// libFuzzer target for the Jinja interpreter: any input is parsed as a template and, when it
// parses, rendered over a small conversation. Only tsumugi::Error (ParseError included) may
// come out; a crash, a hang or another exception is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/jinja.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const nlohmann::ordered_json context = {
        {"messages",
         {{{"role", "system"}, {"content", "あなたは誠実なアシスタントです。"}},
          {{"role", "user"}, {"content", "  こんにちは {{ x }}  "}},
          {{"role", "assistant"}, {"content", "はい。"}}}},
        {"bos_token", "<s>"},
        {"eos_token", "</s>"},
        {"add_generation_prompt", true}};
    try {
        tsumugi::tok::jinja::Template tmpl(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.jinja");
        (void)tmpl.render(context);
    } catch (const tsumugi::Error&) {
    }
    return 0;
}
