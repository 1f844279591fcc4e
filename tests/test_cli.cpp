// The `tsumugi` command end to end, as a user runs it: init, import (good and bad files),
// snapshot, export, search, stats, agreement, accounts, backup, --json output, exit codes.
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

class TestCli : public QObject {
    Q_OBJECT

    QTemporaryDir dir;
    QString ws;

    struct Result {
        int code;
        QString out;
        QString err;
    };

    Result run(const QStringList& args, const QByteArray& env = {})
    {
        QProcess p;
        auto environment = QProcessEnvironment::systemEnvironment();
        environment.remove("TSUMUGI_ACCOUNT");
        environment.remove("TSUMUGI_PASSWORD");
        if (!env.isEmpty()) {
            const auto kv = env.split('=');
            environment.insert(kv[0], kv.mid(1).join('='));
        }
        p.setProcessEnvironment(environment);
        p.start(TSUMUGI_CLI_PATH, args);
        p.waitForFinished(120000);
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
    }

    QString sample(const char* name) { return QString(TSUMUGI_SAMPLES_DIR) + "/" + name; }

private slots:
    void initTestCase()
    {
        ws = dir.filePath("team.tsumugi");
        const Result r = run({"init", ws, "--admin", "kanri"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("kanri"));
        // init again is harmless (reports the schema).
        QCOMPARE(run({"init", ws}).code, 0);
    }

    void importSamplesAndStats()
    {
        for (const char* f : {"01-qa.jsonl", "08-code.jsonl"}) {
            const Result r = run({"import", ws, sample(f), "--format", "tree", "--source", "samples", "--licence",
                                  "CC0-1.0", "--redistributable"});
            QVERIFY2(r.code == 0, qPrintable(r.err));
            QVERIFY(r.out.contains("imported 15 records"));
        }
        const Result stats = run({"--json", "stats", ws});
        QCOMPARE(stats.code, 0);
        const auto j = QJsonDocument::fromJson(stats.out.toUtf8()).object();
        QCOMPARE(j["trees"].toInt(), 30);
        QVERIFY(j["by_tag"].toObject().contains("コード"));
        QVERIFY(j["length_chars"].toObject()["assistant"].toObject()["max"].toInt() > 100);
        const Result agreement = run({"agreement", ws});
        QVERIFY(agreement.out.contains("sato ~ suzuki"));
    }

    void badFileNamesLineAndField()
    {
        const QString bad = dir.filePath("bad.jsonl");
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]})" "\n");
        f.write(R"({"messages":[{"role":"user","content":"a"},{"role":"assistant"}]})" "\n");
        f.close();
        const Result r = run({"import", ws, bad});
        QCOMPARE(r.code, 65);
        QVERIFY2(r.err.contains("bad.jsonl:2: field 'messages[1].content' is missing"), qPrintable(r.err));
        const Result skip = run({"import", ws, bad, "--skip-invalid"});
        QCOMPARE(skip.code, 0);
        QVERIFY(skip.out.contains("rejected 1 lines"));
        QVERIFY(QFile::exists(bad + ".rejects.jsonl"));
    }

    void snapshotExportSearch()
    {
        QCOMPARE(run({"snapshot", "create", ws, "v1", "--split", "train=0.8,test=0.2"}).code, 0);
        const Result again = run({"snapshot", "create", ws, "v1"});
        QCOMPARE(again.code, 75);  // conflict: snapshots never change
        const Result list = run({"--json", "snapshot", "list", ws});
        QVERIFY(list.out.contains("\"name\":\"v1\""));
        const QString out = dir.filePath("export");
        // bad.jsonl was imported without --source: recorded under its file name, licence
        // unspecified, not redistributable, so exporting it is refused until the user says so.
        const Result refused = run({"export", ws, out, "--snapshot", "v1", "--format", "messages"});
        QCOMPARE(refused.code, 77);
        QVERIFY2(refused.err.contains("'bad.jsonl'") && refused.err.contains("--allow-restricted"), qPrintable(refused.err));
        QVERIFY(!QFile::exists(out + "/train.jsonl"));
        const Result e = run({"export", ws, out, "--snapshot", "v1", "--format", "messages", "--allow-restricted",
                              "--hf-dataset"});
        QVERIFY2(e.code == 0, qPrintable(e.err));
        QFile card(out + "/README.md");
        QVERIFY(card.open(QIODevice::ReadOnly));
        const QString cardText = QString::fromUtf8(card.readAll());
        QVERIFY(cardText.startsWith("---\nlicense: other\n"));
        QVERIFY(cardText.contains("**Restricted:**"));
        QVERIFY(cardText.contains("path: \"train.jsonl\""));
        QVERIFY(QFile::exists(out + "/train.jsonl"));
        QVERIFY(QFile::exists(out + "/test.jsonl"));
        QFile train(out + "/train.jsonl");
        QVERIFY(train.open(QIODevice::ReadOnly));
        int lines = 0;
        while (!train.atEnd()) {
            const QByteArray line = train.readLine();
            QJsonParseError error;
            const auto doc = QJsonDocument::fromJson(line, &error);
            QCOMPARE(error.error, QJsonParseError::NoError);
            QVERIFY(doc.object()["messages"].isArray());
            ++lines;
        }
        QVERIFY(lines > 20);

        const Result s = run({"--json", "search", ws, "Python", "--limit", "3"});
        QCOMPARE(s.code, 0);
        const auto rows = s.out.trimmed().split('\n');
        QVERIFY(rows.size() >= 2);
        for (const QString& row : rows) {
            const auto obj = QJsonDocument::fromJson(row.toUtf8()).object();
            QVERIFY(!obj.isEmpty());
            if (obj.contains("text")) QVERIFY(obj["text"].toString().contains("Python"));
        }
        const Result one = run({"search", ws, "猫"});
        QCOMPARE(one.code, 0);
    }

    void accountsAndPermissions()
    {
        QCOMPARE(run({"--as", "kanri", "account", "add", ws, "sato2", "--role", "annotator"}).code, 0);
        const Result denied = run({"--as", "sato2", "account", "add", ws, "eve", "--role", "admin"});
        QCOMPARE(denied.code, 77);
        QVERIFY(denied.err.contains("permission denied"));
        const Result viaEnv = run({"account", "add", ws, "eve", "--role", "admin"}, "TSUMUGI_ACCOUNT=sato2");
        QCOMPARE(viaEnv.code, 77);
        QCOMPARE(run({"--as", "sato2", "import", ws, sample("02-summary.jsonl"), "--format", "tree"}).code, 77);
        const Result task = run({"--json", "--as", "sato2", "task", "next", ws});
        QCOMPARE(task.code, 0);
        QVERIFY(task.out.contains("\"task\""));
        const Result list = run({"account", "list", ws});
        QVERIFY(list.out.contains("sato2\tannotator\tactive"));
    }

    void backupAndErrors()
    {
        const QString copy = dir.filePath("copy.tsumugi");
        QCOMPARE(run({"backup", ws, copy}).code, 0);
        QCOMPARE(run({"stats", copy}).code, 0);
        const Result missing = run({"stats", dir.filePath("missing.tsumugi")});
        QCOMPARE(missing.code, 1);
        QVERIFY(missing.err.contains("tsumugi init"));
        QVERIFY(run({"import", ws, sample("01-qa.jsonl"), "--format", "csv"}).err.contains("messages, sharegpt, alpaca"));
        QVERIFY(run({"frobnicate"}).code != 0);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
