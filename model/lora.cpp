#include "model/lora.h"

#include <ATen/CPUGeneratorImpl.h>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "core/error.h"

namespace tsumugi::model {

namespace {

const std::string kPeftPrefix = "base_model.model.";

std::string keyA(const LoraAdapter& a)
{
    return kPeftPrefix + a.name + ".lora_A.weight";
}

std::string keyB(const LoraAdapter& a)
{
    return kPeftPrefix + a.name + ".lora_B.weight";
}

std::string shapeText(at::IntArrayRef shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace

const std::vector<std::string>& loraModuleNames()
{
    static const std::vector<std::string> names{"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                "gate_proj", "up_proj", "down_proj"};
    return names;
}

at::Tensor LoraAdapter::forward(const at::Tensor& x)
{
    if (merged) return at::zeros({}, x.options());  // broadcasts: proj(x) + 0
    at::Tensor h = dropout > 0 ? at::dropout(x, dropout, base->is_training()) : x;  // [..., in]
    return at::matmul(at::matmul(h, A.t()), B.t()) * scale;                           // [..., out]
}

at::Tensor LoraAdapter::deltaWeight() const
{
    return (at::matmul(B.to(at::kFloat), A.to(at::kFloat)) * scale).to(base->weight.scalar_type());
}

std::vector<at::Tensor> LoraModel::parameters() const
{
    std::vector<at::Tensor> out;
    for (const auto& a : m_adapters) {
        out.push_back(a->A);
        out.push_back(a->B);
    }
    return out;
}

NamedTensors LoraModel::namedTensors() const
{
    NamedTensors out;
    for (const auto& a : m_adapters) {
        out.emplace_back(keyA(*a), a->A);
        out.emplace_back(keyB(*a), a->B);
    }
    return out;
}

void LoraModel::merge()
{
    if (m_merged) return;
    torch::NoGradGuard noGrad;
    for (const auto& a : m_adapters) {
        a->base->weight.add_(a->deltaWeight());
        a->merged = true;
    }
    m_merged = true;
}

void LoraModel::unmerge()
{
    if (!m_merged) return;
    torch::NoGradGuard noGrad;
    for (const auto& a : m_adapters) {
        a->base->weight.sub_(a->deltaWeight());
        a->merged = false;
    }
    m_merged = false;
}

LoraModel applyLora(LlamaModel& model, const LoraConfig& config, uint64_t seed)
{
    if (config.r < 1) throw Error("LoRA: r must be at least 1, got " + std::to_string(config.r));
    if (!(config.dropout >= 0 && config.dropout < 1))
        throw Error("LoRA: lora_dropout must lie in [0, 1), got " + std::to_string(config.dropout));
    if (config.targetModules.empty()) throw Error("LoRA: target_modules is empty");
    const auto& known = loraModuleNames();
    std::set<std::string> targets;
    for (const auto& t : config.targetModules) {
        if (std::find(known.begin(), known.end(), t) == known.end())
            throw Error("LoRA: unknown target module '" + t +
                        "' (expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj or down_proj)");
        targets.insert(t);
    }

    for (auto& p : model->parameters()) p.set_requires_grad(false);

    at::Generator gen = at::detail::createCPUGenerator(seed);
    std::vector<std::shared_ptr<LoraAdapter>> adapters;
    for (size_t i = 0; i < model->model->layers->size(); ++i) {
        auto* layer = model->model->layers->ptr<LlamaDecoderLayerImpl>(i).get();
        auto& attn = *layer->self_attn;
        auto& mlp = *layer->mlp;
        struct Slot {
            const char* module;
            const char* parent;
            LlamaLinear* linear;
            std::shared_ptr<LinearDelta>* delta;
        };
        const Slot slots[] = {
            {"q_proj", "self_attn", &attn.q_proj, &attn.q_delta},  {"k_proj", "self_attn", &attn.k_proj, &attn.k_delta},
            {"v_proj", "self_attn", &attn.v_proj, &attn.v_delta},  {"o_proj", "self_attn", &attn.o_proj, &attn.o_delta},
            {"gate_proj", "mlp", &mlp.gate_proj, &mlp.gate_delta}, {"up_proj", "mlp", &mlp.up_proj, &mlp.up_delta},
            {"down_proj", "mlp", &mlp.down_proj, &mlp.down_delta},
        };
        for (const Slot& s : slots) {
            if (!targets.count(s.module)) continue;
            if (*s.delta) throw Error("LoRA: the model already has an adapter on layer " + std::to_string(i) + " " + s.module);
            const at::Tensor& w = (*s.linear)->weight;  // [out, in]
            const int64_t out = w.size(0), in = w.size(1);
            auto a = std::make_shared<LoraAdapter>();
            a->name = "model.layers." + std::to_string(i) + "." + s.parent + "." + s.module;
            a->base = *s.linear;
            const double bound = 1.0 / std::sqrt(double(in));  // kaiming_uniform_(a = sqrt(5))
            a->A = at::empty({config.r, in}, at::kFloat).uniform_(-bound, bound, gen).to(w.options()).set_requires_grad(true);
            a->B = at::zeros({out, config.r}, w.options()).set_requires_grad(true);
            a->scale = config.scale();
            a->dropout = config.dropout;
            *s.delta = a;
            adapters.push_back(std::move(a));
        }
    }
    return LoraModel(config, std::move(adapters));
}

void saveLoraAdapter(const LoraModel& lora, const std::string& directory)
{
    std::filesystem::create_directories(directory);
    const LoraConfig& c = lora.config();
    nlohmann::ordered_json j;
    j["peft_type"] = "LORA";
    j["task_type"] = "CAUSAL_LM";
    j["base_model_name_or_path"] = c.baseModelNameOrPath;
    j["r"] = c.r;
    j["lora_alpha"] = c.alpha;
    j["lora_dropout"] = c.dropout;
    j["target_modules"] = c.targetModules;
    j["bias"] = "none";
    j["fan_in_fan_out"] = false;
    j["inference_mode"] = true;
    const std::string configPath = directory + "/" + kLoraConfigName;
    {
        std::ofstream out(configPath, std::ios::binary | std::ios::trunc);
        out << j.dump(2) << "\n";
        if (!out) throw Error("LoRA: cannot write " + configPath);
    }
    NamedTensors tensors;
    for (auto& [name, t] : lora.namedTensors()) tensors.emplace_back(name, t.detach().contiguous().cpu());
    writeSafetensors(directory + "/" + kLoraWeightsName, tensors);
}

LoraConfig readLoraConfig(const std::string& directory)
{
    const std::string path = directory + "/" + kLoraConfigName;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw NotFoundError("LoRA: cannot read " + path);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": not valid JSON: " + e.what());
    }
    LoraConfig c;
    try {
        if (j.contains("peft_type") && j["peft_type"] != "LORA")
            throw Error(path + ": peft_type is " + j["peft_type"].dump() + ", expected \"LORA\"");
        c.r = j.at("r").get<int64_t>();
        c.alpha = j.at("lora_alpha").get<double>();
        c.dropout = j.value("lora_dropout", 0.0);
        const auto& t = j.at("target_modules");
        if (t.is_string())
            c.targetModules = {t.get<std::string>()};
        else
            c.targetModules = t.get<std::vector<std::string>>();
        if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
            c.baseModelNameOrPath = j["base_model_name_or_path"].get<std::string>();
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": " + e.what());
    }
    return c;
}

void loadLoraAdapter(LoraModel& lora, const std::string& directory)
{
    const std::string path = directory + "/" + kLoraWeightsName;
    const SafetensorsFile file = SafetensorsFile::open(path);
    std::set<std::string> expected;
    for (const auto& [name, t] : lora.namedTensors()) expected.insert(name);
    for (const auto& info : file.tensors())
        if (!expected.count(info.name))
            throw Error(path + ": unexpected tensor '" + info.name + "' (not an adapter of this model and config)");
    torch::NoGradGuard noGrad;
    for (auto& [name, t] : lora.namedTensors()) {
        if (!file.contains(name)) throw Error(path + ": missing tensor '" + name + "'");
        at::Tensor src = file.view(name);
        if (src.sizes() != t.sizes())
            throw Error(path + ": tensor '" + name + "' has shape " + shapeText(src.sizes()) + ", expected " +
                        shapeText(t.sizes()));
        t.copy_(src);
    }
}

LoraModel loadLoraAdapter(LlamaModel& model, const std::string& directory)
{
    LoraModel lora = applyLora(model, readLoraConfig(directory));
    loadLoraAdapter(lora, directory);
    return lora;
}

}  // namespace tsumugi::model
