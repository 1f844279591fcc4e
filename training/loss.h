// The causal language-model loss: cross-entropy of each position's logits against its label,
// labels already shifted (label[t] is the token at t + 1, or -100 where it does not count: the
// prompt, padding, and the last token of each packed document). Summed here and divided by
// the loss tokens of the whole optimizer step by the caller, so gradient accumulation weighs
// every token alike (the mean of per-micro-batch means would weigh short batches up).
#pragma once

#include <ATen/ATen.h>

namespace tsumugi::training {

constexpr int64_t kIgnoreIndex = -100;

// logits [B, T, V] fp32, labels [B, T] int64 → the summed loss (scalar, fp32).
at::Tensor causalLmLossSum(const at::Tensor& logits, const at::Tensor& labels);
// Positions that count: labels != -100.
int64_t lossTokens(const at::Tensor& labels);

}  // namespace tsumugi::training
