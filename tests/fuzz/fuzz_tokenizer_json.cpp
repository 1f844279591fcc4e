// libFuzzer target for the tokenizer.json loader (tokenizer/hf_*): any bytes must either load
// or throw tsumugi::Error (never crash, hang or leak), and whatever loads must encode and
// decode any text without crashing. Built only with clang (tests/CMakeLists.txt, label fuzz):
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTSUMUGI_SANITIZE=ON \
//       -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link && ninja -C build-fuzz fuzz_tokenizer_json
//   mkdir -p build-fuzz/work && build-fuzz/tests/fuzz_tokenizer_json -max_total_time=120 \
//       build-fuzz/work tests/fuzz/corpus/tokenizer_json   (new inputs go to the first folder)
// The seeds are small tokenizer.json files of each supported kind.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "tokenizer/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::unique_ptr<tsumugi::tok::Tokenizer> tok;
    try {
        tok = tsumugi::tok::parseTokenizerJson(input, "fuzz/tokenizer.json");
    } catch (const tsumugi::Error&) {
        return 0;
    }
    // The input itself doubles as text (it holds the vocabulary's own strings), plus a few
    // fixed texts with Japanese, whitespace runs, special tokens and invalid UTF-8.
    const std::string texts[] = {std::string(input.substr(0, 512)), "日本語の文。 Hello  world's 123\r\n\t<s></s>",
                                 "a\xFF\xC3 b\xE3\x81", ""};
    for (const std::string& text : texts) {
        try {
            const auto enc = tok->encode(text);
            (void)tok->decode(enc.ids, false);
            (void)tok->decode(enc.ids, true);
            for (int32_t id : enc.ids) (void)tok->isSpecial(id);
        } catch (const tsumugi::Error&) {
            // e.g. a Unigram without unk_id meeting an unknown character
        }
    }
    (void)tok->decode({-1, 0, 1, 2, 1 << 30}, false);
    return 0;
}
