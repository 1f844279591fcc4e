// The one table from Hugging Face Llama tensor names to what they are in our decoder and the
// shape a LlamaConfig expects (STYLE.md: loading maps tensors by one name table, apart from
// compute). Legend: H = hidden_size, I = intermediate_size, V = vocab_size,
// Nq = num_attention_heads, Nkv = num_key_value_heads, D = head_dim.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace tsumugi::model {

class SafetensorsCheckpoint;

enum class LlamaWeight {
    Embed,      // model.embed_tokens.weight                      [V, H]
    InputNorm,  // model.layers.{i}.input_layernorm.weight        [H]
    QProj,      // model.layers.{i}.self_attn.q_proj.weight       [Nq*D, H]   (+ .bias [Nq*D])
    KProj,      // model.layers.{i}.self_attn.k_proj.weight       [Nkv*D, H]  (+ .bias [Nkv*D])
    VProj,      // model.layers.{i}.self_attn.v_proj.weight       [Nkv*D, H]  (+ .bias [Nkv*D])
    OProj,      // model.layers.{i}.self_attn.o_proj.weight       [H, Nq*D]   (+ .bias [H])
    PostNorm,   // model.layers.{i}.post_attention_layernorm.weight [H]
    GateProj,   // model.layers.{i}.mlp.gate_proj.weight          [I, H]      (+ .bias [I] with mlp_bias)
    UpProj,     // model.layers.{i}.mlp.up_proj.weight            [I, H]      (+ .bias [I])
    DownProj,   // model.layers.{i}.mlp.down_proj.weight          [H, I]      (+ .bias [H])
    FinalNorm,  // model.norm.weight                              [H]
    LmHead,     // lm_head.weight                                 [V, H]  absent when tied
};

struct LlamaTensorSpec {
    std::string name;  // Hugging Face name
    LlamaWeight weight;
    int64_t layer = -1;  // -1 outside the layers
    bool bias = false;
    std::vector<int64_t> shape;
};

// Every tensor a checkpoint for `config` must hold, in the order transformers creates them.
std::vector<LlamaTensorSpec> llamaTensorTable(const LlamaConfig& config);

struct CheckpointMismatch {
    std::vector<std::string> missing;
    std::vector<std::string> unexpected;
    std::vector<std::string> wrongShape;  // "name: [a, b] in the file, [c, d] expected"
    bool ok() const { return missing.empty() && unexpected.empty() && wrongShape.empty(); }
    std::string describe() const;
};

// Compares tensor names and shapes with the table. Tolerated: lm_head.weight of the right shape
// when the embeddings are tied, and rotary_emb.inv_freq buffers old checkpoints saved.
CheckpointMismatch compareCheckpoint(const SafetensorsCheckpoint& checkpoint, const LlamaConfig& config);
// Throws tsumugi::Error naming every missing, unexpected and wrong-shape tensor.
void checkCheckpoint(const SafetensorsCheckpoint& checkpoint, const LlamaConfig& config, const std::string& where);

}  // namespace tsumugi::model
