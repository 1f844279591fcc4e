// libFuzzer target for config.json (model/config.cpp): any bytes must either parse or throw
// tsumugi::Error, and whatever parses must survive configToJson → parseConfigJson unchanged.
// Clang only (tests/CMakeLists.txt, label fuzz). Seeds: tests/fuzz/corpus/config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace tsumugi::model;
    LlamaConfig config;
    try {
        config = parseConfigJson(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz/config.json");
    } catch (const tsumugi::Error&) {
        return 0;
    }
    (void)config.parameterCount();
    const LlamaConfig again = parseConfigJson(configToJson(config), "fuzz/config.json");  // must not throw
    if (!(again == config)) __builtin_trap();
    return 0;
}
