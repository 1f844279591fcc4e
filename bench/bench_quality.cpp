// bench_quality [MEGABYTES=20] [DOCUMENTS=1000000]
//
// 1. Quality checks (datastore/quality/check.h: classes, thresholds, repetition, PII,
//    brackets, widths, NFKC, 20 NG words) over MEGABYTES of generated Japanese messages
//    (40–300 characters each), one core. Reference in the same run: a plain loop over the
//    same bytes that counts code points (the cheapest pass that reads every byte).
//    Goal: ≥ 50 MB/s.
// 2. Near duplicates over DOCUMENTS short documents (20–120 characters; one in ten gets one
//    to three edited copies): MinHash signatures, LSH candidates, exact-Jaccard
//    verification, clusters. Time and peak RSS (VmHWM). Reference in the same run: exact
//    duplicates only, by hashing every text into a std::unordered_set.
#include <cstring>
#include <unordered_set>

#include "bench/bench_common.h"
#include "datastore/quality/check.h"
#include "datastore/quality/near_duplicates.h"

using namespace tsumugi;
using namespace tsumugi::bench;

namespace {

double peakRssMib()
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

// Sprinkles what the checks look for into a tenth of the texts, so the scanners take their
// slow paths too: phone numbers, prices, dates, URLs, full-width digits, brackets.
std::string decorate(std::string text, std::mt19937_64& rng)
{
    static const std::vector<std::string> extras = {
        "電話は03-1234-5678です。", "価格は12,800円です。", "2026-11-25に開催。", "詳細はhttps://example.jp/aへ。",
        "部屋は３０１号室です。", "「確認してください。", "メールはinfo@example.co.jpまで。", "（注）ＡＢＣ社の資料。"};
    if (rng() % 10 == 0) text += extras[rng() % extras.size()];
    return text;
}

}  // namespace

