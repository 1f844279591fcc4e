// The task queue: targets, exclusions, leases with expiry, skips, and 8 processes claiming
// at once never sharing a single slot.
#include <QTest>

#include <iostream>
#include <set>

#include "datastore/messages.h"
#include "datastore/queue.h"
#include "datastore/rankings.h"
#include "datastore/reviews.h"
#include "datastore/settings.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

namespace {
const bool registered = [] {
    // Claims one review task as the named reviewer and prints its target.
    workers()["claim"] = [](const QStringList& args) {
        Workspace ws(args[0].toStdString());
        const Account me = authenticate(ws, args[1].toStdString(), std::nullopt);
        const auto task = nextTask(ws, me, {TaskKind::Review});
        std::cout << (task && task->targetId ? *task->targetId : -1) << std::endl;
        return 0;
    };
    return true;
}();

int64_t message(Fixture& f, const Account& who, std::optional<int64_t> parent, Status status = Status::Submitted)
{
    NewMessage m;
    m.parentId = parent;
    m.role = parent ? MessageRole::Assistant : MessageRole::User;
    m.text = parent ? "返信の本文です。" : "質問の本文です。";
    m.status = status;
    return createMessage(*f.ws, who, m);
}

void approve(Fixture& f, int64_t id)
{
    submitReview(*f.ws, f.rev, {id, getMessage(*f.ws, id).revision, ReviewVerdict::Approve, {}, {}, false});
}
}  // namespace

class TestQueue : public QObject {
    Q_OBJECT
private slots:
    void emptyWorkspaceAsksForPrompts()
    {
        Fixture f;
        const auto t = nextTask(*f.ws, f.alice);
        QVERIFY(t);
        QCOMPARE(t->kind, TaskKind::WritePrompt);
        QVERIFY(!nextTask(*f.ws, f.service));  // service accounts get no tasks
    }

    void reviewGoesToOthersOnly()
    {
        Fixture f;
        const int64_t p = message(f, f.alice, {});
        const auto forReviewer = nextTask(*f.ws, f.rev);
        QCOMPARE(forReviewer->kind, TaskKind::Review);
        QCOMPARE(*forReviewer->targetId, p);
        // An annotator never gets reviews; the admin who wrote it never reviews it.
        QVERIFY(nextTask(*f.ws, f.alice)->kind != TaskKind::Review);
        const int64_t own = message(f, f.admin, {});
        releaseTask(*f.ws, f.rev, TaskKind::Review, p);
        const auto forAdmin = nextTask(*f.ws, f.admin, {TaskKind::Review});
        QVERIFY(forAdmin);
        QCOMPARE(*forAdmin->targetId, p);
        Q_UNUSED(own);
    }

    void repliesUpToTargetWithLeases()
    {
        Fixture f;
        const Account dave = addAccount(*f.ws, f.admin, "dave", Role::Annotator, std::nullopt);
        int64_t now = 1'800'000'000'000;
        f.ws->setClock([&now] { return now; });
        const int64_t p = message(f, f.alice, {});
        approve(f, p);
        const auto b = nextTask(*f.ws, f.bob, {TaskKind::WriteReply});
        const auto c = nextTask(*f.ws, f.carol, {TaskKind::WriteReply});
        QVERIFY(b && c);
        QCOMPARE(*b->targetId, p);
        QCOMPARE(*c->targetId, p);
        // Two replies wanted, two leases held: nothing for dave while they are valid.
        QVERIFY(!nextTask(*f.ws, dave, {TaskKind::WriteReply}));
        QVERIFY(!nextTask(*f.ws, f.alice, {TaskKind::WriteReply}));  // her own prompt
        // Asking again hands back the lease already held.
        QCOMPARE(*nextTask(*f.ws, f.bob, {TaskKind::WriteReply})->targetId, p);
        // Bob's lease lapses (30 min default); dave may take the slot.
        now += 31 * 60 * 1000;
        message(f, f.carol, p);  // carol answered in time (her lease is released)
        const auto d = nextTask(*f.ws, dave, {TaskKind::WriteReply});
        QVERIFY(d);
        QCOMPARE(*d->targetId, p);
        message(f, dave, p);
        QVERIFY(!nextTask(*f.ws, f.bob, {TaskKind::WriteReply}));  // 2 replies: done
    }

