#include "model/llama_weights.h"

#include <map>
#include <set>

#include "core/error.h"
#include "model/safetensors.h"

namespace tsumugi::model {

namespace {

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

bool tolerated(const std::string& name, const LlamaConfig& config, const std::vector<int64_t>& shape)
{
    if (name == "lm_head.weight" && config.tieWordEmbeddings)
        return shape == std::vector<int64_t>{config.vocabSize, config.hiddenSize};
    const std::string suffix = ".self_attn.rotary_emb.inv_freq";
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<LlamaTensorSpec> llamaTensorTable(const LlamaConfig& c)
{
    const int64_t h = c.hiddenSize, in = c.intermediateSize, q = c.numAttentionHeads * c.headDim,
                  kv = c.numKeyValueHeads * c.headDim;
    std::vector<LlamaTensorSpec> t;
    t.push_back({"model.embed_tokens.weight", LlamaWeight::Embed, -1, false, {c.vocabSize, h}});
    for (int64_t i = 0; i < c.numHiddenLayers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        auto add = [&](const std::string& name, LlamaWeight w, std::vector<int64_t> shape, bool hasBias) {
            t.push_back({p + name + ".weight", w, i, false, shape});
            if (hasBias) t.push_back({p + name + ".bias", w, i, true, {shape[0]}});
        };
        add("input_layernorm", LlamaWeight::InputNorm, {h}, false);
        add("self_attn.q_proj", LlamaWeight::QProj, {q, h}, c.attentionBias);
        add("self_attn.k_proj", LlamaWeight::KProj, {kv, h}, c.attentionBias);
        add("self_attn.v_proj", LlamaWeight::VProj, {kv, h}, c.attentionBias);
        add("self_attn.o_proj", LlamaWeight::OProj, {h, q}, c.attentionBias);
        add("post_attention_layernorm", LlamaWeight::PostNorm, {h}, false);
        add("mlp.gate_proj", LlamaWeight::GateProj, {in, h}, c.mlpBias);
        add("mlp.up_proj", LlamaWeight::UpProj, {in, h}, c.mlpBias);
        add("mlp.down_proj", LlamaWeight::DownProj, {h, in}, c.mlpBias);
    }
    t.push_back({"model.norm.weight", LlamaWeight::FinalNorm, -1, false, {h}});
    if (!c.tieWordEmbeddings) t.push_back({"lm_head.weight", LlamaWeight::LmHead, -1, false, {c.vocabSize, h}});
    return t;
}

std::string CheckpointMismatch::describe() const
{
    std::string s;
    auto list = [&](const char* what, const std::vector<std::string>& names) {
        if (names.empty()) return;
        s += std::string(s.empty() ? "" : "; ") + what + " (" + std::to_string(names.size()) + "): ";
        for (size_t i = 0; i < names.size() && i < 20; ++i) s += (i ? ", " : "") + names[i];
        if (names.size() > 20) s += ", …";
    };
    list("missing tensors", missing);
    list("unexpected tensors", unexpected);
    list("wrong shapes", wrongShape);
    return s;
}

CheckpointMismatch compareCheckpoint(const SafetensorsCheckpoint& checkpoint, const LlamaConfig& config)
{
    CheckpointMismatch m;
    std::set<std::string> expected;
    for (const LlamaTensorSpec& spec : llamaTensorTable(config)) {
        expected.insert(spec.name);
        if (!checkpoint.contains(spec.name)) {
            m.missing.push_back(spec.name);
            continue;
        }
        const std::vector<int64_t>& shape = checkpoint.info(spec.name).shape;
        if (shape != spec.shape)
            m.wrongShape.push_back(spec.name + ": " + shapeText(shape) + " in the file, " + shapeText(spec.shape) +
                                   " expected");
    }
    for (const std::string& name : checkpoint.names())
        if (!expected.count(name) && !tolerated(name, config, checkpoint.info(name).shape))
            m.unexpected.push_back(name);
    return m;
}

void checkCheckpoint(const SafetensorsCheckpoint& checkpoint, const LlamaConfig& config, const std::string& where)
{
    const CheckpointMismatch m = compareCheckpoint(checkpoint, config);
    if (!m.ok())
        throw Error(where + ": the weights do not match config.json: " + m.describe() +
                    ". Check that config.json belongs to these weights (layers, heads, head_dim, "
                    "tie_word_embeddings, attention_bias/mlp_bias)");
}

}  // namespace tsumugi::model
