// The SFT recipe: setup → plan → train → save. Shared pieces (optimizer, schedule, loss,
// checkpoints, guard, metrics) come from training/.
#include "sft/recipe.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>

#include <torch/cuda.h>
#include <torch/utils.h>

#include "core/error.h"
#include "datastore/runs.h"
#include "datastore/snapshots.h"
#include "datastore/workspace.h"
#include "model/config.h"
#include "model/llama.h"
#include "model/safetensors.h"
#include "tokenizer/tokenizer.h"
#include "training/activation_checkpoint.h"
#include "training/checkpoint.h"
#include "training/loss.h"
#include "training/memory.h"

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace tsumugi::sft {

model::LoraConfig parseLoraSpec(const std::string& spec)
{
    model::LoraConfig c;
    c.r = 16;
    c.alpha = 32;
    c.targetModules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    std::vector<std::string> parts;
    std::stringstream in(spec);
    for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
    bool inTargets = false;
    for (const std::string& part : parts) {
        const auto eq = part.find('=');
        if (eq == std::string::npos) {
            if (!inTargets) throw Error("--lora: \"" + part + "\" is not key=value (r=16,alpha=32,dropout=0.05,targets=q,v)");
            c.targetModules.push_back(part.size() <= 4 ? part + "_proj" : part);
            continue;
        }
        const std::string key = part.substr(0, eq), value = part.substr(eq + 1);
        inTargets = false;
        try {
            if (key == "r")
                c.r = std::stoll(value);
            else if (key == "alpha")
                c.alpha = std::stod(value);
            else if (key == "dropout")
                c.dropout = std::stod(value);
            else if (key == "targets") {
                c.targetModules = {value.size() <= 4 ? value + "_proj" : value};
                inTargets = true;
            } else
                throw Error("--lora: unknown key \"" + key + "\" (r, alpha, dropout, targets)");
        } catch (const std::logic_error&) {
            throw Error("--lora: \"" + value + "\" is not a number for " + key);
        }
    }
    return c;
}

namespace {

// --- small pieces the recipe reads as steps --------------------------------------------------------

at::ScalarType chooseDtype(const std::string& name, const at::Device& device)
{
    if (name.empty()) return device.is_cuda() ? at::kBFloat16 : at::kFloat;
    if (name == "float32" || name == "fp32") return at::kFloat;
    if (name == "bfloat16" || name == "bf16") return at::kBFloat16;
    if (name == "float16" || name == "fp16") {
        if (!device.is_cuda()) throw Error("--dtype float16 runs on CUDA only; use bfloat16 or float32 on the CPU");
        return at::kHalf;
    }
    throw Error("unknown --dtype \"" + name + "\"; use float32, bfloat16 or float16 (CUDA)");
}

tok::ChatTemplate chooseTemplate(const std::string& name, const tok::TokenizerBundle& bundle, const std::string& base)
{
    if (!name.empty()) return tok::ChatTemplate::named(name);
    if (bundle.chatTemplate) return tok::ChatTemplate::fromJinja(*bundle.chatTemplate, base + "/tokenizer_config.json");
    throw Error(base + " has no chat_template; give --template NAME (one of llama2-ja, calm, llm-jp, alpaca-ja, chatml)");
}

// A batch of rows as tensors on `device`.
struct Batch {
    at::Tensor ids, positions, labels, mask;  // [B, T] ×3, mask [B, 1, T, T]
    int64_t lossTokens = 0;
    int64_t tokens = 0;  // non-padding positions
};

Batch toBatch(const std::vector<Row>& rows, const at::Device& device)
{
    const int64_t b = int64_t(rows.size()), t = int64_t(rows.front().ids.size());
    auto stack = [&](auto member) {
        std::vector<int64_t> flat;
        flat.reserve(size_t(b * t));
        for (const Row& r : rows) flat.insert(flat.end(), (r.*member).begin(), (r.*member).end());
        return at::tensor(flat, at::kLong).view({b, t});
    };
    Batch batch;
    batch.ids = stack(&Row::ids).to(device);
    batch.positions = stack(&Row::positions).to(device);
    batch.labels = stack(&Row::labels).to(device);
    const at::Tensor attention = stack(&Row::attention);
    batch.mask = model::causalMask(attention, model::documentIdsFromPositions(stack(&Row::positions))).to(device);
    for (const Row& r : rows) batch.lossTokens += r.lossTokens();
    batch.tokens = attention.sum().item<int64_t>();
    return batch;
}

// The epoch's batches in a seeded order (Fisher–Yates over a 64-bit Mersenne Twister, so the
// order is the same on every platform and after a resume).
std::vector<std::vector<Row>> epochBatches(const std::vector<std::vector<Row>>& batches, uint64_t seed, int64_t epoch)
{
    std::vector<size_t> order(batches.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937_64 rng(seed * 1000003ULL + uint64_t(epoch));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(rng() % i)]);
    std::vector<std::vector<Row>> out;
    out.reserve(batches.size());
    for (size_t i : order) out.push_back(batches[i]);
    return out;
}

void notify(const std::string& command, const ordered_json& payload, const training::MetricsSink& sink)
{
    if (command.empty()) return;
    FILE* pipe = ::popen(command.c_str(), "w");
    if (!pipe) {
        sink.say("notify: cannot run " + command);
        return;
    }
    const std::string text = payload.dump() + "\n";
    std::fwrite(text.data(), 1, text.size(), pipe);
    if (const int rc = ::pclose(pipe); rc != 0) sink.say("notify: " + command + " exited with status " + std::to_string(rc));
}

double validationLoss(model::LlamaModel& llama, const std::vector<std::vector<Row>>& batches, const at::Device& device)
{
    if (batches.empty()) return std::nan("");
    torch::NoGradGuard noGrad;
    const bool wasTraining = llama->is_training();
    llama->eval();
    double sum = 0;
    int64_t tokens = 0;
    for (const auto& rows : batches) {
        Batch b = toBatch(rows, device);
        sum += training::causalLmLossSum(llama(b.ids, b.positions, b.mask), b.labels).item<double>();
        tokens += b.lossTokens;
    }
    llama->train(wasTraining);
    return tokens ? sum / double(tokens) : std::nan("");
}

std::vector<std::vector<Row>> makeBatches(const std::vector<Example>& examples, const SftOptions& o, int64_t seqLen,
                                          int64_t padId, double* efficiency)
{
    std::vector<std::vector<Row>> batches;
    if (o.pack) {
        std::vector<Row> rows = packExamples(examples, seqLen, padId, efficiency);
        for (size_t i = 0; i < rows.size(); i += size_t(o.batchSize))
            batches.emplace_back(rows.begin() + long(i), rows.begin() + long(std::min(rows.size(), i + size_t(o.batchSize))));
    } else {
        batches = bucketExamples(examples, o.batchSize, padId, efficiency);
    }
    return batches;
}

std::string fixed(double v, int digits)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

}  // namespace

