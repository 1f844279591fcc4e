// Legend: B = batch (prompts), L = longest prompt, S = tokens so far, V = vocab.
#include "model/generate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <algorithm>
#include <limits>
#include <string>

#include <torch/utils.h>

#include "core/error.h"

namespace tsumugi::model {

namespace {

// transformers' position ids for left padding: cumsum(mask) - 1, pads set to 1.
at::Tensor positionsFromMask(const at::Tensor& attentionMask)  // [B, S] → [B, S]
{
    at::Tensor pos = attentionMask.cumsum(1) - 1;
    return pos.masked_fill(attentionMask == 0, 1);
}

}  // namespace

at::Tensor chooseNextTokens(const at::Tensor& logits, const std::vector<std::vector<int64_t>>& seen,
                            const GenerationOptions& options, at::Generator& generator)
{
    at::Tensor scores = logits.clone();  // [B, V]
    const int64_t vocab = scores.size(1);
    if (options.repetitionPenalty != 1.0) {
        // transformers' RepetitionPenaltyLogitsProcessor: divide positive, multiply negative.
        for (size_t b = 0; b < seen.size(); ++b) {
            if (seen[b].empty()) continue;
            at::Tensor ids = at::tensor(seen[b], at::kLong);  // [N]
            at::Tensor row = scores[int64_t(b)];              // [V]
            at::Tensor s = row.index_select(0, ids);          // [N]
            s = at::where(s < 0, s * options.repetitionPenalty, s / options.repetitionPenalty);
            row.index_copy_(0, ids, s);
        }
    }
    if (options.temperature <= 0.0) return scores.argmax(-1);  // [B]

    const float negInf = -std::numeric_limits<float>::infinity();
    scores = scores / options.temperature;
    if (options.topK > 0 && options.topK < vocab) {
        at::Tensor kth = std::get<0>(scores.topk(options.topK, -1)).narrow(-1, options.topK - 1, 1);  // [B, 1]
        scores = scores.masked_fill(scores < kth, negInf);
    }
    if (options.topP < 1.0) {
        // transformers' TopPLogitsWarper: drop the low tail whose mass is <= 1 - top_p, keep >= 1.
        auto [sorted, order] = scores.sort(-1, /*descending=*/false);  // [B, V]
        at::Tensor cum = sorted.softmax(-1).cumsum(-1);                // [B, V]
        at::Tensor drop = cum <= (1.0 - options.topP);                 // [B, V]
        drop.narrow(-1, vocab - 1, 1).fill_(false);
        at::Tensor dropOrig = at::zeros_like(drop).scatter(-1, order, drop);  // [B, V]
        scores = scores.masked_fill(dropOrig, negInf);
    }
    at::Tensor probs = scores.softmax(-1);                                           // [B, V]
    return at::multinomial(probs, 1, /*replacement=*/false, generator).squeeze(-1);  // [B]
}

std::vector<std::vector<int64_t>> generate(LlamaModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerationOptions& options, const TokenCallback& onToken,
                                           GenerationTrace* trace)
{
    torch::NoGradGuard noGrad;
    const LlamaConfig& config = model->config();
    const int64_t b = int64_t(prompts.size());
    std::vector<std::vector<int64_t>> out(prompts.size());
    if (b == 0 || options.maxNewTokens <= 0) return out;

    int64_t longest = 0;
    for (size_t r = 0; r < prompts.size(); ++r) {
        if (prompts[r].empty()) throw Error("generate: prompt " + std::to_string(r) + " is empty");
        for (int64_t id : prompts[r])
            if (id < 0 || id >= config.vocabSize)
                throw Error("generate: prompt " + std::to_string(r) + " has token id " + std::to_string(id) +
                            " outside the vocabulary of " + std::to_string(config.vocabSize));
        longest = std::max(longest, int64_t(prompts[r].size()));
    }
    const int64_t padId = config.padTokenId.value_or(0);
    const std::vector<int64_t> eos = options.eosIds ? *options.eosIds : config.eosTokenIds;

    // Left-padded prompts: ids, attentionMask [B, L].
    at::Tensor ids = at::full({b, longest}, padId, at::kLong);
    at::Tensor attention = at::zeros({b, longest}, at::kLong);
    for (int64_t r = 0; r < b; ++r) {
        const auto& p = prompts[size_t(r)];
        const int64_t n = int64_t(p.size());
        ids[r].narrow(0, longest - n, n).copy_(at::tensor(p, at::kLong));
        attention[r].narrow(0, longest - n, n).fill_(1);
    }

    std::vector<std::vector<int64_t>> seen = prompts;
    std::vector<bool> done(prompts.size(), false);
    size_t running = prompts.size();
    at::Generator generator = at::detail::createCPUGenerator(options.seed);
    KVCache cache;

    at::Tensor stepIds = ids;  // [B, T]: the prompt first, then one token per step with the cache
    for (int64_t step = 0; step < options.maxNewTokens && running > 0; ++step) {
        at::Tensor logits;  // [B, V]
        if (options.useCache) {
            at::Tensor pos = positionsFromMask(attention).narrow(1, attention.size(1) - stepIds.size(1),
                                                                 stepIds.size(1));  // [B, T]
            at::Tensor mask = causalMaskWithPast(attention, stepIds.size(1));       // [B, 1, T, S]
            logits = model->forward(stepIds, pos, mask, &cache).select(1, -1);
        } else {
            at::Tensor mask = causalMaskWithPast(attention, attention.size(1));  // [B, 1, S, S]
            logits = model->forward(ids, positionsFromMask(attention), mask).select(1, -1);
        }
        logits = logits.to(at::kCPU).contiguous();  // [B, V]
        if (trace) trace->stepLogits.push_back(logits);

        at::Tensor next = chooseNextTokens(logits, seen, options, generator);  // [B]
        for (int64_t r = 0; r < b; ++r) {
            if (done[size_t(r)]) {
                next[r] = padId;  // a stopped row keeps running as padding; its output is ignored
                continue;
            }
            const int64_t id = next[r].item<int64_t>();
            out[size_t(r)].push_back(id);
            seen[size_t(r)].push_back(id);
            bool stop = std::find(eos.begin(), eos.end(), id) != eos.end();
            if (!stop && onToken && !onToken(size_t(r), id)) stop = true;
            if (stop) {
                done[size_t(r)] = true;
                --running;
            }
        }
        stepIds = next.unsqueeze(1);                                       // [B, 1]
        ids = at::cat({ids, stepIds}, 1);                                  // [B, S]
        attention = at::cat({attention, at::ones({b, 1}, at::kLong)}, 1);  // [B, S]
    }
    return out;
}

}  // namespace tsumugi::model
