// bench_search [RECORDS=500000] [QUERIES_PER_LENGTH=20]
//
// A workspace of RECORDS `messages` records (2 × RECORDS messages: 1,000,000 by default),
// then for queries of 1, 2 and 4 characters, picked from the generated text from common to
// rare (plus two that never occur):
//   ours:      searchMessages, limit 50, newest first (one warm-up run, then 5 timed runs);
//   reference: the brute-force scan on the same connection (one run):
//              SELECT id FROM messages WHERE instr(text, ?) > 0 AND status <> 'deleted'
//              ORDER BY id DESC LIMIT 51
// Every query's ids must equal the scan's first 50 (and "more follow" must agree with a
// 51st row). Goal: p95 < 30 ms for each length. Exits 1 on any mismatch.
#include <iostream>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "bench/bench_common.h"
#include "datastore/accounts.h"
#include "datastore/search.h"
#include "datastore/workspace.h"
#include "export/importer.h"

namespace {

using namespace tsumugi;
using namespace tsumugi::bench;

struct Query {
    std::string text;
    double sampleFraction = 0;  // share of the sample's messages that contain it
};

std::vector<std::string> codePointsOf(const std::string& text)
{
    std::vector<std::string> out;
    for (size_t i = 0; i < text.size();) {
        size_t len = 1;
        const auto lead = static_cast<unsigned char>(text[i]);
        if (lead >= 0xF0)
            len = 4;
        else if (lead >= 0xE0)
            len = 3;
        else if (lead >= 0xC0)
            len = 2;
        out.push_back(text.substr(i, len));
        i += len;
    }
    return out;
}

// Substrings of `length` characters in the sample, without punctuation, with the number of
// sample messages that contain each.
std::vector<std::pair<std::string, int>> substringCounts(const std::vector<Conversation>& sample, int length,
                                                         int& texts)
{
    static const std::set<std::string> punctuation = {"、", "。", "「", "」"};
    std::unordered_map<std::string, int> documents;
    texts = 0;
    for (const Conversation& c : sample)
        for (const std::string* text : {&c.user, &c.assistant}) {
            ++texts;
            const auto cps = codePointsOf(*text);
            std::unordered_set<std::string> seen;
            for (size_t i = 0; i + size_t(length) <= cps.size(); ++i) {
                std::string s;
                bool clean = true;
                for (int k = 0; k < length; ++k) {
                    clean = clean && !punctuation.count(cps[i + size_t(k)]);
                    s += cps[i + size_t(k)];
                }
                if (clean) seen.insert(s);
            }
            for (const std::string& s : seen) ++documents[s];
        }
    std::vector<std::pair<std::string, int>> out(documents.begin(), documents.end());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    return out;
}

// Queries of `length` characters: for log-spaced target shares of messages, from the most
// common substring down to one sample message, the substring whose share is nearest —
// preferring a part of a vocabulary word (what people search for) when one lies within a
// factor of two, else any substring (word boundaries included); then `absent` queries that
// occur nowhere.
std::vector<Query> pickQueries(const std::vector<Conversation>& sample, int length, size_t count,
                               const std::vector<std::string>& absent)
{
    int texts = 0;
    const auto candidates = substringCounts(sample, length, texts);
    std::set<std::string> inWords;
    for (std::string_view w : vocabulary()) {
        const auto cps = codePointsOf(std::string(w));
        for (size_t i = 0; i + size_t(length) <= cps.size(); ++i) {
            std::string s;
            for (int k = 0; k < length; ++k) s += cps[i + size_t(k)];
            inWords.insert(s);
        }
    }

    std::vector<Query> out;
    std::set<std::string> chosen;
    auto nearest = [&](double target, bool wordsOnly) -> const std::pair<std::string, int>* {
        const std::pair<std::string, int>* best = nullptr;
        for (const auto& c : candidates) {
            if (chosen.count(c.first) || (wordsOnly && !inWords.count(c.first))) continue;
            if (!best || std::fabs(std::log(c.second / target)) < std::fabs(std::log(best->second / target))) best = &c;
        }
        return best;
    };
    const size_t fromSample = count > absent.size() ? count - absent.size() : 0;
    const double top = double(candidates.front().second);
    for (size_t t = 0; t < fromSample; ++t) {
        const double target = fromSample == 1 ? top : top * std::pow(1.0 / top, double(t) / double(fromSample - 1));
        const auto* best = nearest(target, true);
        if (!best || std::fabs(std::log(best->second / target)) > std::log(2.0)) best = nearest(target, false);
        if (!best) break;
        chosen.insert(best->first);
        out.push_back({best->first, double(best->second) / texts});
    }
    for (const std::string& a : absent) out.push_back({a, 0});
    return out;
}

struct Measured {
    std::string text;
    double sampleFraction = 0;
    size_t hits = 0;          // rows the scan returned (up to 51)
    double oursMedianMs = 0;  // of the timed runs
    double refMs = 0;
    bool match = true;
};

}  // namespace

