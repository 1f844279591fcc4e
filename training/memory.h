// The memory a training step needs, estimated before training starts so a run that cannot fit
// stops at once with the figures and what to change, instead of dying at step 1 (or at the
// first long batch).
//
// weights: every parameter in the model's dtype; gradients: the trainable ones in their dtype;
// optimizer: AdamW's two fp32 moments per trainable parameter, plus an fp32 master copy when
// the model is not fp32; activations per layer and token ≈ (34·H + 5·Nq·T) × bytes / 2 after
// Korthikanti et al. (2022) for 16-bit values (scaled for fp32; our attention keeps its fp32
// scores, 4·Nq·T bytes more), and with checkpointing one layer's worth plus each layer's input;
// logits: B·T·V fp32 three times (logits, log-softmax, gradient).
#pragma once

#include <ATen/ATen.h>
#include <cstdint>
#include <string>

#include "model/config.h"

namespace tsumugi::training {

struct MemoryEstimate {
    int64_t weights = 0, gradients = 0, optimizer = 0, activations = 0, logits = 0;
    int64_t total() const { return weights + gradients + optimizer + activations + logits; }
    std::string describe() const;  // "weights 84 MiB, gradients …, total …"
};

MemoryEstimate estimateTrainingMemory(const model::LlamaConfig& config, at::ScalarType dtype,
                                      int64_t trainableParameters, int64_t batch, int64_t seqLen,
                                      bool activationCheckpointing);

// Bytes the device can still give: MemAvailable on the CPU; free memory on a CUDA device
// (0 when unknown, i.e. LibTorch without CUDA).
int64_t availableMemory(const at::Device& device);

std::string humanBytes(int64_t bytes);

}  // namespace tsumugi::training
