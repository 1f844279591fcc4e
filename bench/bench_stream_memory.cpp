// bench_stream_memory [SMALL_MB=10] [BIG_MB=200]      (the figure: bench_stream_memory 10 1024)
//
// Import and export stream: peak memory must not grow with the file. For a SMALL_MB and a
// BIG_MB generated `messages` file, the `tsumugi` command is run as a child process for each
// step — import (messages), snapshot, export as messages and as sharegpt — and two peaks of
// each child are printed side by side, with the ratio big/small:
//   peak RSS (wait4's ru_maxrss): includes the workspace file's pages that SQLite maps
//     (mmap_size, 256 MiB) — file-backed, shared with the page cache, given back under pressure;
//   peak anonymous RSS (RssAnon of /proc/PID/status, sampled every 5 ms): the memory the
//     process itself holds — SQLite's page cache (64 MiB at most), parser batches, buffers.
//   reference: the same steps on the small file; the goal is an anonymous-peak ratio ≤ 1.5
//   for import and export once the small file fills SQLite's caches (use SMALL_MB ≥ 100
//   for that; with 10 MB the caches themselves are still growing).
// Under ctest the big file is 200 MB (the 2-core CI machine); TSUMUGI_BENCH_BIG_MB or the
// second argument sets it (1024 for the 1 GB figure).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <map>

#include "bench/bench_common.h"

namespace {

using namespace tsumugi::bench;

struct Step {
    std::string name;
    double seconds = 0;
    int64_t peakKiB = 0;
    int64_t peakAnonKiB = 0;
};

int64_t rssAnonKiB(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("RssAnon:", 0) == 0) return std::stoll(line.substr(8));
    return 0;
}

// Runs the CLI with args; returns its wall time and peak RSS. Throws when it fails.
Step runCli(const std::string& name, const std::vector<std::string>& args)
{
    std::vector<char*> argv;
    std::string cli = TSUMUGI_CLI_PATH;
    argv.push_back(cli.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::cout.flush();  // or the child's copy of the buffer is written a second time
    std::fflush(stdout);
    Stopwatch clock;
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        if (!std::getenv("TSUMUGI_BENCH_VERBOSE")) {
            std::FILE* quiet = std::freopen("/dev/null", "w", stdout);
            (void)quiet;
        }
        ::execv(argv[0], argv.data());
        std::_Exit(127);
    }
    int status = 0;
    rusage usage{};
    int64_t anon = 0;
    while (true) {
        const pid_t done = ::wait4(pid, &status, WNOHANG, &usage);
        if (done == pid) break;
        if (done < 0) throw std::runtime_error("wait4 failed");
        anon = std::max(anon, rssAnonKiB(pid));
        ::usleep(5000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(name + ": tsumugi exited with status " + std::to_string(WEXITSTATUS(status)));
    return {name, clock.seconds(), static_cast<int64_t>(usage.ru_maxrss), anon};
}

std::map<std::string, Step> measure(const TempDir& dir, int64_t megabytes)
{
    const std::string tag = std::to_string(megabytes) + "mb";
    const auto jsonl = dir / (tag + ".jsonl");
    // About 900 bytes a record (a 40–160 and an 80–300 character turn, 3 bytes a character).
    const int64_t records = std::max<int64_t>(1, megabytes * (1 << 20) / 900);
    generateMessagesJsonl(jsonl, records, 7);
    const double realMB = double(std::filesystem::file_size(jsonl)) / (1 << 20);
    const std::string ws = (dir / (tag + ".tsumugi")).string();
    std::map<std::string, Step> steps;
    runCli("init", {"init", ws, "--admin", "admin"});
    steps["import"] = runCli("import", {"import", ws, jsonl.string(), "--source", "bench", "--licence", "CC0-1.0",
                                        "--redistributable"});
    std::filesystem::remove(jsonl);
    steps["snapshot"] = runCli("snapshot", {"snapshot", "create", ws, "s"});
    for (const char* format : {"messages", "sharegpt"}) {
        const std::string out = (dir / (tag + "-" + format)).string();
        steps[std::string("export ") + format] =
            runCli(format, {"export", ws, out, "--snapshot", "s", "--format", format});
        std::filesystem::remove_all(out);
    }
    std::cout << tag << ": " << records << " records, " << fixed(realMB, 1) << " MiB of JSONL\n";
    for (const char* f : {"", "-wal", "-shm"}) std::filesystem::remove(ws + f);
    return steps;
}

}  // namespace

int main(int argc, char** argv)
try {
    const int64_t small = sizeArg(argc, argv, 1, 10);
    int64_t big = 200;
    if (const char* env = std::getenv("TSUMUGI_BENCH_BIG_MB")) big = std::stoll(env);
    big = sizeArg(argc, argv, 2, big);
    printMachine("bench_stream_memory");
    TempDir dir("tsumugi-bench-stream");
    const auto a = measure(dir, small);
    const auto b = measure(dir, big);
    std::cout << "step              " << small << " MB: s / peak / anon MiB    " << big
              << " MB: s / peak / anon MiB    ratio peak / anon\n";
    bool pass = true;
    ResultLine result("bench_stream_memory");
    result.add("small_mb", small).add("big_mb", big);
    for (const char* step : {"import", "snapshot", "export messages", "export sharegpt"}) {
        const Step& x = a.at(step);
        const Step& y = b.at(step);
        const double ratio = double(y.peakKiB) / double(std::max<int64_t>(1, x.peakKiB));
        const double anonRatio = double(y.peakAnonKiB) / double(std::max<int64_t>(1, x.peakAnonKiB));
        const bool isSnapshot = std::string(step) == "snapshot";
        pass = pass && (isSnapshot || anonRatio <= 1.5);
        std::string label = step;
        label.resize(18, ' ');
        std::cout << label << fixed(x.seconds, 2) << " / " << fixed(x.peakKiB / 1024.0, 1) << " / "
                  << fixed(x.peakAnonKiB / 1024.0, 1) << "          " << fixed(y.seconds, 2) << " / "
                  << fixed(y.peakKiB / 1024.0, 1) << " / " << fixed(y.peakAnonKiB / 1024.0, 1) << "          "
                  << fixed(ratio) << "x / " << fixed(anonRatio) << "x"
                  << (isSnapshot ? "  (not a stream: making a snapshot holds its item list)" : "") << "\n";
        std::string key = step;
        for (char& c : key)
            if (c == ' ') c = '_';
        result.add(key + "_peak_mib_small", x.peakKiB / 1024.0, 1)
            .add(key + "_peak_mib_big", y.peakKiB / 1024.0, 1)
            .add(key + "_anon_mib_small", x.peakAnonKiB / 1024.0, 1)
            .add(key + "_anon_mib_big", y.peakAnonKiB / 1024.0, 1);
    }
    std::cout << "goal: import and export peak anonymous RSS ratio <= 1.5 (constant memory): " << verdict(pass) << "\n";
    result.add("pass", std::string(verdict(pass))).print();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_stream_memory: " << e.what() << "\n";
    return 1;
}
