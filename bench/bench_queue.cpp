// bench_queue [MESSAGES=1000000] [CALLS=1000]
//
// A workspace of MESSAGES messages: half approved (`messages` records: user + assistant,
// imported with --status approved), half submitted (`tree` records with one or two
// replies, imported with --status submitted, written by 14 annotators), so that review,
// rank, reply and label tasks all exist under the default queue targets. 14 annotators and
// 6 reviewers then ask for work, in turn. Two phases of CALLS nextTask calls each:
//   release: every task is given back at once (releaseTask), so the queue never drains and
//            each account keeps getting the first target it may take;
//   work:    every task is done (review approved, replies ranked, a reply written, a label
//            set), so the queue moves on as it does in use and the next call must pass over
//            what is finished or held by others.
// Only nextTask is timed. Reference (the floor): a primary-key lookup
// `SELECT * FROM messages WHERE id = ?` of random ids on the same connection.
// Goal: p95 < 5 ms.
#include <iostream>
#include <map>

#include "bench/bench_common.h"
#include "datastore/accounts.h"
#include "datastore/labels.h"
#include "datastore/messages.h"
#include "datastore/queue.h"
#include "datastore/rankings.h"
#include "datastore/reviews.h"
#include "datastore/workspace.h"
#include "export/importer.h"

namespace {

using namespace tsumugi;
using namespace tsumugi::bench;

constexpr int kAnnotators = 14;
constexpr int kReviewers = 6;

std::string accountName(const char* prefix, int i)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%02d", prefix, i + 1);
    return buf;
}

// Trees of one prompt and one or two replies (alternating), each by a random annotator.
// Returns the number of messages written.
int64_t writeTreeJsonl(const std::filesystem::path& path, int64_t trees, uint64_t seed)
{
    JapaneseText gen(seed);
    std::uniform_int_distribution<int> author(0, kAnnotators - 1);
    std::ofstream out(path, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write " + path.string());
    int64_t messages = 0;
    for (int64_t t = 0; t < trees; ++t) {
        auto node = [&](const char* key, const char* parent, const char* role, const std::string& text) {
            std::string s = std::string(R"({"key":")") + key + "\"";
            if (parent) s += std::string(R"(,"parent":")") + parent + "\"";
            s += std::string(R"(,"role":")") + role + R"(","text":)" + jsonString(text) + R"(,"author":")" +
                 accountName("annotator", author(gen.rng())) + "\"}";
            ++messages;
            return s;
        };
        out << R"({"tree":"q)" << t << R"(","messages":[)" << node("p", nullptr, "user", gen.next(40, 160)) << ","
            << node("a1", "p", "assistant", gen.next(80, 300));
        if (t % 2 == 0) out << "," << node("a2", "p", "assistant", gen.next(80, 300));
        out << "]}\n";
    }
    if (!out.flush()) throw std::runtime_error("writing " + path.string() + " failed (disk full?)");
    return messages;
}

// Does the task as a person would, so the queue moves on (not timed).
void doTask(Workspace& ws, const Account& account, const Task& task, JapaneseText& gen, int round)
{
    switch (task.kind) {
    case TaskKind::Review: {
        NewReview review;
        review.messageId = *task.targetId;
        review.revision = getMessage(ws, *task.targetId).revision;
        review.verdict = ReviewVerdict::Approve;
        submitReview(ws, account, review);
        break;
    }
    case TaskKind::Rank: {
        NewRanking ranking;
        ranking.parentId = *task.targetId;
        for (const Message& c : childrenOf(ws, *task.targetId))
            if (c.role == MessageRole::Assistant && c.status != Status::Deleted) ranking.groups.push_back({c.id});
        submitRanking(ws, account, ranking);
        break;
    }
    case TaskKind::WriteReply:
    case TaskKind::WritePrompt: {
        NewMessage m;
        m.parentId = task.targetId;
        m.role = task.targetId ? MessageRole::Assistant : MessageRole::User;
        m.text = gen.next(80, 300);
        m.status = Status::Submitted;
        createMessage(ws, account, m);
        break;
    }
    case TaskKind::Label: setLabel(ws, account, *task.targetId, "helpful", 1 + round % 5); break;
    }
}

struct Phase {
    std::vector<double> ms;
    std::map<std::string, int> kinds;  // how many tasks of each kind were handed out
    int none = 0;
};

void printPhase(const char* name, const Phase& p)
{
    std::cout << name << ": p50 " << fixed(percentile(p.ms, 50), 3) << " ms, p95 " << fixed(percentile(p.ms, 95), 3)
              << " ms, max " << fixed(percentile(p.ms, 100), 3) << " ms over " << p.ms.size() << " calls; tasks:";
    for (const auto& [kind, n] : p.kinds) std::cout << " " << kind << "=" << n;
    if (p.none) std::cout << " none=" << p.none;
    std::cout << "\n";
}

}  // namespace

