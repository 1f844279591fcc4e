// Activation checkpointing: each decoder layer's activations are dropped after the forward pass
// and recomputed during the backward pass, so a step holds one layer's activations instead of
// all of them (at the cost of one more forward). LibTorch has no C++ helper for it; this is a
// custom autograd function per layer, with the random-number state of the forward restored for
// the recomputation (LoRA dropout draws the same masks twice).
#pragma once

#include "model/llama.h"

namespace tsumugi::training {

// Sets model->layerRunner; disable() clears it.
void enableActivationCheckpointing(model::LlamaModelImpl& model);
void disableActivationCheckpointing(model::LlamaModelImpl& model);

}  // namespace tsumugi::training
