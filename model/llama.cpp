// Legend: B = batch, T = time, S = key positions, H = hidden, I = intermediate, V = vocab,
// Nq / Nkv = query / key-value heads, D = head_dim.
#include "model/llama.h"

#include <cmath>
#include <limits>
#include <set>
#include <string_view>

#include <torch/utils.h>
#include <torch/version.h>

#include "core/error.h"
#include "model/llama_weights.h"
#include "model/safetensors.h"

namespace tsumugi::model {

// --- RoPE ------------------------------------------------------------------------------------------

at::Tensor ropeInvFreq(const LlamaConfig& config, int64_t seqLen)
{
    const int64_t d = config.headDim;
    const RopeScaling& rs = config.ropeScaling;
    double base = config.ropeTheta;
    if (rs.type == RopeScalingType::Dynamic && seqLen > config.maxPositionEmbeddings) {
        const double f = rs.factor;
        base *=
            std::pow(f * double(seqLen) / double(config.maxPositionEmbeddings) - (f - 1.0), double(d) / double(d - 2));
    }
    // Exponents in fp32, as transformers: arange(0, D, 2).float() / D
    at::Tensor exponent = at::arange(0, d, 2, at::kLong).to(at::kFloat) / d;  // [D/2]
    at::Tensor inv = at::reciprocal(at::pow(base, exponent));                 // [D/2]
    if (rs.type == RopeScalingType::Linear) {
        inv = inv / rs.factor;
    } else if (rs.type == RopeScalingType::Llama3) {
        const double f = rs.factor, lo = rs.lowFreqFactor, hi = rs.highFreqFactor;
        const double old = double(rs.originalMaxPositionEmbeddings);
        const double lowWavelen = old / lo, highWavelen = old / hi;
        at::Tensor wavelen = at::reciprocal(inv) * (2.0 * M_PI);            // [D/2]
        at::Tensor scaled = at::where(wavelen > lowWavelen, inv / f, inv);  // [D/2]
        at::Tensor smooth = (at::reciprocal(wavelen) * old - lo) / (hi - lo);
        at::Tensor smoothed = (1.0 - smooth) * scaled / f + smooth * scaled;  // [D/2]
        at::Tensor medium = (wavelen >= highWavelen).logical_and(wavelen <= lowWavelen);
        inv = at::where(medium, smoothed, scaled);
    }
    return inv;
}

std::pair<at::Tensor, at::Tensor> ropeCosSin(const LlamaConfig& config, const at::Tensor& positionIds,
                                             at::ScalarType dtype)
{
    // transformers' dynamic NTK looks at the largest position id, not at T.
    const int64_t seqLen = positionIds.numel() ? positionIds.max().item<int64_t>() + 1 : 0;
    at::Tensor inv = ropeInvFreq(config, seqLen).to(positionIds.device());  // [D/2]
    at::Tensor freqs = positionIds.to(at::kFloat).unsqueeze(-1) * inv;      // [B, T, D/2]
    at::Tensor emb = at::cat({freqs, freqs}, -1);                           // [B, T, D]
    return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor rotateHalf(const at::Tensor& x)
{
    const int64_t half = x.size(-1) / 2;
    at::Tensor x1 = x.narrow(-1, 0, half);     // [..., D/2]
    at::Tensor x2 = x.narrow(-1, half, half);  // [..., D/2]
    return at::cat({-x2, x1}, -1);             // [..., D]
}

// --- masks -----------------------------------------------------------------------------------------

at::Tensor causalMask(const at::Tensor& attentionMask, const at::Tensor& documentIds)
{
    if (attentionMask.dim() != 2 || documentIds.sizes() != attentionMask.sizes())
        throw Error("causalMask: attentionMask and documentIds must both be [B, T]");
    const int64_t t = attentionMask.size(1);
    at::Tensor idx = at::arange(t, attentionMask.options().dtype(at::kLong));             // [T]
    at::Tensor allowed = (idx.unsqueeze(0) <= idx.unsqueeze(1)).unsqueeze(0);             // [1, T, S]: j <= i
    allowed = allowed.logical_and(documentIds.unsqueeze(2) == documentIds.unsqueeze(1));  // [B, T, S]
    allowed = allowed.logical_and(attentionMask.unsqueeze(1).to(at::kBool));              // [B, T, S]
    at::Tensor mask = at::zeros(allowed.sizes(), attentionMask.options().dtype(at::kFloat));
    mask.masked_fill_(allowed.logical_not(), std::numeric_limits<float>::lowest());
    return mask.unsqueeze(1);  // [B, 1, T, S]
}

at::Tensor causalMaskWithPast(const at::Tensor& attentionMask, int64_t queryLength)
{
    if (attentionMask.dim() != 2 || queryLength < 1 || queryLength > attentionMask.size(1))
        throw Error("causalMaskWithPast: attentionMask must be [B, S] with S >= queryLength >= 1");
    const int64_t s = attentionMask.size(1), past = s - queryLength;
    at::Tensor keyIdx = at::arange(s, attentionMask.options().dtype(at::kLong));              // [S]
    at::Tensor queryIdx = at::arange(past, s, attentionMask.options().dtype(at::kLong));      // [T]
    at::Tensor allowed = (keyIdx.unsqueeze(0) <= queryIdx.unsqueeze(1)).unsqueeze(0);         // [1, T, S]
    allowed = allowed.logical_and(attentionMask.unsqueeze(1).to(at::kBool));                  // [B, T, S]
    at::Tensor mask = at::zeros(allowed.sizes(), attentionMask.options().dtype(at::kFloat));  // [B, T, S]
    mask.masked_fill_(allowed.logical_not(), std::numeric_limits<float>::lowest());
    return mask.unsqueeze(1);  // [B, 1, T, S]
}

at::Tensor documentIdsFromPositions(const at::Tensor& positionIds)
{
    return (positionIds == 0).to(at::kLong).cumsum(1);  // [B, T]
}

// --- modules ---------------------------------------------------------------------------------------

LlamaLinearImpl::LlamaLinearImpl(int64_t in, int64_t out, bool withBias, const at::TensorOptions& options)
{
    weight = register_parameter("weight", at::empty({out, in}, options));      // [out, in]
    if (withBias) bias = register_parameter("bias", at::empty({out}, options));  // [out]
}

at::Tensor LlamaLinearImpl::forward(const at::Tensor& x)
{
    return at::linear(x, weight, bias);
}

LlamaEmbeddingImpl::LlamaEmbeddingImpl(int64_t vocab, int64_t hidden, const at::TensorOptions& options)
{
    weight = register_parameter("weight", at::empty({vocab, hidden}, options));  // [V, H]
}

at::Tensor LlamaEmbeddingImpl::forward(const at::Tensor& ids)
{
    return at::embedding(weight, ids);  // [B, T, H]
}

LlamaRMSNormImpl::LlamaRMSNormImpl(int64_t size, double eps, const at::TensorOptions& options) : m_eps(eps)
{
    weight = register_parameter("weight", at::empty({size}, options));  // [H]
}

at::Tensor LlamaRMSNormImpl::forward(const at::Tensor& x)
{
    at::Tensor h = x.to(at::kFloat);                                 // [..., H]
    h = h * at::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + m_eps);  // [..., H]
    return weight * h.to(x.scalar_type());
}

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& config, const at::TensorOptions& options)
    : m_numHeads(config.numAttentionHeads), m_numKvHeads(config.numKeyValueHeads), m_headDim(config.headDim)
{
    const int64_t h = config.hiddenSize, qDim = m_numHeads * m_headDim, kvDim = m_numKvHeads * m_headDim;
    const bool bias = config.attentionBias;
    q_proj = register_module("q_proj", LlamaLinear(h, qDim, bias, options));
    k_proj = register_module("k_proj", LlamaLinear(h, kvDim, bias, options));
    v_proj = register_module("v_proj", LlamaLinear(h, kvDim, bias, options));
    o_proj = register_module("o_proj", LlamaLinear(qDim, h, bias, options));
}

