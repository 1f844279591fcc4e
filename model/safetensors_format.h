// The safetensors layout, without LibTorch: dtypes, the header and its validation. Kept apart
// from model/safetensors.h (the mmap'd tensors) so the parser can be fuzzed and reused
// anywhere; all of a file's checks happen here.
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data buffer]
//   header = {"__metadata__": {str: str}?, name: {"dtype": "F32", "shape": [..],
//             "data_offsets": [begin, end)}, ...}   offsets relative to the data buffer
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tsumugi::model {

enum class StDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

const char* stDtypeName(StDtype dtype);
size_t stDtypeSize(StDtype dtype);
// The reference implementation's Dtype enum order; its writer puts larger ranks first.
int stDtypeRank(StDtype dtype);

struct StTensorInfo {
    std::string name;
    StDtype dtype = StDtype::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // [begin, end) in the data buffer
    uint64_t end = 0;
};

constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;  // as the reference implementation

struct StLayout {
    uint64_t headerSize = 0;  // N; the data buffer starts at 8 + N
    std::map<std::string, std::string> metadata;
    std::vector<StTensorInfo> tensors;  // in data order
};

// Validates a whole file held in memory: header length (≤ kMaxSafetensorsHeader, inside the
// file), JSON object, __metadata__ strings, each tensor's dtype, shape, shape × dtype size ==
// end − begin, ranges inside the data buffer and not overlapping. Throws tsumugi::ParseError
// naming `file` and the tensor.
StLayout parseSafetensorsLayout(const uint8_t* data, uint64_t size, const std::string& file);

}  // namespace tsumugi::model
