// `tsumugi model init` and `tsumugi generate` end to end, as a user runs them: a tiny model
// with the fixture SentencePiece tokenizer, generation through a named chat template and
// raw, reproducible with a seed, and the errors a user meets.
#include <algorithm>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

class TestCliModel : public QObject {
    Q_OBJECT

    QTemporaryDir dir;

    struct Result {
        int code;
        QString out;
        QString err;
    };
    Result run(const QStringList& args)
    {
        QProcess p;
        p.start(TSUMUGI_CLI_PATH, args);
        p.waitForFinished(120000);
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
    }

private slots:
    void initAndGenerate()
    {
        const QString tok = dir.filePath("tok");
        QVERIFY(QDir().mkpath(tok));
        QVERIFY(QFile::copy(QString(TSUMUGI_FIXTURES_DIR) + "/sp-ja.model", tok + "/tokenizer.model"));
        const QString model = dir.filePath("tiny");
        const Result init = run({"model", "init", "--config", "tiny", "--tokenizer", tok, "--out", model, "--seed", "7"});
        QVERIFY2(init.code == 0, qPrintable(init.err));
        for (const char* f : {"config.json", "model.safetensors", "tokenizer.model"})
            QVERIFY(QFile::exists(model + "/" + f));

        auto generateJson = [&](const QStringList& extra) {
            const Result r = run(QStringList{"--json", "generate", model, "--prompt", "京都の紅葉について教えて",
                                             "--max-new-tokens", "6"} +
                                 extra);
            if (r.code != 0) qWarning("%s", qPrintable(r.err));
            return QJsonDocument::fromJson(r.out.toUtf8()).object();
        };
        const QJsonObject greedy = generateJson({"--template", "llama2-ja"});
        QVERIFY(!greedy.isEmpty());
        const QJsonArray promptIds = greedy["prompt_ids"].toArray();
        QCOMPARE(promptIds.first().toInt(), 1);  // BOS once, from the template
        QCOMPARE(std::count_if(promptIds.begin(), promptIds.end(), [](const QJsonValue& v) { return v.toInt() == 1; }),
                 qsizetype(1));
        QVERIFY(greedy["ids"].toArray().size() <= 6);
        QCOMPARE(generateJson({"--template", "llama2-ja"}), greedy);  // greedy is deterministic
        const QJsonObject sampled = generateJson({"--raw", "--temperature", "0.9", "--seed", "5"});
        QCOMPARE(generateJson({"--raw", "--temperature", "0.9", "--seed", "5"}), sampled);

        const Result noTemplate = run({"generate", model, "--prompt", "x"});
        QVERIFY(noTemplate.code != 0);
        QVERIFY(noTemplate.err.contains("--template"));
        const Result missing = run({"generate", dir.filePath("nothing"), "--prompt", "x"});
        QVERIFY(missing.code != 0);
    }
};

QTEST_GUILESS_MAIN(TestCliModel)
#include "test_cli_model.moc"
