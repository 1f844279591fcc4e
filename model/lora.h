// LoRA (Hu et al. 2021, as Hugging Face peft implements it) for the Llama decoder: each target
// projection W [out, in] gains a trainable low-rank path, y = W x + b + dropout(x) A^T B^T * alpha / r,
// A [r, in] kaiming-uniform (peft's a = sqrt(5): bound 1 / sqrt(in)), B [out, r] zeros, so a fresh
// adapter leaves the model unchanged. The adapters live beside the model (LinearDelta hooks in
// model/llama.h), not among its parameters, so checkpoint loading and the HF names are untouched.
// Adapters are written and read in peft's layout (adapter_config.json + adapter_model.safetensors,
// keys "base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight").
#pragma once

#include <ATen/ATen.h>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/llama.h"
#include "model/safetensors.h"

namespace tsumugi::model {

// The projections LoRA may adapt.
const std::vector<std::string>& loraModuleNames();  // q_proj k_proj v_proj o_proj gate_proj up_proj down_proj

struct LoraConfig {
    int64_t r = 8;
    double alpha = 16.0;
    double dropout = 0.0;
    std::vector<std::string> targetModules{"q_proj", "v_proj"};
    std::string baseModelNameOrPath;  // written to adapter_config.json only

    double scale() const { return alpha / double(r); }
};

// One adapted projection: the LinearDelta attached to it.
struct LoraAdapter : LinearDelta {
    // dropout(x) A^T B^T * scale (dropout only while the base Linear is in training mode); zeros
    // while merged.
    at::Tensor forward(const at::Tensor& x) override;
    // B A * scale [out, in] in the base weight's dtype.
    at::Tensor deltaWeight() const;

    std::string name;  // HF module name, "model.layers.0.self_attn.q_proj"
    LlamaLinear base{nullptr};
    at::Tensor A, B;  // [r, in], [out, r], trainable, base weight's dtype and device
    double scale = 1.0, dropout = 0.0;
    bool merged = false;
};

class LoraModel {
public:
    LoraModel(LoraConfig config, std::vector<std::shared_ptr<LoraAdapter>> adapters)
        : m_config(std::move(config)), m_adapters(std::move(adapters))
    {
    }

    const LoraConfig& config() const { return m_config; }
    const std::vector<std::shared_ptr<LoraAdapter>>& adapters() const { return m_adapters; }
    // The trainable tensors: A and B of every adapter.
    std::vector<at::Tensor> parameters() const;
    // peft's keys → tensors ("base_model.model.<name>.lora_A.weight", "….lora_B.weight").
    NamedTensors namedTensors() const;

    // W += B A * scale for every adapter, whose path then stays off; unmerge() subtracts it back.
    // Both are no-ops when already in that state.
    void merge();
    void unmerge();
    bool merged() const { return m_merged; }

private:
    LoraConfig m_config;
    std::vector<std::shared_ptr<LoraAdapter>> m_adapters;
    bool m_merged = false;
};

// Freezes every parameter of `model` and attaches adapters to the target projections of every
// layer (A drawn from a CPU generator seeded with `seed`, then moved to the model's dtype and
// device). Throws tsumugi::Error for r < 1, a dropout outside [0, 1), an unknown or empty target
// list, or a model that already has adapters.
LoraModel applyLora(LlamaModel& model, const LoraConfig& config, uint64_t seed = 0);

// peft's "adapter_model.safetensors" key prefix and file names.
constexpr const char* kLoraConfigName = "adapter_config.json";
constexpr const char* kLoraWeightsName = "adapter_model.safetensors";

// Writes adapter_config.json and adapter_model.safetensors into `directory` (created if absent).
// Must not be merged (the adapters are still saved; merging does not alter A and B).
void saveLoraAdapter(const LoraModel& lora, const std::string& directory);
// Reads adapter_config.json (r, lora_alpha, lora_dropout, target_modules).
LoraConfig readLoraConfig(const std::string& directory);
// Copies every adapter tensor of `lora` from directory/adapter_model.safetensors. Throws
// tsumugi::Error naming the file and key for a missing or misshapen tensor or an unknown key.
void loadLoraAdapter(LoraModel& lora, const std::string& directory);
// readLoraConfig + applyLora + loadLoraAdapter.
LoraModel loadLoraAdapter(LlamaModel& model, const std::string& directory);

}  // namespace tsumugi::model