at::Tensor projectWithDelta(LlamaLinear& proj, const std::shared_ptr<LinearDelta>& delta, const at::Tensor& x)
{
    at::Tensor y = proj(x);
    return delta ? y + delta->forward(x) : y;
}

at::Tensor LlamaAttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                       const at::Tensor& mask, KVCache* cache, size_t layer)
{
    const int64_t b = x.size(0), t = x.size(1), d = m_headDim;
    at::Tensor q = projectWithDelta(q_proj, q_delta, x).view({b, t, m_numHeads, d}).transpose(1, 2);    // [B, Nq, T, D]
    at::Tensor k = projectWithDelta(k_proj, k_delta, x).view({b, t, m_numKvHeads, d}).transpose(1, 2);  // [B, Nkv, S, D]
    at::Tensor v = projectWithDelta(v_proj, v_delta, x).view({b, t, m_numKvHeads, d}).transpose(1, 2);  // [B, Nkv, S, D]
    at::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);                   // [B, 1, T, D]
    q = q * c + rotateHalf(q) * s;
    k = k * c + rotateHalf(k) * s;
    if (cache) {
        at::Tensor& pastK = cache->keys.at(layer);  // [B, Nkv, S_past, D]
        at::Tensor& pastV = cache->values.at(layer);
        if (pastK.defined()) {
            k = at::cat({pastK, k}, 2);  // [B, Nkv, S, D]
            v = at::cat({pastV, v}, 2);  // [B, Nkv, S, D]
        }
        pastK = k;
        pastV = v;
    }
    const int64_t keys = k.size(2);  // S
    if (const int64_t rep = m_numHeads / m_numKvHeads; rep > 1) {
        // Each key-value head serves `rep` consecutive query heads (transformers' repeat_kv).
        k = k.unsqueeze(2).expand({b, m_numKvHeads, rep, keys, d}).reshape({b, m_numHeads, keys, d});  // [B, Nq, S, D]
        v = v.unsqueeze(2).expand({b, m_numKvHeads, rep, keys, d}).reshape({b, m_numHeads, keys, d});  // [B, Nq, S, D]
    }
