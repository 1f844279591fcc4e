// bench_export [RECORDS=200000]
//
// A workspace of RECORDS imported `messages` records, a snapshot of everything (split
// train=1), then:
//   ours:      exportSnapshot in the `messages` format;
//   reference: the sqlite3 shell, `sqlite3 -json FILE "SELECT role, text FROM messages
//              ORDER BY tree_id, id" > file` (the same rows and text, as JSON, no snapshot).
// Each is run twice, alternating, and the faster run counts. Goal: ours >= 0.8x the
// reference's rows/s (no slower than 1.25x its time). The other formats of export/ are then
// timed on the same snapshot (sharegpt, alpaca, text with the llm-jp template), each beside
// the same reference. `bench_export 500000` is the 1M-message figure (ctest runs 200000).
#include <iostream>

#include "bench/bench_common.h"
#include "datastore/accounts.h"
#include "datastore/snapshots.h"
#include "datastore/workspace.h"
#include "export/exporter.h"
#include "export/importer.h"

namespace {

using namespace tsumugi;
using namespace tsumugi::bench;

int64_t countLines(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    int64_t lines = 0;
    std::string line;
    while (std::getline(in, line)) ++lines;
    return lines;
}

std::string shellQuote(const std::string& s)
{
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

int main(int argc, char** argv)
try {
    const int64_t records = sizeArg(argc, argv, 1, 200000);
    const int64_t messages = 2 * records;
    printMachine("bench_export");
    if (std::system("sqlite3 -version > /dev/null 2>&1") != 0)
        throw std::runtime_error("the sqlite3 shell is missing (the reference); install it: apt-get install sqlite3");
    TempDir dir("tsumugi-bench-export");

    // Setup: import, snapshot, and a checkpoint so both sides read the main file, not the WAL.
    const auto jsonl = dir / "records.jsonl";
    writeMessagesJsonl(jsonl, generateConversations(records, 2));
    const auto wsPath = dir / "export.tsumugi";
    Workspace ws(wsPath.string(), WorkspaceOptions{.create = true});
    const Account admin = bootstrapAccounts(ws, "admin", std::nullopt);
    const Account service = *findAccount(ws, kServiceAccountName);
    Stopwatch importClock;
    ImportOptions importOptions;
    importOptions.sourceName = "bench";
    importOptions.licence = "CC0-1.0";
    importOptions.redistributable = true;
    importFile(ws, service, jsonl.string(), importOptions);
    std::filesystem::remove(jsonl);
    std::cout << "imported " << records << " records in " << fixed(importClock.seconds(), 1) << " s\n";
    Stopwatch snapshotClock;
    createSnapshot(ws, admin, "bench", SnapshotFilter{}, parseSplitSpec("train=1"));
    std::cout << "snapshot of " << messages << " messages in " << fixed(snapshotClock.seconds(), 1) << " s\n";
    ws.db().exec("PRAGMA wal_checkpoint(TRUNCATE)");

    const auto refOut = dir / "reference.json";
    const std::string refCommand = "sqlite3 -json " + shellQuote(wsPath.string()) +
                                   " \"SELECT role, text FROM messages ORDER BY tree_id, id\" > " +
                                   shellQuote(refOut.string());
    ExportOptions options;
    options.format = Format::Messages;
    options.snapshot = "bench";
    options.outDir = (dir / "out").string();

    double refSeconds = 1e300, ourSeconds = 1e300;
    ExportReport report;
    for (int round = 0; round < 2; ++round) {
        Stopwatch refClock;
        if (std::system(refCommand.c_str()) != 0) throw std::runtime_error("the reference failed: " + refCommand);
        refSeconds = std::min(refSeconds, refClock.seconds());

        std::filesystem::remove_all(options.outDir);
        Stopwatch ourClock;
        report = exportSnapshot(ws, options);
        ourSeconds = std::min(ourSeconds, ourClock.seconds());
    }

    // Both wrote every row: the reference one JSON object per message line, ours one record
    // (user + assistant) per line.
    const auto ourFile = std::filesystem::path(report.files.at("train"));
    const int64_t ourLines = countLines(ourFile);
    const int64_t refLines = countLines(refOut);  // "[{...},", one per row
    if (ourLines != records || refLines != messages)
        throw std::runtime_error("wrong output: ours " + std::to_string(ourLines) + " lines (expected " +
                                 std::to_string(records) + "), reference " + std::to_string(refLines) +
                                 " lines (expected " + std::to_string(messages) + ")");

    const double refRate = double(messages) / refSeconds;
    const double ourRate = double(messages) / ourSeconds;
    const double ratio = ourRate / refRate;
    const bool pass = ratio >= 0.8;
    std::cout << "                      seconds   rows/s    MiB written\n"
              << "reference (sqlite3)   " << fixed(refSeconds, 3) << "   " << fixed(refRate, 0) << "   "
              << std::filesystem::file_size(refOut) / (1 << 20) << "\n"
              << "ours (exportSnapshot) " << fixed(ourSeconds, 3) << "   " << fixed(ourRate, 0) << "   "
              << std::filesystem::file_size(ourFile) / (1 << 20) << "\n"
              << "ratio " << fixed(ratio) << "x (time " << fixed(ourSeconds / refSeconds) << "x the reference)\n"
              << "goal: >= 0.80x the reference (time <= 1.25x): " << verdict(pass) << "\n";
    // The other formats on the same snapshot, beside the same reference time.
    std::cout << "format                seconds   rows/s    ratio to the reference\n";
    ResultLine others("bench_export_formats");
    for (const auto& [format, tmpl] : std::vector<std::pair<Format, std::string>>{
             {Format::ShareGpt, ""}, {Format::Alpaca, ""}, {Format::Text, "llm-jp"}}) {
        ExportOptions o = options;
        o.format = format;
        if (!tmpl.empty()) o.textTemplate = tmpl;
        double seconds = 1e300;
        for (int round = 0; round < 2; ++round) {
            std::filesystem::remove_all(o.outDir);
            Stopwatch clock;
            const ExportReport r = exportSnapshot(ws, o);
            seconds = std::min(seconds, clock.seconds());
            if (r.recordsPerSplit.at("train") != records)
                throw std::runtime_error(std::string(formatName(format)) + " wrote " +
                                         std::to_string(r.recordsPerSplit.at("train")) + " records, expected " +
                                         std::to_string(records));
        }
        const double rate = double(messages) / seconds;
        std::string name(formatName(format));
        name.resize(22, ' ');
        std::cout << name << fixed(seconds, 3) << "   " << fixed(rate, 0) << "   " << fixed(rate / refRate) << "x\n";
        others.add(std::string(formatName(format)) + "_ratio", rate / refRate);
    }
    others.print();
    ResultLine("bench_export")
        .add("records", records)
        .add("rows", messages)
        .add("ref_s", refSeconds, 3)
        .add("ours_s", ourSeconds, 3)
        .add("ref_rows_per_s", refRate, 0)
        .add("ours_rows_per_s", ourRate, 0)
        .add("ratio", ratio)
        .add("pass", std::string(verdict(pass)))
        .print();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_export: " << e.what() << "\n";
    return 1;
}
