#include "model/config.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace tsumugi::model {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& key, const std::string& message)
{
    throw ParseError(file, 0, 0, key.empty() ? message : "key \"" + key + "\": " + message);
}

std::string typeName(const json& v)
{
    if (v.is_number_integer()) return "an integer";
    if (v.is_number_float()) return "a number";
    return std::string("a ") + v.type_name();
}

// Reader over one JSON object; every accessor names the file and key in its errors.
class Keys {
public:
    Keys(const json& object, std::string file, std::string prefix = "")
        : m_object(object), m_file(std::move(file)), m_prefix(std::move(prefix))
    {
    }

    const json* find(const std::string& key) const
    {
        auto it = m_object.find(key);
        return it == m_object.end() ? nullptr : &*it;
    }
    bool hasValue(const std::string& key) const
    {
        const json* v = find(key);
        return v && !v->is_null();
    }
    std::string name(const std::string& key) const { return m_prefix + key; }

    int64_t integer(const std::string& key) const
    {
        const json* v = find(key);
        if (!v)
            fail(m_file, name(key),
                 "missing; every Llama config.json has it — add it (see the base model's config.json)");
        return toInteger(key, *v);
    }
    int64_t integer(const std::string& key, int64_t fallback) const
    {
        return hasValue(key) ? toInteger(key, *find(key)) : fallback;
    }
    int64_t toInteger(const std::string& key, const json& v) const
    {
        if (v.is_number_unsigned()) {
            if (v.get<uint64_t>() > uint64_t(INT64_MAX)) fail(m_file, name(key), "integer out of range");
            return int64_t(v.get<uint64_t>());
        }
        if (v.is_number_integer()) return v.get<int64_t>();
        // transformers writes some integers as floats (e.g. 8192.0) after arithmetic.
        if (v.is_number_float()) {
            const double d = v.get<double>();
            if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return int64_t(d);
        }
        fail(m_file, name(key), "expected an integer, found " + typeName(v));
    }
    double number(const std::string& key, double fallback) const
    {
        if (!hasValue(key)) return fallback;
        const json& v = *find(key);
        if (!v.is_number()) fail(m_file, name(key), "expected a number, found " + typeName(v));
        const double d = v.get<double>();
        if (!std::isfinite(d)) fail(m_file, name(key), "expected a finite number");
        return d;
    }
    double number(const std::string& key) const
    {
        if (!hasValue(key)) fail(m_file, name(key), "missing; add it (see the model card or transformers' docs)");
        return number(key, 0.0);
    }
    bool boolean(const std::string& key, bool fallback) const
    {
        if (!hasValue(key)) return fallback;
        const json& v = *find(key);
        if (!v.is_boolean()) fail(m_file, name(key), "expected true or false, found " + typeName(v));
        return v.get<bool>();
    }
    std::optional<std::string> string(const std::string& key) const
    {
        if (!hasValue(key)) return std::nullopt;
        const json& v = *find(key);
        if (!v.is_string()) fail(m_file, name(key), "expected a string, found " + typeName(v));
        return v.get<std::string>();
    }

private:
    const json& m_object;
    std::string m_file;
    std::string m_prefix;
};

