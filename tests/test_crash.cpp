// kill -9 at random points of an import and of annotation writes: the file passes
// PRAGMA integrity_check and the search index's own check, and holds all or nothing of
// each transaction.
#include <QElapsedTimer>
#include <QTest>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>

#include "datastore/messages.h"
#include "datastore/rankings.h"
#include "datastore/search.h"
#include "export/jsonl.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

namespace {
const bool registered = [] {
    // Annotation writes until killed: prompts, replies, edits and rankings, each its own transaction.
    workers()["annotate"] = [](const QStringList& args) -> int {
        Workspace ws(args[0].toStdString());
        const Account me = authenticate(ws, "alice", std::nullopt);
        const Account other = authenticate(ws, "bob", std::nullopt);
        for (int i = 0;; ++i) {
            NewMessage p;
            p.text = "質問 " + std::to_string(i);
            const int64_t prompt = createMessage(ws, me, p);
            std::vector<int64_t> replies;
            for (int k = 0; k < 2; ++k) {
                NewMessage r;
                r.parentId = prompt;
                r.role = MessageRole::Assistant;
                r.text = "返信 " + std::to_string(k);
                replies.push_back(createMessage(ws, other, r));
            }
            editMessage(ws, me, prompt, 1, "質問（改） " + std::to_string(i));
            submitRanking(ws, me, {prompt, RankingVerdict::Ranked, {{replies[0]}, {replies[1]}}, {}, {}});
        }
    };
    return true;
}();

// SIGKILL, unless the process has already ended: processId() is then 0, and kill(0, …)
// would kill this test's whole process group.
void killHard(QProcess& p)
{
    const qint64 pid = p.processId();
    if (p.state() != QProcess::NotRunning && pid > 0) ::kill(pid_t(pid), SIGKILL);
}

void checkIntact(Workspace& ws)
{
    QCOMPARE(integrityCheck(ws), std::string("ok"));
    // FTS5 compares its index with the content table.
    ws.db().exec("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)");
}
}  // namespace

class TestCrash : public QObject {
    Q_OBJECT
private slots:
    void killDuringImport()
    {
        QTemporaryDir dir;
        const std::string data = dir.filePath("big.jsonl").toStdString();
        constexpr int kRecords = 40000;
        {
            JsonlWriter w(data);
            for (int i = 0; i < kRecords; ++i)
                w.writeLine(R"({"messages":[{"role":"user","content":"京都の名所を教えて )" + std::to_string(i) +
                            R"("},{"role":"assistant","content":"清水寺や金閣寺などがあります。"}]})");
            w.commit();
        }
        // Time one whole import, then kill others anywhere from start-up to past the commit.
        int64_t fullMs = 0;
        {
            Fixture f;
            f.ws.reset();
            QElapsedTimer timer;
            timer.start();
            QProcess p;
            p.start(TSUMUGI_CLI_PATH, {"import", QString::fromStdString(f.path), QString::fromStdString(data)});
            QVERIFY(p.waitForFinished(120000));
            QCOMPARE(p.exitCode(), 0);
            fullMs = timer.elapsed();
        }
        std::mt19937 rng(7);
        int complete = 0, empty = 0;
        for (int trial = 0; trial < 8; ++trial) {
            Fixture f;
            f.ws.reset();
            QProcess p;
            p.start(TSUMUGI_CLI_PATH, {"import", QString::fromStdString(f.path), QString::fromStdString(data)});
            QVERIFY(p.waitForStarted());
            QTest::qWait(int(fullMs * (10 + rng() % 100) / 100));  // 10 % to 110 % of a whole import
            killHard(p);
            p.waitForFinished();
            Workspace ws(f.path);
            checkIntact(ws);
            const int64_t messages = ws.db().queryInt("SELECT count(*) FROM messages");
            QVERIFY2(messages == 0 || messages == 2 * kRecords, qPrintable(QString::number(messages)));
            (messages ? complete : empty)++;
            if (messages) {
                SearchQuery q;
                q.text = "名所を教えて 3999";
                QCOMPARE(searchMessages(ws, q).ids.size(), size_t(11));  // 3999, 39990..39999
            }
        }
        qInfo("whole import %lld ms; killed 8 imports: %d had committed, %d had written nothing", (long long)fullMs,
              complete, empty);
    }

    void killDuringAnnotation()
    {
        std::mt19937 rng(11);
        for (int trial = 0; trial < 6; ++trial) {
            Fixture f;
            std::unique_ptr<QProcess> worker(startWorker("annotate", {QString::fromStdString(f.path)}));
            QVERIFY(worker->waitForStarted());
            QTest::qWait(int(100 + rng() % 800));
            killHard(*worker);
            worker->waitForFinished();
            f.ws.reset();
            Workspace ws(f.path);
            checkIntact(ws);
            auto& db = ws.db();
            QVERIFY(db.queryInt("SELECT count(*) FROM messages") > 0);
            // Each write is whole: a message with its audit row, an edit with its history row,
            // a ranking with all its entries.
            QCOMPARE(db.queryInt("SELECT count(*) FROM messages"),
                     db.queryInt("SELECT count(*) FROM audit_log WHERE action = 'message.create'"));
            QCOMPARE(db.queryInt("SELECT count(*) FROM message_revisions"),
                     db.queryInt("SELECT count(*) FROM audit_log WHERE action = 'message.edit'"));
            QCOMPARE(db.queryInt("SELECT count(*) FROM messages WHERE revision <> 1 + (SELECT count(*) FROM "
                                 "message_revisions r WHERE r.message_id = messages.id)"),
                     int64_t(0));
            QCOMPARE(db.queryInt("SELECT count(*) FROM rankings r WHERE (SELECT count(*) FROM ranking_entries e "
                                 "WHERE e.ranking_id = r.id) <> 2"),
                     int64_t(0));
        }
    }
};

TSUMUGI_TEST_MAIN(TestCrash)
#include "test_crash.moc"
