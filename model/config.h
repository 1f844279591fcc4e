// LlamaConfig: the hyperparameters of a Llama-family decoder, read from and written to the
// config.json of a Hugging Face checkpoint (transformers' LlamaConfig keys). Parsing and
// validation live here, apart from the decoder that uses them (STYLE.md: loading apart from
// compute). Every problem is a tsumugi::ParseError naming the file, the key and what to do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tsumugi::model {

enum class RopeScalingType { None, Linear, Dynamic, Llama3 };

// rope_scaling (or transformers' newer rope_parameters); factor etc. only mean something when
// type != None.
struct RopeScaling {
    RopeScalingType type = RopeScalingType::None;
    double factor = 1.0;
    // llama3 only
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    int64_t originalMaxPositionEmbeddings = 0;

    bool operator==(const RopeScaling&) const = default;
};

struct LlamaConfig {
    int64_t hiddenSize = 0;
    int64_t intermediateSize = 0;
    int64_t numHiddenLayers = 0;
    int64_t numAttentionHeads = 0;
    int64_t numKeyValueHeads = 0;  // == numAttentionHeads: MHA; 1: MQA; between: GQA
    int64_t headDim = 0;           // hiddenSize / numAttentionHeads unless the file says otherwise
    double rmsNormEps = 1e-6;
    double ropeTheta = 10000.0;
    RopeScaling ropeScaling;
    int64_t maxPositionEmbeddings = 2048;
    int64_t vocabSize = 0;
    bool tieWordEmbeddings = false;
    std::optional<int64_t> bosTokenId = 1;
    std::vector<int64_t> eosTokenIds = {2};  // written as a list when it has more than one id
    bool eosIsList = false;                  // the file had a list (kept for round trips)
    std::optional<int64_t> padTokenId;
    std::string torchDtype = "float32";  // float32 | bfloat16 | float16
    bool attentionBias = false;
    bool mlpBias = false;
    std::string hiddenAct = "silu";
    double initializerRange = 0.02;  // std of the normal initialisation of a fresh model

    bool operator==(const LlamaConfig&) const = default;

    // Throws ParseError(file, …) when a value is out of range or the sizes disagree.
    void validate(const std::string& file = "config.json") const;
    int64_t parameterCount() const;
};

// The text of a config.json; `file` names it in errors.
LlamaConfig parseConfigJson(std::string_view text, const std::string& file = "config.json");
// A config.json file, or a directory holding one.
LlamaConfig loadConfig(const std::string& path);
// transformers' layout: keys sorted, two-space indent, trailing newline.
std::string configToJson(const LlamaConfig& config);
// Writes to a temporary file beside `path` and renames it into place. `path` may be a
// directory (config.json is written inside it).
void saveConfig(const LlamaConfig& config, const std::string& path);

// Named sizes. tiny: ~1.1M parameters (tests); small: ~22M (CPU demos). Both GQA, tied.
LlamaConfig tinyConfig();
LlamaConfig smallConfig();
// "tiny" | "small"; anything else throws tsumugi::Error listing the names.
LlamaConfig namedConfig(const std::string& name);

const char* ropeScalingTypeName(RopeScalingType type);

}  // namespace tsumugi::model
