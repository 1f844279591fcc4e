// Shared helpers for the QtTest executables: temporary workspaces with the usual accounts,
// and a main() that can also run the executable as a worker process (for tests that need
// several processes writing one workspace).
#pragma once

#include <QCoreApplication>
#include <QDir>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "datastore/accounts.h"
#include "datastore/workspace.h"

namespace tsumugi::test {

struct Fixture {
    QTemporaryDir dir;
    std::string path;
    std::unique_ptr<Workspace> ws;
    Account admin, service, alice, bob, carol, rev;

    Fixture()
    {
        path = dir.filePath("ws.tsumugi").toStdString();
        WorkspaceOptions options;
        options.create = true;
        ws = std::make_unique<Workspace>(path, options);
        admin = bootstrapAccounts(*ws, "admin", std::nullopt);
        service = *findAccount(*ws, kServiceAccountName);
        alice = addAccount(*ws, admin, "alice", Role::Annotator, std::nullopt);
        bob = addAccount(*ws, admin, "bob", Role::Annotator, std::nullopt);
        carol = addAccount(*ws, admin, "carol", Role::Annotator, std::nullopt);
        rev = addAccount(*ws, admin, "rev", Role::Reviewer, std::nullopt);
    }

    // Another connection to the same file (another "process" for locking purposes).
    std::unique_ptr<Workspace> reopen() const { return std::make_unique<Workspace>(path); }
};

inline std::string integrityCheck(Workspace& ws)
{
    auto st = ws.db().prepare("PRAGMA integrity_check");
    std::string out;
    while (st.step()) out += (out.empty() ? "" : "\n") + st.text(0);
    return out;
}

inline std::string fixturePath(const char* name) { return std::string(TSUMUGI_FIXTURES_DIR) + "/" + name; }

// Worker processes: the test executable started again with "--worker NAME args…".
using Worker = std::function<int(const QStringList& args)>;
inline std::map<QString, Worker>& workers()
{
    static std::map<QString, Worker> w;
    return w;
}

inline QProcess* startWorker(const QString& name, const QStringList& args)
{
    auto* p = new QProcess;
    p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p->start(QCoreApplication::applicationFilePath(), QStringList{"--worker", name} + args);
    return p;
}

// Waits for a worker; true when it has ended (also when it ended before this call).
inline bool finished(QProcess& p, int ms = 120000)
{
    return p.state() == QProcess::NotRunning || p.waitForFinished(ms);
}

}  // namespace tsumugi::test

// QTEST_MAIN with worker dispatch.
#define TSUMUGI_TEST_MAIN(TestClass)                                                   \
    int main(int argc, char** argv)                                                    \
    {                                                                                  \
        QCoreApplication app(argc, argv);                                              \
        const QStringList args = app.arguments();                                      \
        if (args.size() >= 3 && args[1] == "--worker") {                               \
            auto it = tsumugi::test::workers().find(args[2]);                          \
            if (it == tsumugi::test::workers().end()) return 99;                       \
            try {                                                                      \
                return it->second(args.mid(3));                                        \
            } catch (const std::exception& e) {                                        \
                fprintf(stderr, "worker %s: %s\n", qPrintable(args[2]), e.what());     \
                return 98;                                                             \
            }                                                                          \
        }                                                                              \
        TestClass test;                                                                \
        QTEST_SET_MAIN_SOURCE_PATH                                                     \
        return QTest::qExec(&test, argc, argv);                                        \
    }