RopeScaling parseRopeScaling(const json& v, const std::string& file, const std::string& key, double* ropeTheta)
{
    if (!v.is_object()) fail(file, key, "expected null or an object, found " + typeName(v));
    const Keys k(v, file, key + ".");
    std::optional<std::string> type = k.string("rope_type");
    if (!type) type = k.string("type");
    if (!type)
        fail(file, key + ".rope_type", "missing; use \"linear\", \"dynamic\" or \"llama3\" (or rope_scaling: null)");
    if (ropeTheta && k.hasValue("rope_theta")) {
        *ropeTheta = k.number("rope_theta");
    }
    RopeScaling s;
    if (*type == "default") return s;
    if (*type == "linear")
        s.type = RopeScalingType::Linear;
    else if (*type == "dynamic")
        s.type = RopeScalingType::Dynamic;
    else if (*type == "llama3")
        s.type = RopeScalingType::Llama3;
    else
        fail(file, key + ".rope_type",
             "\"" + *type + "\" is not supported; Tsumugi supports linear, dynamic and llama3 RoPE scaling");
    s.factor = k.number("factor");
    if (s.factor < 1.0) fail(file, key + ".factor", "must be ≥ 1, found " + std::to_string(s.factor));
    if (s.type == RopeScalingType::Llama3) {
        s.lowFreqFactor = k.number("low_freq_factor");
        s.highFreqFactor = k.number("high_freq_factor");
        s.originalMaxPositionEmbeddings = k.integer("original_max_position_embeddings");
        if (s.lowFreqFactor <= 0 || s.highFreqFactor <= s.lowFreqFactor)
            fail(file, key, "llama3 scaling needs 0 < low_freq_factor < high_freq_factor");
        if (s.originalMaxPositionEmbeddings <= 0)
            fail(file, key + ".original_max_position_embeddings", "must be positive");
    } else if (k.hasValue("original_max_position_embeddings")) {
        s.originalMaxPositionEmbeddings = k.integer("original_max_position_embeddings");
        if (s.originalMaxPositionEmbeddings <= 0)
            fail(file, key + ".original_max_position_embeddings", "must be positive");
    }
    return s;
}

// Far above any real model (Llama 3.1 405B: hidden 16384, vocab 128256, 126 layers) and low
// enough that sizes multiply without overflowing int64.
constexpr int64_t kMaxDimension = int64_t(1) << 24;

void requirePositive(const std::string& file, const char* key, int64_t value)
{
    if (value <= 0) fail(file, key, "must be a positive integer, found " + std::to_string(value));
    if (value > kMaxDimension)
        fail(file, key,
             std::to_string(value) + " is larger than " + std::to_string(kMaxDimension) +
                 "; is the config.json damaged?");
}

}  // namespace

const char* ropeScalingTypeName(RopeScalingType type)
{
    switch (type) {
        case RopeScalingType::None:
            return "none";
        case RopeScalingType::Linear:
            return "linear";
        case RopeScalingType::Dynamic:
            return "dynamic";
        case RopeScalingType::Llama3:
            return "llama3";
    }
    return "?";
}

void LlamaConfig::validate(const std::string& file) const
{
    requirePositive(file, "hidden_size", hiddenSize);
    requirePositive(file, "intermediate_size", intermediateSize);
    requirePositive(file, "num_hidden_layers", numHiddenLayers);
    requirePositive(file, "num_attention_heads", numAttentionHeads);
    requirePositive(file, "num_key_value_heads", numKeyValueHeads);
    requirePositive(file, "head_dim", headDim);
    requirePositive(file, "vocab_size", vocabSize);
    if (maxPositionEmbeddings <= 0 || maxPositionEmbeddings > (int64_t(1) << 40))
        fail(file, "max_position_embeddings",
             "must be a positive integer below 2^40, found " + std::to_string(maxPositionEmbeddings));
    if (numAttentionHeads % numKeyValueHeads != 0)
        fail(file, "num_key_value_heads",
             std::to_string(numKeyValueHeads) + " does not divide num_attention_heads (" +
                 std::to_string(numAttentionHeads) + "); grouped-query attention needs whole groups");
    if (headDim % 2 != 0)
        fail(file, "head_dim", "must be even for rotary embeddings, found " + std::to_string(headDim));
    if (!(rmsNormEps > 0)) fail(file, "rms_norm_eps", "must be positive");
    if (!(ropeTheta > 0)) fail(file, "rope_theta", "must be positive");
    if (!(initializerRange >= 0)) fail(file, "initializer_range", "must be zero or positive");
    if (torchDtype != "float32" && torchDtype != "bfloat16" && torchDtype != "float16")
        fail(file, "torch_dtype", "\"" + torchDtype + "\" is not supported; use float32, bfloat16 or float16");
    if (hiddenAct != "silu")
        fail(file, "hidden_act", "\"" + hiddenAct + "\" is not supported; Llama uses \"silu\" (SwiGLU)");
    if (eosTokenIds.empty() && eosIsList) fail(file, "eos_token_id", "an empty list; give at least one id or null");
    auto checkId = [&](const char* key, int64_t id) {
        if (id < 0 || id >= vocabSize)
            fail(file, key, std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocabSize) + ")");
    };
    if (bosTokenId) checkId("bos_token_id", *bosTokenId);
    for (int64_t id : eosTokenIds) checkId("eos_token_id", id);
    if (padTokenId) checkId("pad_token_id", *padTokenId);
}

