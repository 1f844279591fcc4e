// `tsumugi sft`: supervised fine-tuning on a workspace snapshot, full or LoRA. The recipe
// (recipe.cpp) reads top to bottom: setup → plan → train → save; what other trainers share lives
// in training/.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/lora.h"
#include "sft/data.h"
#include "training/guard.h"
#include "training/metrics.h"
#include "training/optimizer.h"

namespace tsumugi {
class Workspace;
struct Account;
}  // namespace tsumugi

namespace tsumugi::sft {

struct SftOptions {
    std::string snapshot;
    std::string base;  // a Hugging Face model directory (config.json, safetensors, tokenizer)
    std::string out;   // the run directory
    std::string templateName;  // empty: the base model's own chat_template

    int64_t seqLen = 0;  // 0: min(2048, max_position_embeddings)
    int64_t batchSize = 4;
    int64_t gradAccum = 1;
    int64_t epochs = 1;
    int64_t maxSteps = 0;  // > 0: stop after this many optimizer steps
    double lr = 2e-5;
    double minLrRatio = 0.0;
    int64_t warmupSteps = 0;
    training::Schedule schedule = training::Schedule::Cosine;
    double weightDecay = 0.0;
    double maxGradNorm = 1.0;
    uint64_t seed = 42;

    bool pack = true;
    PathSelection paths = PathSelection::Consensus;
    Overlong overlong = Overlong::Drop;
    bool allTokens = false;

    std::optional<model::LoraConfig> lora;
    bool saveMerged = false;  // LoRA: also write the merged model into the final checkpoint

    int64_t saveEvery = 0;  // steps; 0: at the end only
    int keepLast = 2;
    int64_t evalEvery = 0;  // steps; 0: at the end only (when there is a test split)
    bool resume = false;
    bool activationCheckpointing = false;
    std::string device = "cpu";
    std::string dtype;  // empty: bfloat16 on CUDA, float32 on the CPU
    training::GuardOptions guard;
    std::string notifyCmd;  // run with a JSON payload on stdin on failure, rollback and completion
    bool dryRun = false;    // print the plan and stop

    // Fault injection for tests: may change the loss of an optimizer step (e.g. to NaN) before the
    // guard sees it.
    std::function<void(int64_t step, double& loss)> lossHook;
};

struct SftResult {
    int64_t steps = 0;
    int64_t runId = 0;
    std::vector<double> losses;  // the loss of each accepted step, in order
    std::optional<double> validationLoss;
    std::string finalCheckpoint;
    int64_t skippedSteps = 0;
    int64_t rollbacks = 0;
};

// Throws tsumugi::Error before training for a bad configuration (unknown template, LoRA target,
// sequence length above the model's limit, empty snapshot, a run that cannot fit in memory).
SftResult runSft(Workspace& ws, const Account& actor, const SftOptions& options, training::MetricsOptions output);

// "r=16,alpha=32,dropout=0.05,targets=q,k,v,o,gate,up,down" (short target names or peft's).
model::LoraConfig parseLoraSpec(const std::string& spec);

}  // namespace tsumugi::sft
