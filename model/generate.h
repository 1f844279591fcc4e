// Text generation with a Llama decoder: batched prompts with left padding, one prefill and then
// one token per step over a KV cache (or the full sequence recomputed each step, useCache =
// false, for equivalence tests and benchmarks); greedy or sampled (temperature, top-k, top-p,
// repetition penalty as transformers), seeded; rows stop at EOS or when the callback says so.
//
// Legend: B = batch (prompts), L = longest prompt, S = tokens so far (prompt + generated),
// V = vocab.
#pragma once

#include <ATen/ATen.h>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "model/llama.h"

namespace tsumugi::model {

struct GenerationOptions {
    int64_t maxNewTokens = 64;
    double temperature = 0.0;        // 0: greedy (argmax after the repetition penalty)
    int64_t topK = 0;                // 0: off
    double topP = 1.0;               // 1: off
    double repetitionPenalty = 1.0;  // 1: off; > 1 discourages tokens already in the row
    uint64_t seed = 0;
    // Stop ids; nullopt: the config's eos_token_id(s); an empty list: never stop on a token.
    std::optional<std::vector<int64_t>> eosIds;
    bool useCache = true;
};

// Called with each generated token except EOS; returning false stops that row (the token is
// kept). Stop strings are the caller's: decode, look, return false.
using TokenCallback = std::function<bool(size_t row, int64_t id)>;

// Optional record of a run: the raw logits (before penalty and sampling) of every step, [B, V]
// fp32 on the CPU; rows already stopped hold whatever their padding produced.
struct GenerationTrace {
    std::vector<at::Tensor> stepLogits;
};

// prompts: token ids, each non-empty. → the generated ids of each row (EOS included when hit).
// Throws tsumugi::Error on an empty prompt or an id outside the vocabulary.
std::vector<std::vector<int64_t>> generate(LlamaModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerationOptions& options, const TokenCallback& onToken = {},
                                           GenerationTrace* trace = nullptr);

// The next-token choice for logits [B, V] fp32 on the CPU; seen[b]: ids the repetition penalty
// applies to. → [B] int64.
at::Tensor chooseNextTokens(const at::Tensor& logits, const std::vector<std::vector<int64_t>>& seen,
                            const GenerationOptions& options, at::Generator& generator);

}  // namespace tsumugi::model
