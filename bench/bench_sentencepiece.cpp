// SentencePiece encode throughput through our shim (dlopen'd C interface) against Debian's
// `spm_encode` on the same Japanese text and model, one core each.
//   bench_sentencepiece [MEGABYTES=20]
// The text is generated Japanese (bench_common.h), one document per line; the model is the
// golden fixture tests/fixtures/sp-ja.model (unigram, 3000 pieces, byte fallback).
#include "bench_common.h"
#include "tokenizer/tokenizer.h"

using namespace tsumugi;
using namespace tsumugi::bench;

int main(int argc, char** argv)
{
    try {
        const int64_t megabytes = sizeArg(argc, argv, 1, 20);
        printMachine("bench_sentencepiece");
        const std::string model = std::string(TSUMUGI_FIXTURES_DIR) + "/sp-ja.model";
        TempDir dir("tsumugi-bench-sp");
        const auto corpus = dir / "corpus.txt";
        std::vector<std::string> lines;
        uint64_t bytes = 0;
        {
            JapaneseText text(20261124);
            std::ofstream out(corpus);
            while (bytes < uint64_t(megabytes) << 20) {
                lines.push_back(text.next(80, 300));
                out << lines.back() << '\n';
                bytes += lines.back().size() + 1;
            }
        }
        std::cout << "corpus: " << lines.size() << " lines, " << fixed(bytes / 1048576.0, 1) << " MiB\n";

        // Reference: spm_encode reads the file and writes ids (its process start and model
        // load are included; both are milliseconds).
        Stopwatch reference;
        const std::string command = "spm_encode --model=" + model + " --output_format=id < " + corpus.string() +
                                    " > " + (dir / "ids.txt").string();
        if (std::system(command.c_str()) != 0) throw std::runtime_error("spm_encode failed: " + command);
        const double refSeconds = reference.seconds();

        const auto sp = tok::loadSentencePieceModel(model);
        Stopwatch ours;
        uint64_t tokens = 0;
        for (const std::string& line : lines) tokens += sp->encode(line).ids.size();
        const double ourSeconds = ours.seconds();

        const double refRate = bytes / 1e6 / refSeconds, ourRate = bytes / 1e6 / ourSeconds;
        const double ratio = ourRate / refRate;
        std::cout << "                 seconds   MB/s\n"
                  << "spm_encode       " << fixed(refSeconds, 3) << "   " << fixed(refRate, 2) << "\n"
                  << "ours (shim)      " << fixed(ourSeconds, 3) << "   " << fixed(ourRate, 2) << "\n"
                  << "tokens: " << tokens << "\n"
                  << "ratio " << fixed(ratio) << "x\n"
                  << "goal: >= 0.90x spm_encode: " << verdict(ratio >= 0.9) << "\n";
        ResultLine("bench_sentencepiece")
            .add("megabytes", fixed(bytes / 1048576.0, 1))
            .add("spm_mb_s", refRate)
            .add("ours_mb_s", ourRate)
            .add("ratio", ratio)
            .add("pass", verdict(ratio >= 0.9))
            .print();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "bench_sentencepiece: " << e.what() << "\n";
        return 1;
    }
}
