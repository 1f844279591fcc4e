// Checkpoints of a training run: RUN_DIR/checkpoint-<step>/ holds the model in Hugging Face
// layout (safetensors, config.json, the tokenizer files with the training chat_template written
// in, generation_config.json) or a LoRA adapter in peft's layout, plus the trainer state
// (trainer_state.json: magic + version, step, data position, LR scale, guard state;
// optimizer.safetensors: AdamW moments, fp32 masters and the random-number state). Everything is
// written into a hidden temporary directory beside it and renamed into place when complete, so a
// killed process or a full disk leaves the previous checkpoint whole and loadable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/llama.h"
#include "tokenizer/chat.h"
#include "training/optimizer.h"

namespace tsumugi::training {

constexpr const char* kTrainerStateName = "trainer_state.json";
constexpr const char* kOptimizerStateName = "optimizer.safetensors";
constexpr const char* kTrainerStateMagic = "tsumugi-trainer-state";
constexpr int kTrainerStateVersion = 1;

struct TrainerState {
    int64_t step = 0;          // optimizer updates done
    int64_t epoch = 0;         // data position: the next batch to train on is
    int64_t batchInEpoch = 0;  //   batch `batchInEpoch` of epoch `epoch`
    int64_t tokensSeen = 0;    // loss tokens trained on
    double lrScale = 1.0;      // lowered by spike rollbacks
    std::vector<int64_t> skipBatches;  // global batch numbers (epoch * batchesPerEpoch + i) never to train on again
    nlohmann::json guard = nlohmann::json::object();
    nlohmann::json extra = nlohmann::json::object();  // the recipe's own (config echo, best loss …)
};

// The model in Hugging Face layout into `directory` (created): weights (sharded above
// maxShardBytes), config.json, generation_config.json, the tokenizer files of tokenizerDir, and
// the chat template written into tokenizer_config.json.
void saveHfModel(model::LlamaModelImpl& model, const std::string& directory, const std::string& tokenizerDir,
                 const tok::ChatTemplate* chatTemplate, uint64_t maxShardBytes = 5'000'000'000);
// Copies tokenizer.json, tokenizer.model, tokenizer_config.json, special_tokens_map.json and
// generation_config.json from `from` into `to` when present (nothing when they are one directory).
void copyTokenizerFiles(const std::string& from, const std::string& to);

// trainer_state.json + optimizer.safetensors (with the CPU generator state, and the device's).
void saveTrainerState(const std::string& directory, const TrainerState& state, const AdamW& optimizer,
                      const at::Device& device);
// Reads both back into `optimizer` and the generators; throws tsumugi::Error naming the file for
// a missing file, a wrong magic, a version from the future or a state of another model.
TrainerState loadTrainerState(const std::string& directory, AdamW& optimizer, const at::Device& device);

std::string checkpointName(int64_t step);  // "checkpoint-<step>"
// A fresh temporary directory inside runDir for the checkpoint of `step`.
std::string beginCheckpoint(const std::string& runDir, int64_t step);
// Renames the temporary directory to runDir/checkpoint-<step> (replacing one of that step) and
// removes the oldest complete checkpoints beyond keepLast (0: keep all). → the final path.
std::string commitCheckpoint(const std::string& runDir, const std::string& tempDir, int64_t step, int keepLast);
// Complete checkpoints in runDir, oldest first; temporaries are ignored.
std::vector<std::pair<int64_t, std::string>> listCheckpoints(const std::string& runDir);
std::optional<std::string> latestCheckpoint(const std::string& runDir);

}  // namespace tsumugi::training