int main(int argc, char** argv)
try {
    const double megabytes = double(sizeArg(argc, argv, 1, 20));
    const int64_t documents = sizeArg(argc, argv, 2, 1000000);
    printMachine("bench_quality");

    // ---- 1. checks throughput ----------------------------------------------------------------
    JapaneseText gen(11);
    std::vector<std::string> texts;
    size_t bytes = 0;
    while (double(bytes) < megabytes * 1e6) {
        texts.push_back(decorate(gen.next(40, 300), gen.rng()));
        bytes += texts.back().size();
    }
    std::vector<std::string> ngWords;
    for (size_t i = 0; i < 20; ++i) ngWords.push_back(std::string(vocabulary()[vocabulary().size() - 1 - i]));
    const quality::NgWordMatcher ng(ngWords);
    const quality::Thresholds thresholds;

    size_t codePoints = 0;
    Stopwatch refClock;
    for (const auto& t : texts)
        for (unsigned char c : t) codePoints += (c & 0xC0) != 0x80;
    const double refSeconds = refClock.seconds();

    size_t warnings = 0, findings = 0;
    Stopwatch clock;
    for (const auto& t : texts) {
        const auto r = quality::checkText(t, thresholds, ng);
        warnings += !r.clean();
        findings += r.pii.size() + r.ngWords.size() + r.brackets.size() + r.nfkc.size();
    }
    const double seconds = clock.seconds();
    Stopwatch noNfkcClock;
    for (const auto& t : texts) warnings += quality::checkText(t, thresholds, ng, {.nfkc = false}).clean() ? 0 : 0;
    const double noNfkcSeconds = noNfkcClock.seconds();

    const double mb = double(bytes) / 1e6;
    const double ours = mb / seconds, oursNoNfkc = mb / noNfkcSeconds, reference = mb / refSeconds;
    std::cout << "\n-- 1. quality checks, " << texts.size() << " texts, " << fixed(mb, 1) << " MB, "
              << codePoints << " code points --\n"
              << "ours (all checks):           " << fixed(ours, 1) << " MB/s (" << fixed(seconds, 2) << " s; "
              << warnings << " texts with warnings, " << findings << " findings)\n"
              << "ours (without NFKC):         " << fixed(oursNoNfkc, 1) << " MB/s\n"
              << "reference (code point count): " << fixed(reference, 1) << " MB/s\n"
              << "ratio ours / reference: " << fixed(ours / reference, 3) << "\n"
              << "goal: ≥ 50 MB/s: " << verdict(ours >= 50) << "\n";

    // ---- 2. near duplicates --------------------------------------------------------------------
    texts.clear();
    texts.shrink_to_fit();
    const double rssBefore = peakRssMib();
    std::vector<std::string> docs;
    docs.reserve(size_t(documents));
    JapaneseText dgen(12);
    while (int64_t(docs.size()) < documents) {
        docs.push_back(dgen.next(20, 120));
        if (dgen.rng()() % 10 != 0) continue;
        const std::string original = docs.back();
        for (int c = int(dgen.rng()() % 3); c >= 0 && int64_t(docs.size()) < documents; --c) {
            std::string copy = original;
            // Replace one sentence-final 。 or a word boundary: cut a few bytes at a character start.
            size_t at = dgen.rng()() % copy.size();
            while (at > 0 && (static_cast<unsigned char>(copy[at]) & 0xC0) == 0x80) --at;
            copy.insert(at, "えっと");
            docs.push_back(std::move(copy));
        }
    }
    size_t docBytes = 0;
    for (const auto& d : docs) docBytes += d.size();
    const double rssDocs = peakRssMib();

    Stopwatch exactClock;
    std::unordered_set<std::string_view> seen;
    size_t exactDuplicates = 0;
    for (const auto& d : docs) exactDuplicates += !seen.insert(d).second;
    const double exactSeconds = exactClock.seconds();
    seen = {};

    Stopwatch addClock;
    quality::NearDuplicateFinder finder;
    for (const auto& d : docs) finder.add(d);
    const double addSeconds = addClock.seconds();
    Stopwatch runClock;
    const auto result = finder.run([&](uint32_t i) { return std::string_view(docs[i]); });
    const double runSeconds = runClock.seconds();
    const double rssEnd = peakRssMib();
    size_t clustered = 0;
    for (const auto& c : result.clusters) clustered += c.size();
    const double total = addSeconds + runSeconds;
    const auto br = finder.params().bandsRows;
    std::cout << "\n-- 2. near duplicates, " << docs.size() << " documents, " << fixed(double(docBytes) / 1e6, 1)
              << " MB, threshold 0.8, " << br.bands << " bands × " << br.rows << " rows --\n"
              << "ours: signatures " << fixed(addSeconds, 2) << " s, candidates + verification + clusters "
              << fixed(runSeconds, 2) << " s, total " << fixed(total, 2) << " s ("
              << fixed(double(docs.size()) / total / 1000, 1) << "k documents/s)\n"
              << "      " << result.candidates << " candidates, " << result.pairs.size() << " verified pairs, "
              << result.clusters.size() << " clusters holding " << clustered << " documents\n"
              << "reference (exact duplicates by unordered_set): " << fixed(exactSeconds, 2) << " s, " << exactDuplicates
              << " exact duplicates\n"
              << "peak RSS: " << fixed(rssBefore, 0) << " MiB before the documents, " << fixed(rssDocs, 0)
              << " MiB with them, " << fixed(rssEnd, 0) << " MiB at the end (detection added "
              << fixed(rssEnd - rssDocs, 0) << " MiB)\n";

    ResultLine("bench_quality")
        .add("megabytes", mb, 1)
        .add("checks_mb_s", ours, 1)
        .add("checks_no_nfkc_mb_s", oursNoNfkc, 1)
        .add("ref_scan_mb_s", reference, 1)
        .add("checks_pass", std::string(verdict(ours >= 50)))
        .add("documents", int64_t(docs.size()))
        .add("dedup_s", total, 2)
        .add("dedup_signatures_s", addSeconds, 2)
        .add("ref_exact_s", exactSeconds, 2)
        .add("pairs", int64_t(result.pairs.size()))
        .add("clusters", int64_t(result.clusters.size()))
        .add("rss_docs_mib", rssDocs, 0)
        .add("rss_peak_mib", rssEnd, 0)
        .print();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_quality: " << e.what() << "\n";
    return 1;
}