int main(int argc, char** argv)
try {
    const int64_t messages = sizeArg(argc, argv, 1, 1000000);
    const int64_t calls = sizeArg(argc, argv, 2, 1000);
    printMachine("bench_queue");
    TempDir dir("tsumugi-bench-queue");

    // Setup: half approved, half submitted, then the reviewers.
    Stopwatch setupClock;
    Workspace ws((dir / "queue.tsumugi").string(), WorkspaceOptions{.create = true});
    const Account admin = bootstrapAccounts(ws, "admin", std::nullopt);
    const Account service = *findAccount(ws, kServiceAccountName);
    const auto approvedFile = dir / "approved.jsonl";
    const auto submittedFile = dir / "submitted.jsonl";
    generateMessagesJsonl(approvedFile, messages / 4, 4);
    const int64_t submittedMessages = writeTreeJsonl(submittedFile, messages / 5, 5);
    ImportOptions approved;
    const ImportReport a = importFile(ws, service, approvedFile.string(), approved);
    ImportOptions submitted;
    submitted.format = Format::Tree;
    submitted.status = Status::Submitted;
    const ImportReport s = importFile(ws, service, submittedFile.string(), submitted);
    std::filesystem::remove(approvedFile);
    std::filesystem::remove(submittedFile);
    std::vector<Account> accounts;
    for (int i = 0; i < kAnnotators; ++i) accounts.push_back(*findAccount(ws, accountName("annotator", i)));
    for (int i = 0; i < kReviewers; ++i)
        accounts.push_back(addAccount(ws, admin, accountName("reviewer", i), Role::Reviewer, std::nullopt));
    std::cout << "workspace: " << a.messages + s.messages << " messages (" << a.messages << " approved, "
              << submittedMessages << " submitted), " << accounts.size() << " accounts; open tasks:";
    {
        auto st = ws.db().prepare("SELECT task_kind, count(*) FROM open_tasks GROUP BY task_kind ORDER BY task_kind");
        while (st.step()) std::cout << " " << st.text(0) << "=" << st.int64(1);
    }
    std::cout << "; setup " << fixed(setupClock.seconds(), 1) << " s\n";

    // Reference: the floor, a primary-key lookup of random ids.
    std::vector<double> refMs;
    {
        const int64_t maxId = ws.db().queryInt("SELECT max(id) FROM messages");
        std::mt19937_64 rng(6);
        std::uniform_int_distribution<int64_t> id(1, maxId);
        auto st = ws.db().prepare("SELECT * FROM messages WHERE id = ?");
        size_t bytes = 0;
        for (int64_t i = 0; i < calls; ++i) {
            Stopwatch clock;
            st.reset();
            st.bind(1, id(rng));
            if (st.step()) bytes += st.textView(4).size();
            refMs.push_back(clock.millis());
        }
        if (bytes == 0) throw std::runtime_error("the reference read nothing");
    }

    // Ours, phase 1: release every task at once.
    Phase release;
    for (int64_t i = 0; i < calls; ++i) {
        const Account& account = accounts[size_t(i) % accounts.size()];
        Stopwatch clock;
        const std::optional<Task> task = nextTask(ws, account);
        release.ms.push_back(clock.millis());
        if (!task) {
            ++release.none;
            continue;
        }
        ++release.kinds[std::string(taskKindName(task->kind))];
        if (task->targetId) releaseTask(ws, account, task->kind, *task->targetId);
    }

    // Ours, phase 2: do every task, so the queue moves on.
    Phase work;
    JapaneseText gen(7);
    for (int64_t i = 0; i < calls; ++i) {
        const Account& account = accounts[size_t(i) % accounts.size()];
        Stopwatch clock;
        const std::optional<Task> task = nextTask(ws, account);
        work.ms.push_back(clock.millis());
        if (!task) {
            ++work.none;
            continue;
        }
        ++work.kinds[std::string(taskKindName(task->kind))];
        doTask(ws, account, *task, gen, int(i));
    }

    const double refP50 = percentile(refMs, 50), refP95 = percentile(refMs, 95);
    const double releaseP95 = percentile(release.ms, 95), workP95 = percentile(work.ms, 95);
    const bool pass = releaseP95 < 5.0 && workP95 < 5.0;
    printPhase("ours, release", release);
    printPhase("ours, work   ", work);
    std::cout << "reference (primary-key lookup): p50 " << fixed(refP50, 4) << " ms, p95 " << fixed(refP95, 4)
              << " ms\n"
              << "ours p95 / reference p95: release " << fixed(releaseP95 / refP95, 0) << "x, work "
              << fixed(workP95 / refP95, 0) << "x\n"
              << "goal: p95 < 5 ms: " << verdict(pass) << "\n";
    ResultLine("bench_queue")
        .add("messages", a.messages + s.messages)
        .add("calls_per_phase", calls)
        .add("release_p50_ms", percentile(release.ms, 50), 3)
        .add("release_p95_ms", releaseP95, 3)
        .add("release_max_ms", percentile(release.ms, 100), 3)
        .add("work_p50_ms", percentile(work.ms, 50), 3)
        .add("work_p95_ms", workP95, 3)
        .add("work_max_ms", percentile(work.ms, 100), 3)
        .add("ref_p50_ms", refP50, 4)
        .add("ref_p95_ms", refP95, 4)
        .add("pass", std::string(verdict(pass)))
        .print();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_queue: " << e.what() << "\n";
    return 1;
}
