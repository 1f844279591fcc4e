// datastore/quality over a workspace: settings, checks over messages, snapshot filters
// (dedup, exclude_contaminated) and the `check` / `contamination` commands.
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <map>
#include <set>

#include "core/error.h"
#include "datastore/messages.h"
#include "datastore/quality/workspace_checks.h"
#include "datastore/settings.h"
#include "datastore/snapshots.h"
#include "quality_cases.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

namespace {

// An approved prompt with one approved answer; returns {prompt, answer}.
std::pair<int64_t, int64_t> pair(Fixture& f, const std::string& prompt, const std::string& answer)
{
    NewMessage p;
    p.text = prompt;
    p.status = Status::Approved;
    const int64_t pid = createMessage(*f.ws, f.service, p);
    NewMessage a;
    a.parentId = pid;
    a.role = MessageRole::Assistant;
    a.text = answer;
    a.status = Status::Approved;
    return {pid, createMessage(*f.ws, f.service, a)};
}

std::string writeFile(QTemporaryDir& dir, const char* name, const char* content)
{
    const QString path = dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    file.write(content);
    return path.toStdString();
}

std::set<int64_t> itemIds(Fixture& f, const Snapshot& s)
{
    std::set<int64_t> ids;
    for (const auto& item : snapshotItems(*f.ws, s.id)) ids.insert(item.messageId);
    return ids;
}

const char* kKyoto = "京都でおすすめの観光地を三つ、理由と一緒に教えてください。春に行く予定です。";
const char* kKyotoAnswer = "清水寺、伏見稲荷大社、嵐山をおすすめします。清水寺は舞台からの眺めが、伏見稲荷は千本鳥居が見事です。";

}  // namespace