int main(int argc, char** argv)
try {
    const int64_t records = sizeArg(argc, argv, 1, 500000);
    const auto perLength = static_cast<size_t>(sizeArg(argc, argv, 2, 20));
    constexpr int kTimedRuns = 5;
    printMachine("bench_search");
    TempDir dir("tsumugi-bench-search");

    // Setup: generate, import (search index built by the import), pick the queries.
    Stopwatch setupClock;
    const auto jsonl = dir / "records.jsonl";
    const std::vector<Conversation> sample =
        generateMessagesJsonl(jsonl, records, 3, std::min<int64_t>(records, 20000));
    Workspace ws((dir / "search.tsumugi").string(), WorkspaceOptions{.create = true});
    bootstrapAccounts(ws, "admin", std::nullopt);
    const ImportReport imported =
        importFile(ws, *findAccount(ws, kServiceAccountName), jsonl.string(), ImportOptions{});
    std::filesystem::remove(jsonl);
    std::cout << "workspace: " << imported.messages << " messages (import " << fixed(imported.insertSeconds, 1)
              << " s rows + " << fixed(imported.indexSeconds, 1) << " s index), setup "
              << fixed(setupClock.seconds(), 1) << " s\n";

    const std::map<int, std::vector<std::string>> absent = {
        {1, {"鰻", "鮪"}}, {2, {"鰻重", "刺身"}}, {4, {"鰻の蒲焼", "京都大学"}}};
    auto brute = ws.db().prepare(
        "SELECT id FROM messages WHERE instr(text, ?) > 0 AND status <> 'deleted' "
        "ORDER BY id DESC LIMIT 51");

    int64_t mismatches = 0;
    ResultLine result("bench_search");
    result.add("messages", imported.messages);
    bool allPass = true;
    for (int length : {1, 2, 4}) {
        const std::vector<Query> queries = pickQueries(sample, length, perLength, absent.at(length));
        std::vector<Measured> rows;
        std::vector<double> oursSamples, refSamples;
        for (const Query& q : queries) {
            Measured m{q.text, q.sampleFraction};
            // Reference.
            std::vector<int64_t> expected;
            Stopwatch refClock;
            brute.reset();
            brute.bind(1, q.text);
            while (brute.step()) expected.push_back(brute.int64(0));
            m.refMs = refClock.millis();
            m.hits = expected.size();
            refSamples.push_back(m.refMs);

            // Ours: a warm-up run checked against the reference, then timed runs.
            SearchQuery sq;
            sq.text = q.text;
            sq.limit = 50;
            const SearchPage page = searchMessages(ws, sq);
            std::vector<int64_t> want(expected.begin(), expected.begin() + std::min<size_t>(expected.size(), 50));
            m.match = page.ids == want && page.nextBeforeId.has_value() == (expected.size() > 50);
            if (!m.match) ++mismatches;
            std::vector<double> runs;
            for (int r = 0; r < kTimedRuns; ++r) {
                Stopwatch clock;
                const SearchPage again = searchMessages(ws, sq);
                runs.push_back(clock.millis());
                if (again.ids != page.ids) throw std::runtime_error("search results changed between runs");
            }
            oursSamples.insert(oursSamples.end(), runs.begin(), runs.end());
            m.oursMedianMs = percentile(runs, 50);
            rows.push_back(m);
        }

        std::cout << "\n-- " << length << "-character queries --\n"
                  << "query            share of sample   scan hits   ours median ms   scan ms   same ids\n";
        for (const Measured& m : rows) {
            std::string padded = m.text;
            for (int pad = JapaneseText::codePoints(m.text) * 2; pad < 16; ++pad) padded += ' ';
            std::cout << padded << " " << fixed(100 * m.sampleFraction, 3) << "%\t\t" << m.hits << "\t    "
                      << fixed(m.oursMedianMs, 3) << "\t     " << fixed(m.refMs, 1) << "\t" << (m.match ? "yes" : "NO")
                      << "\n";
        }
        const double p50 = percentile(oursSamples, 50), p95 = percentile(oursSamples, 95),
                     max = percentile(oursSamples, 100);
        const double refP50 = percentile(refSamples, 50), refP95 = percentile(refSamples, 95);
        const bool pass = p95 < 30.0;
        allPass = allPass && pass;
        std::cout << "ours:      p50 " << fixed(p50, 3) << " ms, p95 " << fixed(p95, 3) << " ms, max " << fixed(max, 3)
                  << " ms (" << oursSamples.size() << " runs over " << queries.size() << " queries)\n"
                  << "reference: p50 " << fixed(refP50, 1) << " ms, p95 " << fixed(refP95, 1) << " ms\n"
                  << "ratio (reference p95 / ours p95): " << fixed(refP95 / p95, 1) << "x\n"
                  << "goal: p95 < 30 ms: " << verdict(pass) << "\n";
        const std::string k = "len" + std::to_string(length) + "_";
        result.add(k + "p50_ms", p50, 3)
            .add(k + "p95_ms", p95, 3)
            .add(k + "max_ms", max, 3)
            .add(k + "ref_p50_ms", refP50, 1)
            .add(k + "ref_p95_ms", refP95, 1);
    }
    std::cout << "\nmismatches against the brute-force scan: " << mismatches << " (must be 0)\n";
    result.add("mismatches", mismatches).add("pass", std::string(verdict(allPass && mismatches == 0))).print();
    return mismatches == 0 ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "bench_search: " << e.what() << "\n";
    return 1;
}
