// The Llama decoder (transformers' LlamaForCausalLM): embeddings, N decoder layers
// (RMSNorm → GQA self-attention with RoPE → residual → RMSNorm → SwiGLU MLP → residual), final
// RMSNorm, LM head (tied to the embeddings or not). Module names equal the Hugging Face keys
// (model.layers.{i}.self_attn.q_proj.weight, …), so loading walks llamaTensorTable().
//
// Legend: B = batch, T = time (query positions), S = key positions (== T here), H = hidden,
// I = intermediate, V = vocab, Nq / Nkv = query / key-value heads, D = head_dim.
//
// Attention: with LibTorch 2.x, scaled_dot_product_attention (fused kernels on CUDA); with 1.x
// (Debian's 1.13, which has none) the explicit path: matmul, scale 1/sqrt(D), additive mask,
// softmax in fp32, matmul. Both take the same additive mask, so packing and padding mean the same.
#pragma once

#include <ATen/ATen.h>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "model/config.h"

namespace tsumugi::model {

class SafetensorsCheckpoint;

// --- RoPE (transformers' LlamaRotaryEmbedding + modeling_rope_utils) ---------------------------

// Inverse frequencies [D/2] in fp32, rope scaling applied: linear divides them by the factor,
// llama3 rescales them piecewise by wavelength, dynamic NTK rescales the base when
// seqLen > max_position_embeddings.
at::Tensor ropeInvFreq(const LlamaConfig& config, int64_t seqLen);
// cos, sin [B, T, D] (the D/2 frequencies twice, as rotate_half expects), computed in fp32 from
// positionIds [B, T] and cast to `dtype`.
std::pair<at::Tensor, at::Tensor> ropeCosSin(const LlamaConfig& config, const at::Tensor& positionIds,
                                             at::ScalarType dtype);
// cat(-x2, x1) over the halves of the last dimension (not interleaved pairs).
at::Tensor rotateHalf(const at::Tensor& x);

// --- masks ---------------------------------------------------------------------------------------

// Additive fp32 mask [B, 1, T, T]: 0 where query i may attend key j (j <= i, same document,
// key not padding), the lowest float elsewhere (not -inf: a padding query with no key left gets
// a uniform softmax instead of NaN, as transformers does). attentionMask [B, T]: 1 token, 0 pad;
// documentIds [B, T]: packed sequences attend only within their document.
at::Tensor causalMask(const at::Tensor& attentionMask, const at::Tensor& documentIds);
// Additive fp32 mask [B, 1, T, S] for T new queries over S = past + T keys (generation with a
// KV cache): query i sits at key index S - T + i and may attend key j <= S - T + i that is not
// padding. attentionMask [B, S]: 1 token, 0 pad (left padding). With T == S it equals
// causalMask(attentionMask, zeros).
at::Tensor causalMaskWithPast(const at::Tensor& attentionMask, int64_t queryLength);
// Document ids [B, T] from packed position ids: a new document starts wherever the position is 0.
at::Tensor documentIdsFromPositions(const at::Tensor& positionIds);

// --- KV cache ------------------------------------------------------------------------------------

// Past keys (after RoPE) and values of every layer, [B, Nkv, S, D] each; undefined before the
// first step. forward(…, cache) appends the step's keys and values.
struct KVCache {
    std::vector<at::Tensor> keys, values;

    int64_t length() const { return keys.empty() || !keys[0].defined() ? 0 : keys[0].size(2); }
    void clear()
    {
        keys.clear();
        values.clear();
    }
};

// --- modules -------------------------------------------------------------------------------------

// How a new module's parameters start. Empty: allocated, not written (a checkpoint is loaded
// over them next, so a load costs about a read). Normal: as transformers initialises Llama —
// weights normal(0, initializer_range) from LibTorch's global generator, biases zero, norms one,
// the padding token's embedding row zero.
enum class WeightInit { Empty, Normal };

// y = x W^T + b, W [out, in], b [out] or none. Our own (not torch::nn::Linear, whose constructor
// always draws a Kaiming initialisation): parameters are made in their dtype on their device.
struct LlamaLinearImpl : torch::nn::Module {
    LlamaLinearImpl(int64_t in, int64_t out, bool bias, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x);

    at::Tensor weight, bias;  // [out, in], [out] (undefined without bias)
};
TORCH_MODULE(LlamaLinear);

struct LlamaEmbeddingImpl : torch::nn::Module {
    LlamaEmbeddingImpl(int64_t vocab, int64_t hidden, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& ids);  // [B, T] → [B, T, H]

