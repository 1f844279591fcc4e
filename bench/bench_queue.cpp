// bench_queue [MESSAGES=1000000] [CALLS=1000]
//
// A workspace of MESSAGES messages: half approved (`messages` records: user + assistant,
// imported with --status approved), half submitted (`tree` records with one or two
// replies, imported with --status submitted, written by 14 annotators), so that review,
// rank, reply and label tasks all exist under the default queue targets. 14 annotators and
// 6 reviewers then ask for work, in turn (annotators alternate between any task, replies
// only and labels only). Two phases of CALLS nextTask calls each:
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
        case TaskKind::Label:
            setLabel(ws, account, *task.targetId, "helpful", 1 + round % 5);
            break;
    }
}

// What an account asks for on call i: reviewers take whatever comes first (reviews);
// annotators alternate between any task (ranking comes first), replies only and labels
// only, as when someone picks a kind of work in the annotator.
std::vector<TaskKind> kindsFor(const Account& account, int64_t i, size_t accounts)
{
    if (account.role != Role::Annotator) return {};
    switch ((i / int64_t(accounts)) % 3) {
        case 1:
            return {TaskKind::WriteReply};
        case 2:
            return {TaskKind::Label};
        default:
            return {};
    }
}

struct Phase {
    std::vector<double> ms;
    std::map<std::string, std::vector<double>> msByKind;  // by the kind handed out ("none": no task)

    void add(double millis, const std::optional<Task>& task)
    {
        ms.push_back(millis);
        msByKind[task ? std::string(taskKindName(task->kind)) : "none"].push_back(millis);
    }
};

void printPhase(const char* name, const Phase& p)
{
    std::cout << name << ": p50 " << fixed(percentile(p.ms, 50), 3) << " ms, p95 " << fixed(percentile(p.ms, 95), 3)
              << " ms, max " << fixed(percentile(p.ms, 100), 3) << " ms over " << p.ms.size() << " calls\n";
    for (const auto& [kind, ms] : p.msByKind)
        std::cout << "    " << kind << " tasks: " << ms.size() << " calls, p50 " << fixed(percentile(ms, 50), 3)
                  << " ms, p95 " << fixed(percentile(ms, 95), 3) << " ms\n";
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
        const std::optional<Task> task = nextTask(ws, account, kindsFor(account, i, accounts.size()));
        release.add(clock.millis(), task);
        if (task && task->targetId) releaseTask(ws, account, task->kind, *task->targetId);
    }

    // Ours, phase 2: do every task, so the queue moves on.
    Phase work;
    JapaneseText gen(7);
    for (int64_t i = 0; i < calls; ++i) {
        const Account& account = accounts[size_t(i) % accounts.size()];
        Stopwatch clock;
        const std::optional<Task> task = nextTask(ws, account, kindsFor(account, i, accounts.size()));
        work.add(clock.millis(), task);
        if (task) doTask(ws, account, *task, gen, int(i));
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
    ResultLine result("bench_queue");
    result.add("messages", a.messages + s.messages).add("calls_per_phase", calls);
    for (const auto& [name, phase] : {std::pair<std::string, const Phase*>{"release", &release}, {"work", &work}}) {
        result.add(name + "_p50_ms", percentile(phase->ms, 50), 3)
            .add(name + "_p95_ms", percentile(phase->ms, 95), 3)
            .add(name + "_max_ms", percentile(phase->ms, 100), 3);
        for (const auto& [kind, ms] : phase->msByKind) result.add(name + "_" + kind + "_p95_ms", percentile(ms, 95), 3);
    }
    result.add("ref_p50_ms", refP50, 4).add("ref_p95_ms", refP95, 4).add("pass", std::string(verdict(pass))).print();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_queue: " << e.what() << "\n";
    return 1;
}
