// Forward + backward time per step of the `small` config on the CPU (fp32): ours against the
// plain-torch reference (bench/reference/llama_train_step.py, the formulas of
// tests/golden/llama_ref.py) running the same config, batch and thread count in the same run.
// Goal: ours ≤ 1.0× the reference's time. Without /usr/bin/python3 + torch the reference is
// reported missing and the ratio is not given.
//   bench_train_step [BATCH=4] [SEQ=128] [STEPS=3]
#include "model/config.h"
#include "model/llama.h"

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <nlohmann/json.hpp>

#include "bench_common.h"

using namespace tsumugi;
using namespace tsumugi::bench;

namespace {

std::string runCapture(const std::string& command)
{
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return out;
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    if (::pclose(pipe) != 0) return {};
    return out;
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        const int64_t batch = sizeArg(argc, argv, 1, 4), seq = sizeArg(argc, argv, 2, 128),
                      steps = sizeArg(argc, argv, 3, 3);
        printMachine("bench_train_step");
        const int threads = at::get_num_threads();
        const model::LlamaConfig config = model::smallConfig();
        std::cout << "config: small, " << config.parameterCount() << " parameters; batch " << batch << " x " << seq
                  << " tokens, fp32, " << threads << " threads, " << steps << " timed steps after one warm-up\n";

        at::manual_seed(0);
        model::LlamaModel llama(config);
        llama->train();
        at::Tensor ids = at::randint(3, config.vocabSize, {batch, seq}, at::kLong);  // [B, T]
        at::Tensor pos = at::arange(seq, at::kLong).expand({batch, seq});           // [B, T]
        std::vector<double> ours;
        double firstLoss = 0;
        for (int64_t step = 0; step <= steps; ++step) {
            Stopwatch watch;
            at::Tensor logits = llama(ids, pos);  // [B, T, V]
            at::Tensor loss = at::cross_entropy_loss(logits.narrow(1, 0, seq - 1).reshape({-1, config.vocabSize}),
                                                     ids.narrow(1, 1, seq - 1).reshape({-1}));
            loss.backward();
            for (auto& p : llama->parameters()) p.mutable_grad() = at::Tensor();
            if (step == 0)
                firstLoss = loss.item<double>();
            else
                ours.push_back(watch.seconds());
        }

        TempDir dir("tsumugi-bench-train-step");
        model::saveConfig(config, dir.path().string());
        const std::string script = std::string(TSUMUGI_SOURCE_DIR) + "/bench/reference/llama_train_step.py";
        const std::string output = runCapture("/usr/bin/python3 " + script + " " + (dir.path() / "config.json").string() +
                                              " " + std::to_string(batch) + " " + std::to_string(seq) + " " +
                                              std::to_string(steps) + " " + std::to_string(threads) + " 2>&1");
        std::vector<double> reference;
        double referenceLoss = 0;
        if (!output.empty()) {
            const auto j = nlohmann::json::parse(output.substr(output.rfind('{')));
            reference = j["seconds"].get<std::vector<double>>();
            referenceLoss = j["loss"].get<double>();
        }

        const double tokens = double(batch * seq), oursMedian = percentile(ours, 50);
        std::cout << "forward + backward per step (median of " << steps << "):\n"
                  << "  ours        " << fixed(oursMedian * 1000, 1) << " ms  (" << fixed(tokens / oursMedian, 0)
                  << " tokens/s, first loss " << fixed(firstLoss, 3) << ")\n";
        ResultLine result("bench_train_step");
        result.add("batch", batch).add("seq", seq).add("threads", int64_t(threads)).add("ours_ms", oursMedian * 1000);
        if (reference.empty()) {
            std::cout << "  reference   unavailable (/usr/bin/python3 with torch is needed: scripts/install-deps.sh)\n";
        } else {
            const double refMedian = percentile(reference, 50), ratio = oursMedian / refMedian;
            std::cout << "  reference   " << fixed(refMedian * 1000, 1) << " ms  (" << fixed(tokens / refMedian, 0)
                      << " tokens/s, first loss " << fixed(referenceLoss, 3) << ")\n"
                      << "  ratio " << fixed(ratio) << "x of the reference's time\n"
                      << "  goal <= 1.0x: " << verdict(ratio <= 1.0) << "\n";
            result.add("ref_ms", refMedian * 1000).add("ratio", ratio);
        }
        result.print();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "bench_train_step: " << e.what() << "\n";
        return 1;
    }
}
