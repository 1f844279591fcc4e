// Shared by the decoder tests (CPU and CUDA): the fixtures of tests/golden/llama_ref.py
// (config.json, model.safetensors, inputs.json, raw little-endian fp32 logits files).
// LibTorch before Qt in every includer: ATen has members named `slots`.
#pragma once

#include <ATen/ATen.h>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "model/llama.h"
#include "model/safetensors.h"

namespace tsumugi::test {

using nlohmann::json;
using namespace tsumugi::model;

inline std::string fixtureDir(const std::string& name)
{
    return std::string(TSUMUGI_FIXTURES_DIR) + "/" + name;
}

inline std::string slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

inline json inputsOf(const std::string& dir)
{
    return json::parse(slurp(dir + "/inputs.json"));
}

inline at::Tensor longTensor(const json& rows)  // [B, T]
{
    std::vector<int64_t> flat;
    for (const auto& row : rows)
        for (const auto& v : row) flat.push_back(v.get<int64_t>());
    const int64_t b = int64_t(rows.size());
    return at::tensor(flat, at::kLong).view({b, int64_t(flat.size()) / b});
}

// The logits entry named `file` in inputs.json: its config override and the raw fp32 logits.
inline at::Tensor referenceLogits(const std::string& dir, const json& entry)  // [B, T, V]
{
    const std::string bytes = slurp(dir + "/" + entry["file"].get<std::string>());
    std::vector<int64_t> shape = entry["shape"].get<std::vector<int64_t>>();
    at::Tensor t = at::empty(shape, at::kFloat);
    if (size_t(t.numel()) * sizeof(float) != bytes.size()) throw std::runtime_error("logits size mismatch");
    std::memcpy(t.data_ptr<float>(), bytes.data(), bytes.size());
    return t;
}

inline LlamaModel loadWithOverride(const std::string& dir, const json& override, at::ScalarType dtype,
                                   at::Device device = at::kCPU)
{
    json config = json::parse(slurp(dir + "/config.json"));
    config.merge_patch(override);
    LlamaModel model(parseConfigJson(config.dump(), dir + "/config.json"), dtype, device, WeightInit::Empty);
    model->loadWeights(SafetensorsCheckpoint::open(dir));
    return model;
}

inline double maxAbs(const at::Tensor& a, const at::Tensor& b)
{
    return (a.to(at::kCPU, at::kFloat) - b.to(at::kCPU, at::kFloat)).abs().max().item<double>();
}

}  // namespace tsumugi::test
