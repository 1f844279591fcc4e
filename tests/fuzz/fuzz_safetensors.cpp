// libFuzzer target for the safetensors layout parser (model/safetensors_format.cpp, which
// model/safetensors.cpp runs on every file before it touches a tensor): any bytes must either
// parse or throw tsumugi::Error (never crash, hang or read outside the buffer), and what
// parses must describe ranges inside the buffer that do not overlap. Clang only
// (tests/CMakeLists.txt, label fuzz); it links no LibTorch (see model/CMakeLists.txt).
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTSUMUGI_SANITIZE=ON \
//       -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link && ninja -C build-fuzz fuzz_safetensors
// Seeds: tests/fuzz/corpus/safetensors (written by tests/golden/make_safetensors_fixture.py).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "model/safetensors_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace tsumugi::model;
    StLayout layout;
    try {
        layout = parseSafetensorsLayout(data, size, "fuzz.safetensors");
    } catch (const tsumugi::Error&) {
        return 0;
    }
    const uint64_t buffer = size - 8 - layout.headerSize;
    uint64_t previousEnd = 0;
    for (const StTensorInfo& t : layout.tensors) {
        uint64_t elements = 1;
        for (int64_t d : t.shape) elements *= uint64_t(d);
        if (t.end > buffer || elements * stDtypeSize(t.dtype) != t.end - t.begin) __builtin_trap();
        if (t.begin != t.end) {
            if (t.begin < previousEnd) __builtin_trap();
            previousEnd = t.end;
        }
        // Touch every byte the tensor claims: ASan reports any read past the input.
        uint8_t sum = 0;
        for (uint64_t i = t.begin; i < t.end; ++i) sum ^= data[8 + layout.headerSize + i];
        (void)sum;
    }
    return 0;
}