    at::Tensor weight;  // [V, H]
};
TORCH_MODULE(LlamaEmbedding);

// An addition to a projection's output (LoRA's low-rank path, model/lora.h): the layer computes
// proj(x) + delta->forward(x) while a delta is attached. Null (the default) leaves proj(x) alone.
struct LinearDelta {
    virtual ~LinearDelta() = default;
    virtual at::Tensor forward(const at::Tensor& x) = 0;
};
at::Tensor projectWithDelta(LlamaLinear& proj, const std::shared_ptr<LinearDelta>& delta, const at::Tensor& x);

struct LlamaRMSNormImpl : torch::nn::Module {
    LlamaRMSNormImpl(int64_t size, double eps, const at::TensorOptions& options);
    // x [..., H] → [..., H]; normalised in fp32, cast back, then times the weight.
    at::Tensor forward(const at::Tensor& x);

    at::Tensor weight;  // [H]
    double m_eps;
};
TORCH_MODULE(LlamaRMSNorm);

struct LlamaAttentionImpl : torch::nn::Module {
    LlamaAttentionImpl(const LlamaConfig& config, const at::TensorOptions& options);
    // x [B, T, H], cos/sin [B, T, D], mask [B, 1, T, S] additive → [B, T, H]. With a cache, this
    // step's k/v are appended to cache->keys/values[layer] and S = past + T.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask,
                       KVCache* cache = nullptr, size_t layer = 0);

    LlamaLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
    std::shared_ptr<LinearDelta> q_delta, k_delta, v_delta, o_delta;  // not parameters of this module
    int64_t m_numHeads, m_numKvHeads, m_headDim;
};
TORCH_MODULE(LlamaAttention);

struct LlamaMLPImpl : torch::nn::Module {
    LlamaMLPImpl(const LlamaConfig& config, const at::TensorOptions& options);
    // down(silu(gate(x)) * up(x)): x [B, T, H] → [B, T, H]
    at::Tensor forward(const at::Tensor& x);

    LlamaLinear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
    std::shared_ptr<LinearDelta> gate_delta, up_delta, down_delta;  // not parameters of this module
};
TORCH_MODULE(LlamaMLP);

struct LlamaDecoderLayerImpl : torch::nn::Module {
    LlamaDecoderLayerImpl(const LlamaConfig& config, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask,
                       KVCache* cache = nullptr, size_t layer = 0);

    LlamaAttention self_attn{nullptr};
    LlamaMLP mlp{nullptr};
    LlamaRMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

// transformers' LlamaModel (the "model." prefix): embeddings, layers, final norm.
struct LlamaBackboneImpl : torch::nn::Module {
    LlamaBackboneImpl(const LlamaConfig& config, const at::TensorOptions& options);

    LlamaEmbedding embed_tokens{nullptr};
    torch::nn::ModuleList layers{nullptr};
    LlamaRMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaBackbone);

struct LlamaModelImpl : torch::nn::Module {
    // Parameters are created on `device` in `dtype` (kFloat or kBFloat16; kHalf on CUDA only),
    // initialised as `init` says.
    explicit LlamaModelImpl(const LlamaConfig& config, at::ScalarType dtype = at::kFloat, at::Device device = at::kCPU,
                            WeightInit init = WeightInit::Normal);

    // inputIds, positionIds [B, T] (int64); mask [B, 1, T, S] additive (causalMask, or
    // causalMaskWithPast with a cache), or undefined for plain causal attention. → logits
    // [B, T, V] in fp32. With a cache, inputIds are the new tokens only, S = past + T, and this
    // step's keys and values are appended to it. (One function with defaults, not overloads:
    // ModuleHolder::operator() needs a single forward.)
    at::Tensor forward(const at::Tensor& inputIds, const at::Tensor& positionIds, const at::Tensor& mask = {},
                       KVCache* cache = nullptr);

    // Checks names and shapes against llamaTensorTable, then fills every parameter. On the CPU
    // in the file's dtype a parameter becomes the file's private mapping (no copy; writes stay in
    // this process; the files are replaced, never rewritten in place, by our writer); otherwise the
    // tensor is copied once, converted to the parameter's dtype and device. Throws tsumugi::Error.
    void loadWeights(const SafetensorsCheckpoint& checkpoint);

    const LlamaConfig& config() const { return m_config; }
    at::ScalarType dtype() const { return m_dtype; }
    at::Device device() const { return m_device; }

    LlamaBackbone model{nullptr};
    LlamaLinear lm_head{nullptr};  // null when tie_word_embeddings

    // When set, forward without a cache runs each decoder layer through this instead of calling
    // it (training/ sets it for activation checkpointing); the result must equal layer.forward.
    std::function<at::Tensor(LlamaDecoderLayerImpl& layer, const at::Tensor& x, const at::Tensor& cos,
                             const at::Tensor& sin, const at::Tensor& mask)>
        layerRunner;

private:
    LlamaConfig m_config;
    at::ScalarType m_dtype;
    at::Device m_device;
};
TORCH_MODULE(LlamaModel);

// Writes transformers' initialisation (WeightInit::Normal) into the parameters.
void initializeWeights(LlamaModelImpl& model);

// config.json + safetensors weights from a Hugging Face directory.
LlamaModel loadLlama(const std::string& directory, at::ScalarType dtype = at::kFloat, at::Device device = at::kCPU);

}  // namespace tsumugi::model