int64_t LlamaConfig::parameterCount() const
{
    // 128-bit: validated sizes (each ≤ 2^24) can still multiply past int64; saturate instead.
    using Wide = __int128;
    const Wide h = hiddenSize, q = Wide(numAttentionHeads) * headDim, kv = Wide(numKeyValueHeads) * headDim;
    Wide layer = h * q + 2 * h * kv + q * h + 3 * h * intermediateSize + 2 * h;
    if (attentionBias) layer += q + 2 * kv + h;
    if (mlpBias) layer += 2 * Wide(intermediateSize) + h;
    const Wide total = Wide(vocabSize) * h * (tieWordEmbeddings ? 1 : 2) + numHiddenLayers * layer + h;
    return total > Wide(INT64_MAX) ? INT64_MAX : int64_t(total);
}

LlamaConfig parseConfigJson(std::string_view text, const std::string& file)
{
    json root;
    try {
        root = json::parse(text);
    } catch (const json::parse_error& e) {
        // Turn the byte offset into line:column.
        int64_t line = 1, column = 1;
        for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
            if (text[i] == '\n')
                ++line, column = 1;
            else
                ++column;
        }
        throw ParseError(file, line, column, std::string("not valid JSON: ") + e.what());
    } catch (const json::exception& e) {  // e.g. out_of_range 406: a number too large for a double
        throw ParseError(file, 0, 0, std::string("not valid JSON: ") + e.what());
    }
    if (!root.is_object()) fail(file, "", "expected a JSON object, found " + typeName(root));
    const Keys k(root, file);

    LlamaConfig c;
    bool sawIdentity = false;
    if (const json* arch = k.find("architectures"); arch && !arch->is_null()) {
        if (!arch->is_array()) fail(file, "architectures", "expected a list of strings, found " + typeName(*arch));
        for (const json& a : *arch) {
            if (!a.is_string()) fail(file, "architectures", "expected a list of strings");
            if (a.get<std::string>() != "LlamaForCausalLM")
                fail(file, "architectures",
                     "\"" + a.get<std::string>() +
                         "\" is not supported; Tsumugi loads LlamaForCausalLM checkpoints (Swallow, ELYZA, "
                         "llm-jp, CALM2 and other Llama-architecture models)");
        }
        sawIdentity = !arch->empty();
    }
    if (auto type = k.string("model_type")) {
        if (*type != "llama")
            fail(file, "model_type", "\"" + *type + "\" is not supported; Tsumugi loads model_type \"llama\"");
        sawIdentity = true;
    }
    if (!sawIdentity)
        fail(file, "model_type", "missing (and no architectures); a Llama config.json says \"model_type\": \"llama\"");

    c.hiddenSize = k.integer("hidden_size");
    c.intermediateSize = k.integer("intermediate_size");
    c.numHiddenLayers = k.integer("num_hidden_layers");
    c.numAttentionHeads = k.integer("num_attention_heads");
    requirePositive(file, "num_attention_heads", c.numAttentionHeads);
    c.numKeyValueHeads = k.integer("num_key_value_heads", c.numAttentionHeads);
    if (k.hasValue("head_dim")) {
        c.headDim = k.integer("head_dim");
    } else {
        requirePositive(file, "hidden_size", c.hiddenSize);
        if (c.hiddenSize % c.numAttentionHeads != 0)
            fail(file, "head_dim",
                 "missing, and hidden_size (" + std::to_string(c.hiddenSize) +
                     ") is not a multiple of num_attention_heads (" + std::to_string(c.numAttentionHeads) +
                     "); add head_dim");
        c.headDim = c.hiddenSize / c.numAttentionHeads;
    }
    c.vocabSize = k.integer("vocab_size");
    c.maxPositionEmbeddings = k.integer("max_position_embeddings", 2048);
    c.rmsNormEps = k.number("rms_norm_eps", 1e-6);
    c.initializerRange = k.number("initializer_range", 0.02);
    c.ropeTheta = k.number("rope_theta", 10000.0);
    if (k.hasValue("rope_parameters")) {
        c.ropeScaling = parseRopeScaling(*k.find("rope_parameters"), file, "rope_parameters", &c.ropeTheta);
        if (k.hasValue("rope_scaling")) {
            const RopeScaling other = parseRopeScaling(*k.find("rope_scaling"), file, "rope_scaling", nullptr);
            if (!(other == c.ropeScaling))
                fail(file, "rope_scaling", "disagrees with rope_parameters; keep one of them");
        }
    } else if (k.hasValue("rope_scaling")) {
        c.ropeScaling = parseRopeScaling(*k.find("rope_scaling"), file, "rope_scaling", nullptr);
    }
    c.tieWordEmbeddings = k.boolean("tie_word_embeddings", false);

    c.bosTokenId = k.hasValue("bos_token_id") ? std::optional<int64_t>(k.integer("bos_token_id")) : std::nullopt;
    if (!k.find("bos_token_id")) c.bosTokenId = 1;  // transformers' LlamaConfig default
    c.eosTokenIds.clear();
    if (const json* eos = k.find("eos_token_id"); !eos) {
        c.eosTokenIds = {2};
    } else if (eos->is_array()) {
        c.eosIsList = true;
        for (const json& id : *eos) c.eosTokenIds.push_back(k.toInteger("eos_token_id", id));
    } else if (!eos->is_null()) {
        c.eosTokenIds.push_back(k.integer("eos_token_id"));
    }
    if (k.hasValue("pad_token_id")) c.padTokenId = k.integer("pad_token_id");

    // Newer transformers write "dtype"; older ones "torch_dtype".
    if (auto d = k.string("torch_dtype"))
        c.torchDtype = *d;
    else if (auto d2 = k.string("dtype"))
        c.torchDtype = *d2;
    c.attentionBias = k.boolean("attention_bias", false);
    c.mlpBias = k.boolean("mlp_bias", false);
    if (auto act = k.string("hidden_act")) c.hiddenAct = *act;
    if (auto pt = k.integer("pretraining_tp", 1); pt != 1)
        fail(file, "pretraining_tp", "only 1 is supported (the weights are the same; set it to 1)");

    c.validate(file);
    return c;
}