SftResult runSft(Workspace& ws, const Account& actor, const SftOptions& o, training::MetricsOptions output)
{
    // --- setup: data ---------------------------------------------------------------------------
    if (o.batchSize < 1 || o.gradAccum < 1) throw Error("--batch-size and --grad-accum must be at least 1");
    if (o.epochs < 1 && o.maxSteps < 1) throw Error("give --epochs or --max-steps of at least 1");
    const at::Device device(o.device);
    if (device.is_cuda() && !torch::cuda::is_available())
        throw Error("--device " + o.device + ": no CUDA device is visible to LibTorch; use --device cpu");
    const at::ScalarType dtype = chooseDtype(o.dtype, device);
    const Snapshot snapshot = snapshotByName(ws, o.snapshot);
    const model::LlamaConfig config = model::loadConfig(o.base);
    const tok::TokenizerBundle bundle = tok::loadTokenizer(o.base);
    if (bundle.tokenizer->vocabSize() > config.vocabSize)
        throw Error(o.base + ": the tokenizer has " + std::to_string(bundle.tokenizer->vocabSize()) +
                    " tokens but the model's vocab_size is " + std::to_string(config.vocabSize) +
                    "; ids past the embedding table would crash training");
    const tok::ChatTemplate chatTemplate = chooseTemplate(o.templateName, bundle, o.base);
    const int64_t seqLen = o.seqLen > 0 ? o.seqLen : std::min<int64_t>(2048, config.maxPositionEmbeddings);
    if (seqLen > config.maxPositionEmbeddings)
        throw Error("--seq-len " + std::to_string(seqLen) + " is above the model's max_position_embeddings (" +
                    std::to_string(config.maxPositionEmbeddings) + ")");
    if (seqLen < 2) throw Error("--seq-len must be at least 2");
    const int64_t padId = bundle.special.pad.value_or(bundle.special.eos.value_or(0));

    PathReport pathReport;
    const std::vector<ConversationPath> allPaths = snapshotPaths(ws, snapshot.id, o.paths, &pathReport);
    std::vector<ConversationPath> trainPaths, testPaths;
    for (const auto& p : allPaths)
        (p.split == "test" || p.split == "validation" || p.split == "valid" ? testPaths : trainPaths).push_back(p);
    EncodeReport trainReport, testReport;
    const std::vector<Example> trainExamples = encodePaths(trainPaths, chatTemplate, *bundle.tokenizer, bundle.special,
                                                           seqLen, o.overlong, o.allTokens, &trainReport);
    const std::vector<Example> testExamples = encodePaths(testPaths, chatTemplate, *bundle.tokenizer, bundle.special,
                                                          seqLen, o.overlong, o.allTokens, &testReport);
    if (trainExamples.empty())
        throw Error("snapshot \"" + o.snapshot + "\" gives no training example (" + std::to_string(pathReport.trees) +
                    " trees, " + std::to_string(trainReport.dropped) + " dropped as longer than " +
                    std::to_string(seqLen) + " tokens); check its filter and split, or --seq-len");
    double efficiency = 1.0, testEfficiency = 1.0;
    const std::vector<std::vector<Row>> batches = makeBatches(trainExamples, o, seqLen, padId, &efficiency);
    const std::vector<std::vector<Row>> testBatches = makeBatches(testExamples, o, seqLen, padId, &testEfficiency);
    const int64_t batchesPerEpoch = int64_t(batches.size());
    const int64_t updatesPerEpoch = (batchesPerEpoch + o.gradAccum - 1) / o.gradAccum;
    const int64_t totalSteps = o.maxSteps > 0 ? o.maxSteps : o.epochs * updatesPerEpoch;

    // --- setup: model ----------------------------------------------------------------------------
    model::LlamaModel llama(config, dtype, device, model::WeightInit::Empty);
    llama->loadWeights(model::SafetensorsCheckpoint::open(o.base));
    std::optional<model::LoraModel> lora;
    training::NamedTensorList trainable;
    if (o.lora) {
        model::LoraConfig lc = *o.lora;
        lc.baseModelNameOrPath = o.base;
        lora = model::applyLora(llama, lc, o.seed);
        trainable = lora->namedTensors();
    } else {
        for (auto& item : llama->named_parameters(true)) trainable.emplace_back(item.key(), item.value());
    }
    if (o.activationCheckpointing) training::enableActivationCheckpointing(*llama);
    int64_t trainableCount = 0;
    std::vector<at::Tensor> trainableTensors;
    for (const auto& [name, t] : trainable) {
        trainableCount += t.numel();
        trainableTensors.push_back(t);
    }
    const training::MemoryEstimate memory = training::estimateTrainingMemory(
        config, dtype, trainableCount, o.batchSize, o.pack ? seqLen : std::min<int64_t>(seqLen, 2048),
        o.activationCheckpointing);

    // --- plan: say what will happen before it happens ------------------------------------------------
    output.runDir.clear();  // metrics.jsonl is written once training starts (not for a dry run)
    training::MetricsSink sink(output);
    const double lossShare = trainReport.tokens ? double(trainReport.lossTokens) / double(trainReport.tokens) : 0;
    sink.say("snapshot " + o.snapshot + " (" + snapshot.contentHash.substr(0, 12) + "): " +
             std::to_string(pathReport.trees) + " trees → " + std::to_string(pathReport.paths) + " paths (" +
             std::to_string(pathReport.rankedBranches) + " ranked branches followed by consensus, " +
             std::to_string(pathReport.unrankedBranches) + " unranked, " +
             std::to_string(pathReport.treesWithoutAssistant) + " trees without a reply)");
    sink.say("train: " + std::to_string(trainReport.examples) + " examples, " + std::to_string(trainReport.tokens) +
             " tokens, " + fixed(100 * lossShare, 1) + "% in the loss; dropped " + std::to_string(trainReport.dropped) +
             " longer than " + std::to_string(seqLen) + ", truncated " + std::to_string(trainReport.truncated) +
             ", " + std::to_string(trainReport.droppedNoLossTokens) + " with nothing to learn; test: " +
             std::to_string(testReport.examples) + " examples");
    sink.say(std::string(o.pack ? "packed" : "padded by length buckets") + ": " + std::to_string(batchesPerEpoch) +
             " batches of " + std::to_string(o.batchSize) + " × " + (o.pack ? std::to_string(seqLen) : "≤" + std::to_string(seqLen)) +
             ", " + fixed(100 * efficiency, 1) + "% tokens (not padding); " + std::to_string(totalSteps) +
             " optimizer steps (" + std::to_string(updatesPerEpoch) + " per epoch, accumulation " +
             std::to_string(o.gradAccum) + ")");
    sink.say(std::string(o.lora ? "LoRA r=" + std::to_string(o.lora->r) : "full fine-tune") + ": " +
             std::to_string(trainableCount) + " trainable of " + std::to_string(config.parameterCount()) +
             " parameters, " + c10::toString(dtype) + " on " + device.str() + "; memory estimate: " + memory.describe());
    sink.say("template " + chatTemplate.name() + "; one example, targets in 【】:\n" +
             showMask(trainExamples.front(), *bundle.tokenizer));
    if (const int64_t available = training::availableMemory(device); available > 0 && memory.total() > available)
        throw Error("this run needs about " + training::humanBytes(memory.total()) + " (" + memory.describe() + ") but " +
                    device.str() + " has " + training::humanBytes(available) +
                    " free; use --lora, a smaller --batch-size with --grad-accum, a shorter --seq-len, or "
                    "--activation-checkpointing");
    if (o.dryRun) return {};

    // --- setup: optimizer, run record, resume ------------------------------------------------------
    at::manual_seed(o.seed);
    training::AdamW optimizer(trainable, {0.9, 0.999, 1e-8, o.weightDecay});
    training::ScheduleOptions schedule{o.lr, o.warmupSteps, totalSteps, o.schedule, o.minLrRatio};
    training::SpikeGuard guard(o.guard);
    training::TrainerState state;
    SftResult result;
    fs::create_directories(o.out);
    auto loadCheckpoint = [&](const std::string& dir) {
        if (lora)
            model::loadLoraAdapter(*lora, dir);
        else
            llama->loadWeights(model::SafetensorsCheckpoint::open(dir));
        state = training::loadTrainerState(dir, optimizer, device);
        guard.fromJson(state.guard);
    };
    if (o.resume) {
        if (const auto last = training::latestCheckpoint(o.out)) {
            loadCheckpoint(*last);
            sink.say("resuming from " + *last + " at step " + std::to_string(state.step));
        } else {
            sink.say("--resume: no checkpoint in " + o.out + " yet; starting from the beginning");
        }
    }
    const json runConfig = {{"snapshot", o.snapshot}, {"snapshot_hash", snapshot.contentHash}, {"base", o.base},
                            {"template", chatTemplate.name()}, {"seq_len", seqLen}, {"batch_size", o.batchSize},
                            {"grad_accum", o.gradAccum}, {"lr", o.lr}, {"steps", totalSteps}, {"seed", o.seed},
                            {"pack", o.pack}, {"lora", o.lora ? json{{"r", o.lora->r}, {"alpha", o.lora->alpha}} : json()},
                            {"dtype", c10::toString(dtype)}, {"device", device.str()}};
    int64_t runId = state.extra.value("run_id", int64_t(0));
    if (runId)
        resumeRun(ws, actor, runId);
    else
        runId = createRun(ws, actor, "sft", runConfig.dump(), snapshot.id, o.base, fs::absolute(o.out).string());
    state.extra["run_id"] = runId;
    output.runDir = o.out;
    output.workspace = &ws;
    output.actor = &actor;
    output.runId = runId;
    sink = training::MetricsSink(output);
    result.runId = runId;

    auto saveCheckpoint = [&](bool final) {
        const std::string tmp = training::beginCheckpoint(o.out, state.step);
        if (lora) {
            model::saveLoraAdapter(*lora, tmp);
            training::copyTokenizerFiles(o.base, tmp);
            tok::writeChatTemplate(tmp, chatTemplate);
            if (final && o.saveMerged) {
                lora->merge();
                training::saveHfModel(*llama, (fs::path(tmp) / "merged").string(), o.base, &chatTemplate);
                lora->unmerge();
            }
        } else {
            training::saveHfModel(*llama, tmp, o.base, &chatTemplate);
        }
        state.guard = guard.toJson();
        training::saveTrainerState(tmp, state, optimizer, device);
        const std::string path = training::commitCheckpoint(o.out, tmp, state.step, o.keepLast);
        addCheckpoint(ws, actor, runId, state.step, fs::absolute(path).string(),
                      json{{"loss", result.losses.empty() ? 0.0 : result.losses.back()}}.dump());
        sink.event(state.step, "checkpoint", {{"path", path}}, "checkpoint " + path);
        return path;
    };

    // --- train ---------------------------------------------------------------------------------------
    llama->train();
    std::vector<std::vector<Row>> order = epochBatches(batches, o.seed, state.epoch);
    std::vector<int64_t> recentSkipped;  // batches of steps the guard skipped since the last rollback
    const auto started = std::chrono::steady_clock::now();
    int64_t tokensThisRun = 0;
    try {
        while (state.step < totalSteps) {
            // Gather the micro-batches of this step (within one epoch), skipping banned batches.
            std::vector<std::pair<int64_t, Batch>> micro;
            while (int64_t(micro.size()) < o.gradAccum) {
                if (state.batchInEpoch >= batchesPerEpoch) {
                    if (!micro.empty()) break;
                    ++state.epoch;
                    state.batchInEpoch = 0;
                    order = epochBatches(batches, o.seed, state.epoch);
                    continue;
                }
                const int64_t global = state.epoch * batchesPerEpoch + state.batchInEpoch;
                const std::vector<Row>& rows = order[size_t(state.batchInEpoch++)];
                if (std::find(state.skipBatches.begin(), state.skipBatches.end(), global) != state.skipBatches.end())
                    continue;
                micro.emplace_back(global, toBatch(rows, device));
            }
            if (micro.empty()) continue;
            int64_t stepTokens = 0, stepAll = 0;
            for (const auto& [g, b] : micro) stepTokens += b.lossTokens, stepAll += b.tokens;
            double stepLoss = 0;
            for (auto& [g, b] : micro) {
                at::Tensor sum = training::causalLmLossSum(llama(b.ids, b.positions, b.mask), b.labels);
                (sum / double(std::max<int64_t>(1, stepTokens))).backward();
                stepLoss += sum.item<double>();
            }
            stepLoss /= double(std::max<int64_t>(1, stepTokens));
            if (o.lossHook) o.lossHook(state.step, stepLoss);
            const double gradNorm = training::clipGradNorm(trainableTensors, o.maxGradNorm);
            const training::GuardAction action = guard.observe(state.step, stepLoss, gradNorm);
            if (action == training::GuardAction::Accept) {
                const double lr = training::learningRate(schedule, state.step) * state.lrScale;
                optimizer.step(lr);
                optimizer.zeroGrad();
                ++state.step;
                state.tokensSeen += stepTokens;
                tokensThisRun += stepAll;
                result.losses.push_back(stepLoss);
                const double seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                const double tokensPerSecond = seconds > 0 ? double(tokensThisRun) / seconds : 0;
                sink.step(state.step, {{"loss", stepLoss}, {"lr", lr}, {"grad_norm", gradNorm},
                                       {"tokens_per_s", tokensPerSecond}, {"epoch", double(state.epoch)}});
                const double eta = seconds / double(result.losses.size()) * double(totalSteps - state.step);
                sink.progress("step " + std::to_string(state.step) + "/" + std::to_string(totalSteps) + "  loss " +
                              fixed(stepLoss, 4) + "  lr " + fixed(lr, 8) + "  grad " + fixed(gradNorm, 3) + "  " +
                              fixed(tokensPerSecond, 0) + " tok/s  ETA " + fixed(eta, 0) + " s");
                if (o.evalEvery > 0 && state.step % o.evalEvery == 0 && !testBatches.empty()) {
                    const double v = validationLoss(llama, testBatches, device);
                    sink.step(state.step, {{"eval_loss", v}});
                }
                if (o.saveEvery > 0 && state.step % o.saveEvery == 0 && state.step < totalSteps) saveCheckpoint(false);
                continue;
            }
            optimizer.zeroGrad();
            ++result.skippedSteps;
            for (const auto& [g, b] : micro) recentSkipped.push_back(g);
            sink.event(state.step, training::guardActionName(action),
                       {{"loss", std::isfinite(stepLoss) ? ordered_json(stepLoss) : ordered_json(nullptr)},
                        {"grad_norm", std::isfinite(gradNorm) ? ordered_json(gradNorm) : ordered_json(nullptr)},
                        {"batches", [&] { std::vector<int64_t> v; for (const auto& m : micro) v.push_back(m.first); return v; }()},
                        {"mean", guard.mean()}},
                       "step " + std::to_string(state.step + 1) + ": " + training::guardActionName(action) + " (loss " +
                           fixed(stepLoss, 4) + ", recent mean " + fixed(guard.mean(), 4) + ")");
            if (action != training::GuardAction::Rollback) continue;
            const auto last = training::latestCheckpoint(o.out);
            if (!last)
                throw Error("loss spikes at step " + std::to_string(state.step + 1) +
                            " before any checkpoint: nothing to roll back to; lower --lr, raise --warmup-steps, or "
                            "check the data of batches " + [&] { std::string s; for (int64_t g : recentSkipped) s += std::to_string(g) + " "; return s; }());
            const std::vector<int64_t> banned = recentSkipped;
            const double scale = state.lrScale * o.guard.lrBackoff;
            loadCheckpoint(*last);
            for (int64_t g : banned)
                if (std::find(state.skipBatches.begin(), state.skipBatches.end(), g) == state.skipBatches.end())
                    state.skipBatches.push_back(g);
            state.lrScale = std::min(state.lrScale, scale);
            state.extra["run_id"] = runId;
            guard.clearSpikes();
            recentSkipped.clear();
            order = epochBatches(batches, o.seed, state.epoch);
            ++result.rollbacks;
            sink.event(state.step, "rolled_back", {{"checkpoint", *last}, {"lr_scale", state.lrScale}, {"banned_batches", banned}},
                       "rolled back to " + *last + "; LR scale " + fixed(state.lrScale, 3) + ", " +
                           std::to_string(banned.size()) + " batches never trained on again");
            notify(o.notifyCmd, {{"event", "rollback"}, {"run_dir", o.out}, {"step", state.step}, {"checkpoint", *last}}, sink);
        }

        // --- save ------------------------------------------------------------------------------------
        if (!testBatches.empty()) {
            result.validationLoss = validationLoss(llama, testBatches, device);
            sink.step(state.step, {{"eval_loss", *result.validationLoss}});
        }
        result.finalCheckpoint = saveCheckpoint(true);
        result.steps = state.step;
        finishRun(ws, actor, runId, "finished");
        notify(o.notifyCmd, {{"event", "finished"}, {"run_dir", o.out}, {"step", state.step},
                             {"checkpoint", result.finalCheckpoint},
                             {"loss", result.losses.empty() ? ordered_json(nullptr) : ordered_json(result.losses.back())}},
               sink);
    } catch (const std::exception& e) {
        finishRun(ws, actor, runId, "failed");
        notify(o.notifyCmd, {{"event", "failed"}, {"run_dir", o.out}, {"step", state.step}, {"error", e.what()}}, sink);
        throw;
    }
    return result;
}

}  // namespace tsumugi::sft