class TestQualityWorkspace : public QObject {
    Q_OBJECT
private slots:
    void filterParsing_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<double>("dedup");  // 0: unset
        QTest::addColumn<QStringList>("files");
        QTest::addColumn<int>("ngram");
        QTest::addColumn<bool>("error");
        QTest::newRow("dedup") << "dedup=0.8" << 0.8 << QStringList{} << 50 << false;
        QTest::newRow("both") << "status=approved;dedup=0.9;exclude_contaminated=a.jsonl,b.jsonl;contamination_ngram=30"
                              << 0.9 << QStringList{"a.jsonl", "b.jsonl"} << 30 << false;
        QTest::newRow("dedup not a number") << "dedup=high" << 0.0 << QStringList{} << 50 << true;
        QTest::newRow("dedup too low") << "dedup=0.3" << 0.0 << QStringList{} << 50 << true;
        QTest::newRow("ngram too small") << "contamination_ngram=3" << 0.0 << QStringList{} << 50 << true;
        QTest::newRow("no file") << "exclude_contaminated=" << 0.0 << QStringList{} << 50 << true;
    }
    void filterParsing()
    {
        QFETCH(QString, text);
        QFETCH(double, dedup);
        QFETCH(QStringList, files);
        QFETCH(int, ngram);
        QFETCH(bool, error);
        if (error) {
            QVERIFY_THROWS_EXCEPTION(Error, parseSnapshotFilter(text.toStdString()));
            return;
        }
        const SnapshotFilter f = parseSnapshotFilter(text.toStdString());
        QCOMPARE(f.dedupThreshold.value_or(0.0), dedup);
        QStringList got;
        for (const auto& file : f.excludeContaminated) got << QString::fromStdString(file);
        QCOMPARE(got, files);
        QCOMPARE(int(f.contaminationNgram), ngram);
    }

    void dedupKeepsOneTreePerCluster()
    {
        Fixture f;
        const auto first = pair(f, kKyoto, kKyotoAnswer);
        const auto copy = pair(f, kKyoto, kKyotoAnswer);  // exact duplicate tree
        std::string edited = kKyotoAnswer;
        edited.replace(edited.find("見事"), std::string("見事").size(), "有名");  // one word: Jaccard ≈ 0.9
        const auto nearCopy = pair(f, kKyoto, edited);
        const auto other = pair(f, "富士山に登るときの持ち物を箇条書きで教えてください。",
                                "雨具、防寒着、ヘッドライト、飲み物、行動食を持っていきましょう。");
        const Snapshot all = createSnapshot(*f.ws, f.admin, "all", parseSnapshotFilter(""), {});
        QCOMPARE(itemIds(f, all).size(), size_t(8));
        const Snapshot deduped = createSnapshot(*f.ws, f.admin, "dedup", parseSnapshotFilter("dedup=0.8"), {});
        QCOMPARE(itemIds(f, deduped), (std::set<int64_t>{first.first, first.second, other.first, other.second}));
        QVERIFY(snapshotByName(*f.ws, "dedup").filterJson.find("\"dedup\":0.8") != std::string::npos);
        QVERIFY(snapshotByName(*f.ws, "all").filterJson.find("dedup") == std::string::npos);  // old filters unchanged
        Q_UNUSED(copy);
        Q_UNUSED(nearCopy);
    }

    void excludeContaminated()
    {
        Fixture f;
        QTemporaryDir dir;
        const std::string eval = writeFile(dir, "elyza.jsonl", kElyzaLines);
        // The prompt copies ELYZA-tasks line 2's output: the whole tree goes.
        const auto leaked = pair(f,
                                 "次の回答を採点してください：一つ目の文章では、相手が何度もテストで赤点を取っていることに"
                                 "対して苛立ちを感じているように見受けられます。",
                                 "よく書けています。");
        // Only the answer copies it: the prompt stays.
        const auto answerLeaked = pair(f, "怒りの程度を説明してください。",
                                       "一つ目の文章では、相手が何度もテストで赤点を取っていることに対して苛立ちを感じているよ"
                                       "うに見受けられます。");
        const auto clean = pair(f, kKyoto, kKyotoAnswer);
        const Snapshot s = createSnapshot(*f.ws, f.admin, "clean",
                                          parseSnapshotFilter("exclude_contaminated=" + eval), {});
        QCOMPARE(itemIds(f, s), (std::set<int64_t>{answerLeaked.first, clean.first, clean.second}));
        QVERIFY(s.filterJson.find("\"sha256\"") != std::string::npos);
        Q_UNUSED(leaked);
        // A file that is not there: a clear error naming it, and no snapshot.
        try {
            createSnapshot(*f.ws, f.admin, "missing", parseSnapshotFilter("exclude_contaminated=/nonexistent/x.jsonl"), {});
            QFAIL("a missing evaluation file must be refused");
        } catch (const Error& e) {
            QVERIFY(std::string(e.what()).find("/nonexistent/x.jsonl") != std::string::npos);
        }
        QVERIFY_THROWS_EXCEPTION(NotFoundError, snapshotByName(*f.ws, "missing"));
    }

    void checksOverTheWorkspace()
    {
        Fixture f;
        setSetting(*f.ws, f.admin, "quality", nlohmann::json::parse(R"({"hiragana_fraction_min": 0.1})"));
        setSetting(*f.ws, f.admin, "ng_words", nlohmann::json::parse(R"(["バカ"])"));
        QVERIFY_THROWS_EXCEPTION(PermissionError, setSetting(*f.ws, f.alice, "ng_words", nlohmann::json::array()));
        const quality::QualityConfig config = quality::qualityConfig(*f.ws);
        QCOMPARE(config.thresholds.hiraganaFractionMin, 0.1);
        QCOMPARE(config.ngWords, std::vector<std::string>{"バカ"});

        const auto english = pair(f, "日本の首都はどこですか？", "The capital of Japan is Tokyo.");
        const auto ng = pair(f, "この文を直してください：お前はバカだ。", "「あなたは思慮が足りない」と言い換えられます。");
        const auto dupA = pair(f, kKyoto, "清水寺です。");
        const auto dupB = pair(f, kKyoto, "金閣寺です。");
        const auto items = quality::loadItems(*f.ws);
        QCOMPARE(items.size(), size_t(8));
        std::map<int64_t, quality::ItemReport> reports;
        const auto summary = quality::checkItems(items, config, [&](const quality::ItemReport& r) { reports[r.item->id] = r; });
        QCOMPARE(summary.items, size_t(8));
        QCOMPARE(summary.languageMismatches, size_t(1));
        QVERIFY(reports.at(english.second).language->mismatch);
        QCOMPARE(summary.ngWordItems, size_t(1));
        QCOMPARE(reports.at(ng.first).report.ngWords.size(), size_t(1));
        QCOMPARE(summary.clusters.size(), size_t(1));  // the two identical prompts
        QCOMPARE(summary.clusters[0].ids, (std::vector<int64_t>{dupA.first, dupB.first}));
        QVERIFY(summary.clusters[0].exact);

        // An incoming file against the workspace.
        QTemporaryDir dir;
        const std::string incoming = writeFile(dir, "incoming.jsonl",
                                               "{\"instruction\": \"京都でおすすめの観光地を三つ、理由と一緒に教えてください。春に行く予定です。\"}\n"
                                               "{\"instruction\": \"新しい質問です。\"}\n");
        const auto texts = quality::readTextFields(incoming);
        const auto dups = quality::incomingDuplicates(items, texts, 0.8);
        // Line 1 equals both prompts; exact copies are joined to the first, so it is reported
        // once, against the older message.
        QCOMPARE(dups.size(), size_t(1));
        QCOMPARE(texts[dups[0].incoming].line, int64_t(1));
        QCOMPARE(dups[0].messageId, dupA.first);
        QCOMPARE(dups[0].jaccard, 1.0);
    }

    void commands()
    {
        Fixture f;
        const auto english = pair(f, "日本の首都はどこですか？", "The capital of Japan is Tokyo.");
        const auto phone = pair(f, "連絡先を教えてください。", "電話は03-1234-5678です。");
        pair(f, kKyoto, kKyotoAnswer);
        pair(f, kKyoto, kKyotoAnswer);
        QTemporaryDir dir;
        const std::string eval = writeFile(dir, "mt.jsonl", kMtBenchLines);
        const auto leak = pair(f, "上司にフィードバックを求めるプロのメールを書いてください。", "承知しました。");
        f.ws.reset();  // let the command open the file alone

        auto run = [&](const QStringList& args) {
            QProcess p;
            p.start(TSUMUGI_CLI_PATH, args);
            p.waitForFinished(120000);
            if (p.exitCode() != 0) qWarning("%s", p.readAllStandardError().constData());
            QList<QJsonObject> lines;
            for (const QByteArray& line : p.readAllStandardOutput().split('\n'))
                if (!line.isEmpty()) lines << QJsonDocument::fromJson(line).object();
            return std::pair(p.exitCode(), lines);
        };
        const QString ws = QString::fromStdString(f.path);
        const auto [code, lines] = run({"--json", "check", ws});
        QCOMPARE(code, 0);
        int items = 0, clusters = 0;
        for (const auto& j : lines) {
            if (j["event"] == "item") {
                ++items;
                if (j["id"].toInteger() == english.second) QVERIFY(j["language"].toObject()["mismatch"].toBool());
                if (j["id"].toInteger() == phone.second) {
                    QCOMPARE(j["pii"].toArray()[0].toObject()["kind"].toString(), QString("phone"));
                    QCOMPARE(j["pii"].toArray()[0].toObject()["span"].toObject()["cp_begin"].toInt(), 3);
                }
            }
            clusters += j["event"] == "cluster";
        }
        QCOMPARE(items, 10);
        QCOMPARE(clusters, 2);  // the copied prompt and the copied answer
        QCOMPARE(lines.last()["event"].toString(), QString("check.end"));

        const auto [ccode, clines] = run({"--json", "contamination", ws, "--against", QString::fromStdString(eval)});
        QCOMPARE(ccode, 0);
        QCOMPARE(clines.size(), 2);
        QCOMPARE(clines[0]["id"].toInteger(), leak.first);
        QCOMPARE(clines[0]["line"].toInt(), 2);
        QCOMPARE(clines[0]["field"].toString(), QString("turns[0]"));
        QCOMPARE(clines[1]["contaminated"].toInt(), 1);

        const auto [gcode, glines] = run({"--json", "settings", "get", ws, "quality"});
        QCOMPARE(gcode, 0);
        QCOMPARE(glines[0]["value"].toObject()["hiragana_fraction_min"].toDouble(), 0.2);
    }
};

TSUMUGI_TEST_MAIN(TestQualityWorkspace)
#include "test_quality_workspace.moc"
