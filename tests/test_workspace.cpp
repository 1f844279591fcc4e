// Opening workspaces: schema version and migrations on a real schema-1 file, files from the
// future and files that are not workspaces (refused, untouched), network filesystems,
// online backup while another process writes.
#include <QCryptographicHash>
#include <QFile>
#include <QTest>

#include <sqlite3.h>

#include <filesystem>

#include "core/error.h"
#include "datastore/messages.h"
#include "datastore/rankings.h"
#include "datastore/search.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

namespace {
QByteArray fileHash(const std::string& path)
{
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

void rawExec(const std::string& path, const char* sql)
{
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    sqlite3_close(db);
}

// Writer for backupWhileWriting: adds messages until killed.
const bool registered = [] {
    workers()["writer"] = [](const QStringList& args) {
        Workspace ws(args[0].toStdString());
        const Account service = *findAccount(ws, kServiceAccountName);
        for (int i = 0; i < 400; ++i) {
            NewMessage m;
            m.text = "書き込み中のメッセージ " + std::to_string(i);
            m.status = Status::Approved;
            createMessage(ws, service, m);
        }
        return 0;
    };
    return true;
}();
}  // namespace

class TestWorkspace : public QObject {
    Q_OBJECT
private slots:
    void newWorkspaceIsAtLatestSchema()
    {
        Fixture f;
        QCOMPARE(f.ws->schemaVersion(), Workspace::latestSchemaVersion());
        QCOMPARE(f.ws->db().queryInt("PRAGMA application_id"), Workspace::kApplicationId);
        QCOMPARE(f.ws->db().queryInt("SELECT count(*) FROM schema_migrations"),
                 int64_t(Workspace::latestSchemaVersion()));
        QCOMPARE(f.ws->db().queryInt("PRAGMA foreign_keys"), int64_t(1));
        auto st = f.ws->db().prepare("PRAGMA journal_mode");
        QVERIFY(st.step());
        QCOMPARE(st.text(0), std::string("wal"));
    }

    void missingFileSaysHowToCreate()
    {
        QTemporaryDir dir;
        try {
            Workspace ws(dir.filePath("none.tsumugi").toStdString());
            QFAIL("opened a missing workspace");
        } catch (const NotFoundError& e) {
            QVERIFY(QString(e.what()).contains("tsumugi init"));
        }
    }

    void schemaOneFileMigrates()
    {
        // tests/fixtures/workspace-v1.tsumugi was written by schema 1 (make-workspace-v1.sh).
        QTemporaryDir dir;
        const std::string path = dir.filePath("old.tsumugi").toStdString();
        std::filesystem::copy_file(fixturePath("workspace-v1.tsumugi"), path);
        Workspace ws(path);
        QCOMPARE(ws.openedAtSchema(), 1);
        QCOMPARE(ws.schemaVersion(), Workspace::latestSchemaVersion());
        const Message m = getMessage(ws, 2);
        QCOMPARE(m.revision, int64_t(2));
        QCOMPARE(textAtRevision(ws, 2, 1), std::string("東福寺と永観堂がよく知られています。"));
        QCOMPARE(rankingsOf(ws, 1).size(), size_t(1));
        // The schema-2 search index was built from the old rows.
        SearchQuery q;
        q.text = "猫";
        q.statuses = {Status::Rejected};
        QCOMPARE(searchMessages(ws, q).ids, std::vector<int64_t>{3});
        q.text = "紅葉";
        q.statuses = {};
        QCOMPARE(searchMessages(ws, q).ids, std::vector<int64_t>{1});
        QCOMPARE(integrityCheck(ws), std::string("ok"));
    }

    void fileFromTheFutureIsRefusedUntouched()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("future.tsumugi").toStdString();
        {
            WorkspaceOptions o;
            o.create = true;
            Workspace ws(path, o);
        }
        rawExec(path, ("PRAGMA journal_mode=DELETE; PRAGMA user_version=" +
                       std::to_string(Workspace::latestSchemaVersion() + 1))
                          .c_str());
        const QByteArray before = fileHash(path);
        try {
            Workspace ws(path);
            QFAIL("opened a workspace from a newer version");
        } catch (const SchemaError& e) {
            QVERIFY(QString(e.what()).contains("newer Tsumugi"));
            QVERIFY(QString(e.what()).contains("upgrade"));
        }
        QCOMPARE(fileHash(path), before);
        QVERIFY(!std::filesystem::exists(path + "-wal"));
    }

    void foreignSqliteFileIsRefused()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("other.db").toStdString();
        rawExec(path, "CREATE TABLE notes(x); INSERT INTO notes VALUES (1);");
        const QByteArray before = fileHash(path);
        QVERIFY_THROWS_EXCEPTION(SchemaError, Workspace{path});
        QCOMPARE(fileHash(path), before);
    }

    void notSqliteAtAll()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("text.tsumugi").toStdString();
        QFile f(QString::fromStdString(path));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        try {
            Workspace ws(path);
            QFAIL("opened a text file");
        } catch (const Error& e) {
            QVERIFY(QString(e.what()).contains("not a Tsumugi workspace") || QString(e.what()).contains("not a database"));
        }
    }

    void networkFilesystemRefusesWrites()
    {
        QCOMPARE(networkFilesystemName(0x6969), std::string("nfs"));
        QCOMPARE(networkFilesystemName(0xFF534D42), std::string("cifs"));
        QCOMPARE(networkFilesystemName(0xEF53), std::string(""));  // ext4
        Fixture f;
        f.ws.reset();
        WorkspaceOptions remote;
        remote.assumeNetworkFs = true;
        Workspace ws(f.path, remote);
        QVERIFY(ws.onNetworkFilesystem());
        NewMessage m;
        m.text = "テスト";
        try {
            createMessage(ws, *findAccount(ws, "alice"), m);
            QFAIL("wrote to a workspace on a network filesystem");
        } catch (const Error& e) {
            QVERIFY(QString(e.what()).contains("network filesystem"));
            QVERIFY(QString(e.what()).contains("--force"));
        }
        remote.forceNetworkFs = true;
        Workspace forced(f.path, remote);
        QVERIFY(createMessage(forced, *findAccount(forced, "alice"), m) > 0);
    }

    void backupWhileWriting()
    {
        Fixture f;
        std::unique_ptr<QProcess> writer(startWorker("writer", {QString::fromStdString(f.path)}));
        QVERIFY(writer->waitForStarted());
        for (int i = 0; i < 3; ++i) {
            QTest::qWait(150);
            const std::string copy = f.dir.filePath(QString("backup-%1.tsumugi").arg(i)).toStdString();
            f.ws->backupTo(copy);
            Workspace backup(copy);
            QCOMPARE(integrityCheck(backup), std::string("ok"));
            // One consistent moment: every message has its audit row, nothing half-written.
            QCOMPARE(backup.db().queryInt("SELECT count(*) FROM messages"),
                     backup.db().queryInt("SELECT count(*) FROM audit_log WHERE action = 'message.create'"));
        }
        QVERIFY(finished(*writer, 60000));
        QCOMPARE(writer->exitCode(), 0);
        QVERIFY_THROWS_EXCEPTION(Error, f.ws->backupTo(f.dir.filePath("backup-0.tsumugi").toStdString()));
    }
};

TSUMUGI_TEST_MAIN(TestWorkspace)
#include "test_workspace.moc"