LlamaConfig loadConfig(const std::string& path)
{
    std::string file = path;
    if (fs::is_directory(path)) file = (fs::path(path) / "config.json").string();
    std::ifstream in(file, std::ios::binary);
    if (!in) throw NotFoundError(file + ": cannot open; a Hugging Face model directory holds config.json");
    std::ostringstream text;
    text << in.rdbuf();
    return parseConfigJson(text.str(), file);
}

std::string configToJson(const LlamaConfig& c)
{
    json j;  // std::map keys: sorted like transformers' json.dumps(sort_keys=True)
    j["architectures"] = json::array({"LlamaForCausalLM"});
    j["attention_bias"] = c.attentionBias;
    j["attention_dropout"] = 0.0;
    j["bos_token_id"] = c.bosTokenId ? json(*c.bosTokenId) : json(nullptr);
    if (c.eosIsList || c.eosTokenIds.size() > 1)
        j["eos_token_id"] = c.eosTokenIds;
    else
        j["eos_token_id"] = c.eosTokenIds.empty() ? json(nullptr) : json(c.eosTokenIds[0]);
    j["head_dim"] = c.headDim;
    j["hidden_act"] = c.hiddenAct;
    j["hidden_size"] = c.hiddenSize;
    j["initializer_range"] = c.initializerRange;
    j["intermediate_size"] = c.intermediateSize;
    j["max_position_embeddings"] = c.maxPositionEmbeddings;
    j["mlp_bias"] = c.mlpBias;
    j["model_type"] = "llama";
    j["num_attention_heads"] = c.numAttentionHeads;
    j["num_hidden_layers"] = c.numHiddenLayers;
    j["num_key_value_heads"] = c.numKeyValueHeads;
    if (c.padTokenId) j["pad_token_id"] = *c.padTokenId;
    j["pretraining_tp"] = 1;
    j["rms_norm_eps"] = c.rmsNormEps;
    if (c.ropeScaling.type == RopeScalingType::None) {
        j["rope_scaling"] = nullptr;
    } else {
        json s;
        s["rope_type"] = ropeScalingTypeName(c.ropeScaling.type);
        s["factor"] = c.ropeScaling.factor;
        if (c.ropeScaling.type == RopeScalingType::Llama3) {
            s["low_freq_factor"] = c.ropeScaling.lowFreqFactor;
            s["high_freq_factor"] = c.ropeScaling.highFreqFactor;
        }
        if (c.ropeScaling.originalMaxPositionEmbeddings > 0)
            s["original_max_position_embeddings"] = c.ropeScaling.originalMaxPositionEmbeddings;
        j["rope_scaling"] = s;
    }
    j["rope_theta"] = c.ropeTheta;
    j["tie_word_embeddings"] = c.tieWordEmbeddings;
    j["torch_dtype"] = c.torchDtype;
    j["use_cache"] = true;
    j["vocab_size"] = c.vocabSize;
    return j.dump(2) + "\n";
}

