#include "training/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>

#include "core/error.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "training/rng.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tsumugi::training {

namespace {

void writeFileAtomically(const fs::path& path, const std::string& text)
{
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) throw Error(tmp.string() + ": cannot write (disk full?)");
    }
    fs::rename(tmp, path);
}

json readJsonFile(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot read; the checkpoint is incomplete");
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
    }
}

}  // namespace

void copyTokenizerFiles(const std::string& from, const std::string& to)
{
    if (fs::exists(to) && fs::exists(from) && fs::equivalent(fs::path(from), fs::path(to))) return;
    for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
                             "generation_config.json"}) {
        const fs::path source = fs::path(from) / name;
        if (fs::exists(source)) fs::copy_file(source, fs::path(to) / name, fs::copy_options::overwrite_existing);
    }
}

void saveHfModel(model::LlamaModelImpl& model, const std::string& directory, const std::string& tokenizerDir,
                 const tok::ChatTemplate* chatTemplate, uint64_t maxShardBytes)
{
    fs::create_directories(directory);
    model::NamedTensors tensors;
    for (auto& item : model.named_parameters(true)) tensors.emplace_back(item.key(), item.value().detach());
    model::ShardOptions shards;
    shards.maxShardBytes = maxShardBytes;
    model::writeSafetensorsCheckpoint(directory, tensors, shards);
    model::saveConfig(model.config(), directory);
    copyTokenizerFiles(tokenizerDir, directory);
    const fs::path generation = fs::path(directory) / "generation_config.json";
    if (!fs::exists(generation)) {
        const model::LlamaConfig& c = model.config();
        json g = {{"_from_model_config", true}};
        if (c.bosTokenId) g["bos_token_id"] = *c.bosTokenId;
        if (c.eosTokenIds.size() == 1)
            g["eos_token_id"] = c.eosTokenIds[0];
        else if (!c.eosTokenIds.empty())
            g["eos_token_id"] = c.eosTokenIds;
        if (c.padTokenId) g["pad_token_id"] = *c.padTokenId;
        writeFileAtomically(generation, g.dump(2) + "\n");
    }
    if (chatTemplate) tok::writeChatTemplate(directory, *chatTemplate);
}

void saveTrainerState(const std::string& directory, const TrainerState& state, const AdamW& optimizer,
                      const at::Device& device)
{
    fs::create_directories(directory);
    model::NamedTensors tensors = optimizer.state();
    tensors.emplace_back("rng.cpu", generatorState(at::kCPU));
    if (!device.is_cpu()) tensors.emplace_back("rng.device", generatorState(device).cpu());
    model::writeSafetensors((fs::path(directory) / kOptimizerStateName).string(), tensors);
    const json j = {{"magic", kTrainerStateMagic},
                    {"version", kTrainerStateVersion},
                    {"step", state.step},
                    {"optimizer_steps", optimizer.steps()},
                    {"epoch", state.epoch},
                    {"batch_in_epoch", state.batchInEpoch},
                    {"tokens_seen", state.tokensSeen},
                    {"lr_scale", state.lrScale},
                    {"skip_batches", state.skipBatches},
                    {"guard", state.guard},
                    {"extra", state.extra}};
    writeFileAtomically(fs::path(directory) / kTrainerStateName, j.dump(2) + "\n");
}

TrainerState loadTrainerState(const std::string& directory, AdamW& optimizer, const at::Device& device)
{
    const fs::path file = fs::path(directory) / kTrainerStateName;
    const json j = readJsonFile(file);
    if (!j.is_object() || j.value("magic", "") != kTrainerStateMagic)
        throw Error(file.string() + ": not a Tsumugi trainer state (magic \"" + kTrainerStateMagic + "\" missing)");
    const int version = j.value("version", 0);
    if (version > kTrainerStateVersion)
        throw Error(file.string() + ": trainer state version " + std::to_string(version) +
                    " is from a newer Tsumugi (this one reads up to " + std::to_string(kTrainerStateVersion) +
                    "); resume with that version");
    TrainerState s;
    try {
        s.step = j.at("step").get<int64_t>();
        s.epoch = j.at("epoch").get<int64_t>();
        s.batchInEpoch = j.at("batch_in_epoch").get<int64_t>();
        s.tokensSeen = j.at("tokens_seen").get<int64_t>();
        s.lrScale = j.at("lr_scale").get<double>();
        s.skipBatches = j.at("skip_batches").get<std::vector<int64_t>>();
        s.guard = j.at("guard");
        s.extra = j.at("extra");
    } catch (const json::exception& e) {
        throw Error(file.string() + ": " + e.what());
    }
    const auto checkpoint = model::SafetensorsFile::open((fs::path(directory) / kOptimizerStateName).string());
    model::NamedTensors tensors;
    at::Tensor rngCpu, rngDevice;
    for (const auto& info : checkpoint.tensors()) {
        at::Tensor t = checkpoint.load(info.name);
        if (info.name == "rng.cpu")
            rngCpu = t;
        else if (info.name == "rng.device")
            rngDevice = t;
        else
            tensors.emplace_back(info.name, t);
    }
    try {
        optimizer.loadState(tensors, j.value("optimizer_steps", s.step));
    } catch (const Error& e) {
        e.rethrowWithContext(directory);
    }
    if (rngCpu.defined()) setGeneratorState(at::kCPU, rngCpu);
    if (rngDevice.defined() && !device.is_cpu()) setGeneratorState(device, rngDevice.to(at::kCPU));
    return s;
}

std::string checkpointName(int64_t step)
{
    return "checkpoint-" + std::to_string(step);
}

std::string beginCheckpoint(const std::string& runDir, int64_t step)
{
    fs::create_directories(runDir);
    std::random_device rd;
    const fs::path tmp = fs::path(runDir) / (".tmp-" + checkpointName(step) + "-" + std::to_string(rd()));
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    return tmp.string();
}

std::vector<std::pair<int64_t, std::string>> listCheckpoints(const std::string& runDir)
{
    std::vector<std::pair<int64_t, std::string>> out;
    if (!fs::is_directory(runDir)) return out;
    static const std::regex name("checkpoint-([0-9]+)");
    for (const auto& entry : fs::directory_iterator(runDir)) {
        std::smatch m;
        const std::string base = entry.path().filename().string();
        if (entry.is_directory() && std::regex_match(base, m, name) && fs::exists(entry.path() / kTrainerStateName))
            out.emplace_back(std::stoll(m[1].str()), entry.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<std::string> latestCheckpoint(const std::string& runDir)
{
    const auto all = listCheckpoints(runDir);
    if (all.empty()) return std::nullopt;
    return all.back().second;
}

std::string commitCheckpoint(const std::string& runDir, const std::string& tempDir, int64_t step, int keepLast)
{
    const fs::path final = fs::path(runDir) / checkpointName(step);
    if (fs::exists(final)) fs::remove_all(final);
    fs::rename(tempDir, final);
    if (keepLast > 0) {
        auto all = listCheckpoints(runDir);
        while (int(all.size()) > keepLast) {
            if (all.front().second != final.string()) fs::remove_all(all.front().second);
            all.erase(all.begin());
        }
    }
    // Temporaries left by a killed run are garbage now that a newer checkpoint is complete.
    for (const auto& entry : fs::directory_iterator(runDir))
        if (entry.path().filename().string().rfind(".tmp-checkpoint-", 0) == 0) fs::remove_all(entry.path());
    return final.string();
}

}  // namespace tsumugi::training