#if TORCH_VERSION_MAJOR >= 2
    // LibTorch 2.x: the fused kernel (flash / memory-efficient on CUDA) with the same additive
    // mask, clamped to the dtype's range first (fp32's lowest is -inf in bf16 and fp16, and a
    // padding query with every key masked must get a uniform softmax, not NaN).
    const double lowest = q.scalar_type() == at::kHalf       ? -65504.0
                          : q.scalar_type() == at::kBFloat16 ? -3.38e38
                                                             : double(std::numeric_limits<float>::lowest());
    at::Tensor out = at::scaled_dot_product_attention(q, k, v, mask.clamp_min(lowest).to(q.scalar_type()), 0.0,
                                                      false);  // [B, Nq, T, D]
#else
    // LibTorch 1.x has no scaled_dot_product_attention: the explicit path.
    at::Tensor scores = at::matmul(q, k.transpose(2, 3)) * std::pow(double(d), -0.5);      // [B, Nq, T, S]
    at::Tensor probs = at::softmax(scores.to(at::kFloat) + mask, -1).to(q.scalar_type());  // [B, Nq, T, S]
    at::Tensor out = at::matmul(probs, v);                                                 // [B, Nq, T, D]
#endif
    return projectWithDelta(o_proj, o_delta, out.transpose(1, 2).reshape({b, t, m_numHeads * d}));  // [B, T, H]
}

LlamaMLPImpl::LlamaMLPImpl(const LlamaConfig& config, const at::TensorOptions& options)
{
    const int64_t h = config.hiddenSize, i = config.intermediateSize;
    const bool bias = config.mlpBias;
    gate_proj = register_module("gate_proj", LlamaLinear(h, i, bias, options));
    up_proj = register_module("up_proj", LlamaLinear(h, i, bias, options));
    down_proj = register_module("down_proj", LlamaLinear(i, h, bias, options));
}

at::Tensor LlamaMLPImpl::forward(const at::Tensor& x)
{
    at::Tensor hidden = at::silu(projectWithDelta(gate_proj, gate_delta, x)) * projectWithDelta(up_proj, up_delta, x);
    return projectWithDelta(down_proj, down_delta, hidden);  // [B, T, I] → [B, T, H]
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& config, const at::TensorOptions& options)
{
    self_attn = register_module("self_attn", LlamaAttention(config, options));
    mlp = register_module("mlp", LlamaMLP(config, options));
    input_layernorm = register_module("input_layernorm", LlamaRMSNorm(config.hiddenSize, config.rmsNormEps, options));
    post_attention_layernorm =
        register_module("post_attention_layernorm", LlamaRMSNorm(config.hiddenSize, config.rmsNormEps, options));
}

at::Tensor LlamaDecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                          const at::Tensor& mask, KVCache* cache, size_t layer)
{
    at::Tensor h = x + self_attn->forward(input_layernorm(x), cos, sin, mask, cache, layer);  // [B, T, H]
    return h + mlp(post_attention_layernorm(h));                                              // [B, T, H]
}

LlamaBackboneImpl::LlamaBackboneImpl(const LlamaConfig& config, const at::TensorOptions& options)
{
    embed_tokens = register_module("embed_tokens", LlamaEmbedding(config.vocabSize, config.hiddenSize, options));
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < config.numHiddenLayers; ++i) layers->push_back(LlamaDecoderLayer(config, options));
    norm = register_module("norm", LlamaRMSNorm(config.hiddenSize, config.rmsNormEps, options));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& config, at::ScalarType dtype, at::Device device, WeightInit init)
    : m_config(config), m_dtype(dtype), m_device(device)
{
    m_config.validate();
    if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf)
        throw Error(std::string("Llama: parameters in ") + c10::toString(dtype) +
                    " are not supported; use float32, bfloat16 or float16 (CUDA)");
    if (dtype == at::kHalf && !device.is_cuda())
        throw Error("Llama: float16 runs on CUDA only (LibTorch has no float16 matmul on the CPU); use bfloat16 or float32");
    const at::TensorOptions options = at::TensorOptions().dtype(dtype).device(device);
    model = register_module("model", LlamaBackbone(m_config, options));
    if (!m_config.tieWordEmbeddings)
        lm_head = register_module("lm_head", LlamaLinear(m_config.hiddenSize, m_config.vocabSize, false, options));
    if (init == WeightInit::Normal) initializeWeights(*this);
}