void saveConfig(const LlamaConfig& config, const std::string& path)
{
    config.validate(path);
    fs::path file = path;
    if (fs::is_directory(file)) file /= "config.json";
    const std::string text = configToJson(config);
    const fs::path tmp = file.string() + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(tmp.string() + ": cannot create (is the directory writable?)");
        out << text;
        out.flush();
        if (!out) throw Error(tmp.string() + ": write failed (disk full?)");
    }
    std::error_code ec;
    fs::rename(tmp, file, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw Error(file.string() + ": cannot rename the temporary file into place");
    }
}

LlamaConfig tinyConfig()
{
    LlamaConfig c;
    c.hiddenSize = 128;
    c.intermediateSize = 384;
    c.numHiddenLayers = 3;
    c.numAttentionHeads = 4;
    c.numKeyValueHeads = 2;
    c.headDim = 32;
    c.rmsNormEps = 1e-5;
    c.maxPositionEmbeddings = 512;
    c.vocabSize = 4096;
    c.tieWordEmbeddings = true;
    return c;
}

LlamaConfig smallConfig()
{
    LlamaConfig c;
    c.hiddenSize = 384;
    c.intermediateSize = 1024;
    c.numHiddenLayers = 6;
    c.numAttentionHeads = 6;
    c.numKeyValueHeads = 2;
    c.headDim = 64;
    c.rmsNormEps = 1e-5;
    c.maxPositionEmbeddings = 2048;
    c.vocabSize = 32000;
    c.tieWordEmbeddings = true;
    return c;
}

LlamaConfig namedConfig(const std::string& name)
{
    if (name == "tiny") return tinyConfig();
    if (name == "small") return smallConfig();
    throw Error("unknown model size \"" + name + "\"; use tiny, small or a config.json path");
}

}  // namespace tsumugi::model