    void rankingExcludesAuthorsAndFinishes()
    {
        Fixture f;
        QueueTargets t;
        t.rankingsPerParent = 2;
        setQueueTargets(*f.ws, f.admin, t);
        const int64_t p = message(f, f.alice, {});
        const int64_t a = message(f, f.bob, p);
        const int64_t b = message(f, f.carol, p);
        approve(f, p);
        approve(f, a);
        approve(f, b);
        QVERIFY(!nextTask(*f.ws, f.bob, {TaskKind::Rank}));  // bob wrote a candidate
        const auto forAlice = nextTask(*f.ws, f.alice, {TaskKind::Rank});
        QVERIFY(forAlice);
        QCOMPARE(*forAlice->targetId, p);
        submitRanking(*f.ws, f.alice, {p, RankingVerdict::Ranked, {{a}, {b}}, {}, {}});
        QVERIFY(!nextTask(*f.ws, f.alice, {TaskKind::Rank}));  // ranked it already
        QCOMPARE(*nextTask(*f.ws, f.rev, {TaskKind::Rank})->targetId, p);
        submitRanking(*f.ws, f.rev, {p, RankingVerdict::Ranked, {{b}, {a}}, {}, {}});
        const Account erin = addAccount(*f.ws, f.admin, "erin", Role::Annotator, std::nullopt);
        QVERIFY(!nextTask(*f.ws, erin, {TaskKind::Rank}));  // 2 rankings reached
        QCOMPARE(f.ws->db().queryInt("SELECT count(*) FROM open_tasks WHERE task_kind = 'rank'"), int64_t(0));
    }

    void skipIsForGood()
    {
        Fixture f;
        const int64_t p1 = message(f, f.alice, {});
        const int64_t p2 = message(f, f.bob, {});
        QCOMPARE(*nextTask(*f.ws, f.rev, {TaskKind::Review})->targetId, p1);
        skipTask(*f.ws, f.rev, TaskKind::Review, p1, "専門外の内容です");
        QCOMPARE(*nextTask(*f.ws, f.rev, {TaskKind::Review})->targetId, p2);
    }

    void eightClaimersNeverShareASlot()
    {
        Fixture f;
        std::vector<int64_t> targets;
        for (int i = 0; i < 30; ++i) targets.push_back(message(f, f.alice, {}));
        for (int i = 0; i < 8; ++i) addAccount(*f.ws, f.admin, "r" + std::to_string(i), Role::Reviewer, std::nullopt);
        std::set<int64_t> claimed;
        for (int round = 0; round < 3; ++round) {
            std::vector<std::unique_ptr<QProcess>> procs;
            for (int i = 0; i < 8; ++i)
                procs.emplace_back(startWorker("claim", {QString::fromStdString(f.path), QString("r%1").arg(i)}));
            for (auto& p : procs) {
                QVERIFY(finished(*p, 60000));
                QCOMPARE(p->exitCode(), 0);
                const int64_t target = p->readAllStandardOutput().trimmed().toLongLong();
                QVERIFY(target > 0);
                // Round 1 claims fresh ones; later rounds hand each reviewer their held lease back.
                if (round == 0) QVERIFY2(claimed.insert(target).second, "two reviewers got the same message");
                else QVERIFY(claimed.count(target));
            }
        }
        QCOMPARE(claimed.size(), size_t(8));
        QCOMPARE(f.ws->db().queryInt("SELECT count(*) FROM task_leases WHERE task_kind = 'review'"), int64_t(8));
    }
};

TSUMUGI_TEST_MAIN(TestQueue)
#include "test_queue.moc"
