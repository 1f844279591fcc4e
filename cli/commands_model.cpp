// Model commands: model init (a randomly initialised Llama in Hugging Face layout) and
// generate (a prompt through the model's chat template, streamed to the terminal).
// Built only with LibTorch (TSUMUGI_TORCH). Model headers come first: they pull in ATen.
#include "model/config.h"
#include "model/generate.h"
#include "model/llama.h"
#include "model/safetensors.h"
#include "training/checkpoint.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

namespace tsumugi::cli {

using ojson = nlohmann::ordered_json;

namespace {

at::ScalarType parseDtype(const std::string& name)
{
    if (name == "float32") return at::kFloat;
    if (name == "bfloat16") return at::kBFloat16;
    throw Error("--dtype must be float32 or bfloat16 (float16 is CUDA-only)");
}

void addInit(CLI::App& parent)
{
    struct Options {
        std::string config = "tiny", tokenizer, out, dtype = "float32";
        uint64_t seed = 0;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = parent.add_subcommand("init", "A randomly initialised Llama model in Hugging Face layout");
    cmd->add_option("--config", o->config, "tiny (~1M parameters), small (~22M) or a config.json")
        ->capture_default_str();
    cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer directory; its files are copied beside the weights")
        ->required();
    cmd->add_option("--out", o->out, "Output directory")->required();
    cmd->add_option("--seed", o->seed, "Seed of the initialisation")->capture_default_str();
    cmd->add_option("--dtype", o->dtype, "float32 or bfloat16")->capture_default_str();
    cmd->callback([o] {
        namespace fs = std::filesystem;
        const tok::TokenizerBundle bundle = tok::loadTokenizer(o->tokenizer);
        model::LlamaConfig config =
            fs::exists(o->config) ? model::loadConfig(o->config) : model::namedConfig(o->config);
        const bool named = !fs::exists(o->config);
        if (named) {
            // A named size takes its vocabulary and special ids from the tokenizer.
            config.vocabSize = bundle.tokenizer->vocabSize();
            config.bosTokenId = bundle.special.bos;
            config.eosTokenIds.clear();
            for (int32_t id : bundle.special.eosIds) config.eosTokenIds.push_back(id);
            config.padTokenId = bundle.special.pad;
        } else if (config.vocabSize < bundle.tokenizer->vocabSize()) {
            throw Error(o->config + ": vocab_size " + std::to_string(config.vocabSize) +
                        " is smaller than the tokenizer's " + std::to_string(bundle.tokenizer->vocabSize()) +
                        " tokens; ids past the embedding table would crash training");
        }
        config.torchDtype = o->dtype;
        const at::ScalarType dtype = parseDtype(o->dtype);
        at::manual_seed(o->seed);
        model::LlamaModel llama(config, dtype, at::kCPU);  // transformers' initialisation, seeded
        model::NamedTensors tensors;
        for (auto& item : llama->named_parameters(true)) tensors.emplace_back(item.key(), item.value());
        fs::create_directories(o->out);
        model::saveConfig(config, (fs::path(o->out) / "config.json").string());
        const auto files = model::writeSafetensorsCheckpoint(o->out, tensors);
        training::copyTokenizerFiles(o->tokenizer, o->out);
        say("initialised " + o->out + ": " + humanCount(config.parameterCount()) + " parameters, " +
            std::to_string(config.numHiddenLayers) + " layers, vocabulary " + std::to_string(config.vocabSize) +
            ", " + o->dtype + " (" + bundle.tokenizer->describe() + ")");
        emit({{"event", "model.init"}, {"out", o->out}, {"parameters", config.parameterCount()}, {"files", files}});
    });
}

void addGenerate(CLI::App& app)
{
    struct Options {
        std::string model, prompt, system, templateName;
        std::vector<std::string> stops;
        int64_t maxNewTokens = 128, topK = 0;
        double temperature = 0.0, topP = 1.0, repetitionPenalty = 1.0;
        uint64_t seed = 0;
        bool raw = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("generate", "Generate a reply with a model (the model's own chat template by default)");
    cmd->add_option("model", o->model, "Model directory (Hugging Face layout)")->required();
    cmd->add_option("--prompt", o->prompt, "The user's message")->required();
    cmd->add_option("--system", o->system, "A system prompt");
    cmd->add_option("--template", o->templateName, "A named template instead of the model's own: " +
                                                      [] {
                                                          std::string names;
                                                          for (const auto& n : tok::ChatTemplate::namedTemplates())
                                                              names += (names.empty() ? "" : ", ") + n;
                                                          return names;
                                                      }());
    cmd->add_flag("--raw", o->raw, "Encode the prompt as it is, without a chat template");
    cmd->add_option("--max-new-tokens", o->maxNewTokens)->capture_default_str();
    cmd->add_option("--temperature", o->temperature, "0: greedy")->capture_default_str();
    cmd->add_option("--top-k", o->topK)->capture_default_str();
    cmd->add_option("--top-p", o->topP)->capture_default_str();
    cmd->add_option("--repetition-penalty", o->repetitionPenalty)->capture_default_str();
    cmd->add_option("--seed", o->seed)->capture_default_str();
    cmd->add_option("--stop", o->stops, "Stop when the text contains this (repeatable)");
    cmd->callback([o] {
        const tok::TokenizerBundle bundle = tok::loadTokenizer(o->model);
        model::LlamaModel llama = model::loadLlama(o->model);
        std::vector<int32_t> promptIds;
        if (o->raw) {
            if (bundle.special.addBos && bundle.special.bos) promptIds.push_back(*bundle.special.bos);
            const auto e = bundle.tokenizer->encode(o->prompt);
            promptIds.insert(promptIds.end(), e.ids.begin(), e.ids.end());
        } else {
            const tok::ChatTemplate chat =
                !o->templateName.empty() ? tok::ChatTemplate::named(o->templateName)
                : bundle.chatTemplate    ? tok::ChatTemplate::fromJinja(*bundle.chatTemplate, o->model + "/tokenizer_config.json")
                                         : throw Error(o->model + " has no chat_template; give --template NAME or --raw");
            std::vector<tok::ChatMessage> messages;
            if (!o->system.empty()) messages.push_back({"system", o->system});
            messages.push_back({"user", o->prompt});
            promptIds = tok::encodeChat(chat, messages, *bundle.tokenizer, bundle.special, true).ids;
        }
        for (int32_t id : promptIds)
            if (id >= llama->config().vocabSize)
                throw Error("token id " + std::to_string(id) + " is past the model's vocabulary of " +
                            std::to_string(llama->config().vocabSize) + "; the tokenizer does not belong to this model");

        model::GenerationOptions options;
        options.maxNewTokens = o->maxNewTokens;
        options.temperature = o->temperature;
        options.topK = o->topK;
        options.topP = o->topP;
        options.repetitionPenalty = o->repetitionPenalty;
        options.seed = o->seed;
        if (!bundle.special.eosIds.empty())
            options.eosIds = std::vector<int64_t>(bundle.special.eosIds.begin(), bundle.special.eosIds.end());

        std::vector<int32_t> generated;
        std::string shown;
        bool stopped = false;
        auto onToken = [&](size_t, int64_t id) {
            generated.push_back(static_cast<int32_t>(id));
            std::string text = bundle.tokenizer->decode(generated, true);
            for (const std::string& stop : o->stops)
                if (auto at = text.find(stop); at != std::string::npos) text.resize(at), stopped = true;
            // Print what extends the text shown so far (a token that ends inside a character
            // decodes differently once the character is complete).
            if (text.size() > shown.size() && text.compare(0, shown.size(), shown) == 0) {
                if (!context().json) std::cout << text.substr(shown.size()) << std::flush;
                shown = text;
            }
            return !stopped;
        };
        const std::vector<std::vector<int64_t>> prompts{{promptIds.begin(), promptIds.end()}};
        const auto out = model::generate(llama, prompts, options, onToken);
        if (!context().json) std::cout << "\n";
        emit({{"prompt_ids", promptIds}, {"ids", out.front()}, {"text", shown}, {"stopped_by_string", stopped}});
    });
}

}  // namespace

void addModelCommands(CLI::App& app)
{
    auto* model = app.add_subcommand("model", "Create models");
    model->require_subcommand(1);
    addInit(*model);
    addGenerate(app);
}

}  // namespace tsumugi::cli
