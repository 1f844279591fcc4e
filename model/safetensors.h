// safetensors: the tensor file format of Hugging Face checkpoints.
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data buffer]
//   header = {"__metadata__": {str: str}?, name: {"dtype": "F32", "shape": [..],
//             "data_offsets": [begin, end)}, ...}   offsets relative to the data buffer
//
// Reading maps the file (mmap) and validates everything before any tensor is touched
// (parseSafetensorsLayout, model/safetensors_format.h). Tensors come out as views over the mapping (kept alive by the
// tensor) or as copies on a device/dtype. Sharded checkpoints (model.safetensors.index.json) are read and written by
// SafetensorsCheckpoint. Errors are tsumugi::ParseError naming file and tensor.
#pragma once

#include <ATen/ATen.h>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/safetensors_format.h"

namespace tsumugi::model {

at::ScalarType toScalarType(StDtype dtype);
// Throws tsumugi::Error for torch dtypes safetensors (as we write it) has no name for.
StDtype fromScalarType(at::ScalarType type);

// Bytes behind a file: a read-only-to-disk mapping (MAP_PRIVATE: in-place writes to a view
// stay in memory) or an owned buffer (parsing from memory, e.g. the fuzzer).
class StBytes;

class SafetensorsFile {
public:
    // Maps and validates `path`. Throws ParseError (bad content) or NotFoundError.
    static SafetensorsFile open(const std::string& path);
    // Validates bytes held in memory; `name` is used in errors.
    static SafetensorsFile fromBytes(std::string bytes, const std::string& name);

    const std::string& path() const { return m_path; }
    const std::map<std::string, std::string>& metadata() const { return m_layout.metadata; }
    // In the order of the bytes in the file.
    const std::vector<StTensorInfo>& tensors() const { return m_layout.tensors; }
    const StTensorInfo* find(const std::string& name) const;
    const StTensorInfo& info(const std::string& name) const;  // throws NotFoundError
    bool contains(const std::string& name) const { return find(name) != nullptr; }
    uint64_t headerSize() const { return m_layout.headerSize; }

    // A CPU tensor over the mapping; no copy when the bytes are aligned for the dtype (the
    // files we and the reference implementation write always are), a copy otherwise.
    at::Tensor view(const std::string& name) const;
    // A copy on `device`, converted to `dtype` when given.
    at::Tensor load(const std::string& name, at::Device device = at::kCPU,
                    std::optional<at::ScalarType> dtype = std::nullopt) const;

private:
    void parse();
    at::Tensor viewUnchecked(const std::string& name) const;

    std::string m_path;
    std::shared_ptr<StBytes> m_bytes;
    StLayout m_layout;
    std::map<std::string, size_t> m_index;
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// One file. Tensors are written contiguous in their own dtype, ordered as the reference
// implementation orders them (larger dtypes first, then by name) so each is aligned; the
// header is padded with spaces to a multiple of 8. Written to a temporary file and renamed.
void writeSafetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
// The header text writeSafetensors would produce (without the length prefix, with padding).
std::string safetensorsHeader(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                              std::vector<size_t>* order = nullptr);

constexpr const char* kSafetensorsIndexName = "model.safetensors.index.json";
constexpr const char* kSafetensorsSingleName = "model.safetensors";

struct ShardOptions {
    uint64_t maxShardBytes = 5'000'000'000;  // transformers' default max_shard_size="5GB"
};

// Writes `directory`/model.safetensors when everything fits in one shard, else
// model-0000i-of-0000n.safetensors + model.safetensors.index.json ({"metadata":
// {"total_size"}, "weight_map"}). Shards fill in the order given; a tensor larger than the
// limit gets a shard of its own. Returns the files written (index last).
std::vector<std::string> writeSafetensorsCheckpoint(const std::string& directory, const NamedTensors& tensors,
                                                    const ShardOptions& options = {});

// A checkpoint directory: model.safetensors (looked for first, as transformers does), or an
// index and its shards. Every mapped file
// must exist and hold the tensors the index says it holds. A directory with only
// pytorch_model.bin (pickle) is refused with how to convert it.
class SafetensorsCheckpoint {
public:
    // `path`: a directory, an index file, or a single .safetensors file.
    static SafetensorsCheckpoint open(const std::string& path);

    std::vector<std::string> names() const;  // sorted
    bool contains(const std::string& name) const { return m_where.count(name) != 0; }
    const StTensorInfo& info(const std::string& name) const;
    const SafetensorsFile& fileOf(const std::string& name) const;
    at::Tensor view(const std::string& name) const { return fileOf(name).view(name); }
    at::Tensor load(const std::string& name, at::Device device = at::kCPU,
                    std::optional<at::ScalarType> dtype = std::nullopt) const
    {
        return fileOf(name).load(name, device, dtype);
    }
    const std::vector<SafetensorsFile>& files() const { return m_files; }
    bool sharded() const { return m_sharded; }

private:
    std::vector<SafetensorsFile> m_files;
    std::map<std::string, size_t> m_where;  // tensor name → index into m_files
    bool m_sharded = false;
};

}  // namespace tsumugi::model
