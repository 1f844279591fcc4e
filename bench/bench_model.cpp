// The model core on CPU, the `small` config (~22M parameters, random weights):
//   generation tokens/s with the KV cache against recomputing the whole sequence each step
//   (goal ≥ 2×), 8 prompts batched against one at a time (identical greedy outputs), and
//   loading a sharded checkpoint against reading the same bytes with `cat` (goal ≤ 1.5×).
//   bench_model [NEW_TOKENS=64]
#include "model/config.h"
#include "model/generate.h"
#include "model/llama.h"
#include "model/safetensors.h"

#include "bench_common.h"

using namespace tsumugi;
using namespace tsumugi::bench;

int main(int argc, char** argv)
{
    try {
        const int64_t newTokens = sizeArg(argc, argv, 1, 64);
        printMachine("bench_model");
        at::manual_seed(0);
        at::NoGradGuard noGrad;
        const model::LlamaConfig config = model::smallConfig();
        model::LlamaModel llama(config);
        llama->eval();
        std::cout << "config: small, " << config.parameterCount() << " parameters, vocabulary " << config.vocabSize
                  << "\n";

        // Prompts of 16–30 tokens, never EOS (so every run generates the full length).
        std::vector<std::vector<int64_t>> prompts;
        std::mt19937_64 rng(1);
        for (int i = 0; i < 8; ++i) {
            std::vector<int64_t> p(16 + size_t(rng() % 15));
            for (auto& id : p) id = 3 + int64_t(rng() % uint64_t(config.vocabSize - 3));
            prompts.push_back(p);
        }
        model::GenerationOptions options;
        options.maxNewTokens = newTokens;
        options.eosIds = std::vector<int64_t>{};

        // With and without the cache, one prompt.
        Stopwatch cached;
        const auto withCache = model::generate(llama, {prompts[0]}, options);
        const double cachedSeconds = cached.seconds();
        options.useCache = false;
        Stopwatch recompute;
        const auto withoutCache = model::generate(llama, {prompts[0]}, options);
        const double recomputeSeconds = recompute.seconds();
        options.useCache = true;
        const bool same = withCache == withoutCache;
        const double cacheRatio = recomputeSeconds / cachedSeconds;

        // 8 prompts batched against one at a time.
        Stopwatch batched;
        const auto batch = model::generate(llama, prompts, options);
        const double batchedSeconds = batched.seconds();
        Stopwatch single;
        bool identical = true;
        for (size_t i = 0; i < prompts.size(); ++i) identical = identical && model::generate(llama, {prompts[i]}, options)[0] == batch[i];
        const double singleSeconds = single.seconds();
        const double batchRatio = singleSeconds / batchedSeconds;

        // Sharded checkpoint load against `cat` of the same files.
        TempDir dir("tsumugi-bench-model");
        model::NamedTensors tensors;
        for (auto& item : llama->named_parameters(true)) tensors.emplace_back(item.key(), item.value());
        model::ShardOptions shards;
        shards.maxShardBytes = 16 << 20;
        const auto files = model::writeSafetensorsCheckpoint(dir.path().string(), tensors, shards);
        std::string cat = "cat";
        for (const auto& f : files) cat += " " + (dir.path() / f).string();
        std::system(("sync; " + cat + " > /dev/null").c_str());  // warm the page cache for both
        Stopwatch reading;
        if (std::system((cat + " > /dev/null").c_str()) != 0) throw std::runtime_error("cat failed");
        const double catSeconds = reading.seconds();
        Stopwatch loading;
        model::LlamaModel loaded(config, at::kFloat, at::kCPU, model::WeightInit::Empty);
        const double constructSeconds = loading.seconds();
        loaded->loadWeights(model::SafetensorsCheckpoint::open(dir.path().string()));
        const double mappedSeconds = loading.seconds();
        // The load maps the files; reading every weight once (a sum) makes it read the same bytes
        // cat reads, so the ratio compares like with like.
        double checksum = 0;
        for (const auto& p : loaded->parameters()) checksum += p.sum().item<double>();
        const double loadSeconds = loading.seconds();
        const double loadRatio = loadSeconds / catSeconds;
        double expected = 0;
        for (const auto& p : llama->parameters()) expected += p.sum().item<double>();
        if (checksum != expected) throw std::runtime_error("the loaded weights differ from the saved ones");

        const double tokens = double(newTokens);
        std::cout << "generation, 1 prompt, " << newTokens << " new tokens:\n"
                  << "  with KV cache     " << fixed(tokens / cachedSeconds, 1) << " tokens/s\n"
                  << "  recomputing       " << fixed(tokens / recomputeSeconds, 1) << " tokens/s\n"
                  << "  ratio " << fixed(cacheRatio) << "x, same tokens: " << (same ? "yes" : "NO") << "\n"
                  << "  goal >= 2x: " << verdict(cacheRatio >= 2 && same) << "\n"
                  << "8 prompts: batched " << fixed(8 * tokens / batchedSeconds, 1) << " tokens/s, one at a time "
                  << fixed(8 * tokens / singleSeconds, 1) << " tokens/s, ratio " << fixed(batchRatio)
                  << "x, identical greedy outputs: " << (identical ? "yes" : "NO") << "\n"
                  << "  goal >= 2x: " << verdict(batchRatio >= 2 && identical) << "\n"
                  << "sharded load (" << files.size() - (files.size() > 1 ? 1 : 0) << " shards): "
                  << fixed(loadSeconds * 1000, 1) << " ms, cat " << fixed(catSeconds * 1000, 1) << " ms, ratio "
                  << fixed(loadRatio) << "x (construct " << fixed(constructSeconds * 1000, 1) << " ms, map "
                  << fixed((mappedSeconds - constructSeconds) * 1000, 1) << " ms, read every weight once "
                  << fixed((loadSeconds - mappedSeconds) * 1000, 1) << " ms)\n"
                  << "  goal <= 1.5x: " << verdict(loadRatio <= 1.5) << "\n";
        ResultLine("bench_model")
            .add("new_tokens", newTokens)
            .add("cache_tok_s", tokens / cachedSeconds)
            .add("recompute_tok_s", tokens / recomputeSeconds)
            .add("cache_ratio", cacheRatio)
            .add("batch_ratio", batchRatio)
            .add("identical", identical && same ? "yes" : "no")
            .add("load_ms", loadSeconds * 1000)
            .add("construct_ms", constructSeconds * 1000)
            .add("map_ms", (mappedSeconds - constructSeconds) * 1000)
            .add("cat_ms", catSeconds * 1000)
            .add("load_ratio", loadRatio)
            .print();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "bench_model: " << e.what() << "\n";
        return 1;
    }
}