void initializeWeights(LlamaModelImpl& model)
{
    at::NoGradGuard noGrad;
    const auto ends = [](const std::string& s, std::string_view tail) {
        return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
    };
    for (auto& item : model.named_parameters(/*recurse=*/true)) {
        at::Tensor p = item.value();
        if (ends(item.key(), "norm.weight"))
            p.fill_(1.0);
        else if (ends(item.key(), ".bias"))
            p.zero_();
        else
            p.normal_(0.0, model.config().initializerRange);
    }
    // transformers gives embed_tokens padding_idx = pad_token_id and zeroes that row.
    if (const auto pad = model.config().padTokenId) model.model->embed_tokens->weight[*pad].zero_();
}

at::Tensor LlamaModelImpl::forward(const at::Tensor& inputIds, const at::Tensor& positionIds, const at::Tensor& mask,
                                   KVCache* cache)
{
    const size_t numLayers = model->layers->size();
    if (cache && cache->keys.size() != numLayers) {
        if (!cache->keys.empty()) throw Error("Llama forward: the KV cache belongs to a model with other layers");
        cache->keys.resize(numLayers);
        cache->values.resize(numLayers);
    }
    at::Tensor ids = inputIds.to(m_device), pos = positionIds.to(m_device);
    const int64_t past = cache ? cache->length() : 0;
    at::Tensor m = mask.defined() ? mask.to(m_device)
                                  : causalMaskWithPast(at::ones({ids.size(0), past + ids.size(1)}, ids.options()),
                                                       ids.size(1));  // [B, 1, T, S]
    at::Tensor x = model->embed_tokens(ids);                          // [B, T, H]
    auto [cos, sin] = ropeCosSin(m_config, pos, x.scalar_type());     // [B, T, D]
    for (size_t i = 0; i < numLayers; ++i) {
        LlamaDecoderLayerImpl& layer = *model->layers->ptr<LlamaDecoderLayerImpl>(i);
        x = layerRunner && !cache ? layerRunner(layer, x, cos, sin, m) : layer.forward(x, cos, sin, m, cache, i);  // [B, T, H]
    }
    x = model->norm(x);                                                                       // [B, T, H]
    at::Tensor head = lm_head ? lm_head->weight : model->embed_tokens->weight;                // [V, H]
    return at::linear(x, head).to(at::kFloat);                                                // [B, T, V]
}

void LlamaModelImpl::loadWeights(const SafetensorsCheckpoint& checkpoint)
{
    checkCheckpoint(checkpoint, m_config, "loading Llama weights");
    torch::NoGradGuard noGrad;
    auto params = named_parameters(/*recurse=*/true);
    std::set<std::string> loaded;
    for (const LlamaTensorSpec& spec : llamaTensorTable(m_config)) {
        at::Tensor* param = params.find(spec.name);
        if (!param) throw Error("loading Llama weights: the decoder has no parameter " + spec.name);
        const at::Tensor value = checkpoint.view(spec.name);
        if (value.sizes() != param->sizes())
            throw Error("loading Llama weights: " + spec.name + " has the wrong shape");
        if (param->device().is_cpu() && value.scalar_type() == param->scalar_type() && value.is_contiguous())
            param->set_data(value);  // no copy: the parameter is the file's (private, copy-on-write) mapping
        else
            param->copy_(value);  // one copy, converting dtype and device on the way
        loaded.insert(spec.name);
    }
    for (const auto& item : params)
        if (!loaded.count(item.key()))
            throw Error("loading Llama weights: parameter " + item.key() + " is not in the checkpoint table");
}

LlamaModel loadLlama(const std::string& directory, at::ScalarType dtype, at::Device device)
{
    LlamaConfig config = loadConfig(directory);
    SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open(directory);
    LlamaModel model(config, dtype, device, WeightInit::Empty);
    try {
        model->loadWeights(checkpoint);
    } catch (const Error& e) {
        e.rethrowWithContext(directory);  // keeps ParseError / NotFoundError as they are
    }
    return model;
}

}  // namespace tsumugi::model
