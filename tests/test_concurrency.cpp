// 4 processes × 500 edits of the same few messages, each based on a revision that may be
// stale by the time it is saved: every conflict is reported and no update is lost.
#include <QFile>
#include <QTest>

#include <fstream>
#include <random>
#include <thread>

#include "core/error.h"
#include "datastore/messages.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

namespace {
constexpr int kWorkers = 4;
constexpr int kEdits = 500;
constexpr int kMessages = 5;

const bool registered = [] {
    // args: workspace, account, log file. Logs "ok MESSAGE REVISION TEXT" or "conflict".
    workers()["editor"] = [](const QStringList& args) {
        Workspace ws(args[0].toStdString());
        const Account me = authenticate(ws, args[1].toStdString(), std::nullopt);
        std::ofstream log(args[2].toStdString());
        std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>{}(args[1].toStdString())));
        for (int i = 0; i < kEdits; ++i) {
            const int64_t id = 1 + int64_t(rng() % kMessages);
            const Message m = getMessage(ws, id);
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));  // others may save meanwhile
            const std::string text = args[1].toStdString() + " の編集 " + std::to_string(i);
            try {
                const int64_t revision = editMessage(ws, me, id, m.revision, text);
                log << "ok " << id << ' ' << revision << ' ' << text << '\n';
            } catch (const ConflictError&) {
                log << "conflict\n";
            }
        }
        return 0;
    };
    return true;
}();
}  // namespace

class TestConcurrency : public QObject {
    Q_OBJECT
private slots:
    void noLostUpdates()
    {
        Fixture f;
        for (int i = 0; i < kMessages; ++i) {
            NewMessage m;
            m.text = "元の文 " + std::to_string(i);
            createMessage(*f.ws, f.admin, m);
        }
        std::vector<std::unique_ptr<QProcess>> procs;
        for (int w = 0; w < kWorkers; ++w) {
            const std::string name = "editor" + std::to_string(w);
            addAccount(*f.ws, f.admin, name, Role::Admin, std::nullopt);
            procs.emplace_back(startWorker("editor", {QString::fromStdString(f.path), QString::fromStdString(name),
                                                      f.dir.filePath(QString("log%1.txt").arg(w))}));
        }
        for (auto& p : procs) {
            QVERIFY(finished(*p, 300000));
            QCOMPARE(p->exitCode(), 0);
        }
        int64_t successes = 0, conflicts = 0;
        std::map<int64_t, int64_t> editsPer;
        for (int w = 0; w < kWorkers; ++w) {
            std::ifstream log(f.dir.filePath(QString("log%1.txt").arg(w)).toStdString());
            std::string kind;
            while (log >> kind) {
                if (kind == "conflict") {
                    ++conflicts;
                    continue;
                }
                int64_t id = 0, revision = 0;
                log >> id >> revision;
                std::string text;
                std::getline(log, text);
                text.erase(0, 1);
                // The text this edit saved is exactly the text of that revision: nothing
                // overwrote it silently.
                QCOMPARE(textAtRevision(*f.ws, id, revision), text);
                ++successes;
                ++editsPer[id];
            }
        }
        QCOMPARE(successes + conflicts, int64_t(kWorkers * kEdits));
        QVERIFY2(conflicts > 0, "no edit was stale; the test did not exercise conflicts");
        for (const auto& [id, edits] : editsPer) QCOMPARE(getMessage(*f.ws, id).revision, edits + 1);
        QCOMPARE(f.ws->db().queryInt("SELECT count(*) FROM audit_log WHERE action = 'message.edit'"), successes);
        qInfo("%lld edits saved, %lld conflicts reported", (long long)successes, (long long)conflicts);
    }
};

TSUMUGI_TEST_MAIN(TestConcurrency)
#include "test_concurrency.moc"
