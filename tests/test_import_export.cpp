// Import and export: round trips that keep every message and field, compressed streams,
// and malformed inputs that each get a clear error (file:line:column, the field, what was
// expected) while nothing is written.
#include <QDir>
#include <QFile>
#include <QTest>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "datastore/snapshots.h"
#include "export/exporter.h"
#include "export/importer.h"
#include "export/jsonl.h"
#include "import_cases.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

namespace {
void writeFile(const std::string& path, const std::string& content)
{
    std::ofstream out(path, std::ios::binary);
    out << content;
}

std::vector<nlohmann::json> readJsonl(const std::string& path)
{
    JsonlReader reader(path, 1 << 26);
    std::vector<nlohmann::json> out;
    JsonlReader::Line line;
    while (reader.next(line))
        if (!line.text.empty()) out.push_back(nlohmann::json::parse(line.text));
    return out;
}

std::vector<nlohmann::json> roundTrip(Fixture& f, const std::string& input, Format format, const std::string& out,
                                      const std::string& filter = "")
{
    ImportOptions io;
    io.format = format;
    io.sourceName = "test-lines";
    io.licence = "CC0-1.0";
    io.redistributable = true;
    importFile(*f.ws, f.service, input, io);
    createSnapshot(*f.ws, f.admin, "all", parseSnapshotFilter(filter), parseSplitSpec("train=1"));
    ExportOptions eo;
    eo.format = format;
    eo.snapshot = "all";
    eo.outDir = out;
    eo.extension = input.substr(input.find(".jsonl"));
    const ExportReport r = exportSnapshot(*f.ws, eo);
    return readJsonl(r.files.at("train"));
}

int64_t messageCount(Fixture& f) { return f.ws->db().queryInt("SELECT count(*) FROM messages"); }
}  // namespace

class TestImportExport : public QObject {
    Q_OBJECT
private slots:
    void messagesRoundTrip_data()
    {
        QTest::addColumn<QString>("extension");
        QTest::newRow("plain") << ".jsonl";
        QTest::newRow("gzip") << ".jsonl.gz";
        QTest::newRow("zstd") << ".jsonl.zst";
    }
    void messagesRoundTrip()
    {
        QFETCH(QString, extension);
        Fixture f;
        const std::vector<std::string> lines = {
            R"({"messages":[{"role":"user","content":"日本の首都は？"},{"role":"assistant","content":"東京です。"}]})",
            R"({"id":"x-2","messages":[{"role":"system","content":"あなたは誠実で優秀な日本人のアシスタントです。"},{"role":"user","content":"１２１ と 121 は同じですか？"},{"role":"assistant","content":"全角と半角で、文字としては違います。","name":"helper"}],"category":"質問応答"})",
            R"({"messages":[{"role":"user","content":"しりとりをしましょう。りんご"},{"role":"assistant","content":"ごりら"},{"role":"user","content":"らっぱ"},{"role":"assistant","content":"パンダ\n（改行も\tタブもそのまま）"}]})",
        };
        const std::string input = f.dir.filePath("in").toStdString() + extension.toStdString();
        {
            JsonlWriter w(input);
            for (const auto& l : lines) w.writeLine(l);
            w.commit();
        }
        const auto out = roundTrip(f, input, Format::Messages, f.dir.filePath("out").toStdString());
        QCOMPARE(out.size(), lines.size());
        for (size_t i = 0; i < lines.size(); ++i)
            QVERIFY2(out[i] == nlohmann::json::parse(lines[i]), qPrintable(QString::fromStdString(out[i].dump())));
    }

    void alpacaRoundTrip()
    {
        Fixture f;
        const std::vector<std::string> lines = {
            R"({"instruction":"次の文を英語に訳してください。","input":"猫が好きです。","output":"I like cats."})",
            R"({"instruction":"俳句を作ってください。","input":"","output":"古池や"})",
            R"({"instruction":"挨拶を一つ。","output":"こんにちは。","category":"open_qa","index":"7"})",
            R"({"instruction":"要約してください。","input":null,"output":"短くまとめました。"})",
        };
        const std::string input = f.dir.filePath("alpaca.jsonl").toStdString();
        std::string content;
        for (const auto& l : lines) content += l + "\n";
        writeFile(input, content);
        const auto out = roundTrip(f, input, Format::Alpaca, f.dir.filePath("out").toStdString());
        QCOMPARE(out.size(), lines.size());
        for (size_t i = 0; i < lines.size(); ++i)
            QVERIFY2(out[i] == nlohmann::json::parse(lines[i]), qPrintable(QString::fromStdString(out[i].dump())));
        // The user message is the instruction and its input, as training renders them.
        auto st = f.ws->db().prepare("SELECT text FROM messages WHERE role = 'user' ORDER BY id LIMIT 1");
        QVERIFY(st.step());
        QCOMPARE(st.text(0), std::string("次の文を英語に訳してください。\n\n猫が好きです。"));
    }

    void treeRoundTripOfTheSamples()
    {
        // Every sample tree, with rankings, reviews, labels, tags and statuses, comes back.
        Fixture f;
        const std::string input = std::string(TSUMUGI_SAMPLES_DIR) + "/01-qa.jsonl";
        const std::string copy = f.dir.filePath("01-qa.jsonl").toStdString();
        std::filesystem::copy_file(input, copy);
        const auto out = roundTrip(f, copy, Format::Tree, f.dir.filePath("out").toStdString(),
                                   "status=draft,submitted,approved,needs_fix,rejected");
        auto in = readJsonl(copy);
        QCOMPARE(out.size(), in.size());
        // Labels are a set: their order in a record means nothing.
        auto sortLabels = [](nlohmann::json record) {
            if (record.contains("labels")) std::sort(record["labels"].begin(), record["labels"].end());
            return record;
        };
        for (size_t i = 0; i < in.size(); ++i)
            QVERIFY2(sortLabels(out[i]) == sortLabels(in[i]),
                     qPrintable(QString::fromStdString(in[i].dump() + "\n" + out[i].dump())));
    }

    void fastParserAgreesWithFullParser()
    {
        // simdjson takes the plain shapes; whatever it accepts must parse exactly as the full
        // (nlohmann) parser parses it, and whatever else it hands back (nullopt).
        const auto lines = fastParserCases();
        FastRecordParser fast;
        int accepted = 0;
        for (const auto& [format, line] : lines) {
            const auto quick = fast.parse(format, line);
            std::optional<Record> full;
            try {
                full = parseRecord(format, line, "lines", 1);
            } catch (const ParseError&) {
                QVERIFY2(!quick, line.c_str());  // the fast path never accepts what the full one refuses
                continue;
            }
            if (!quick) continue;
            ++accepted;
            QCOMPARE(quick->nodes.size(), full->nodes.size());
            for (size_t i = 0; i < full->nodes.size(); ++i) {
                QCOMPARE(quick->nodes[i].key, full->nodes[i].key);
                QCOMPARE(quick->nodes[i].parent, full->nodes[i].parent);
                QCOMPARE(quick->nodes[i].role, full->nodes[i].role);
                QCOMPARE(quick->nodes[i].text, full->nodes[i].text);
                QCOMPARE(quick->nodes[i].meta.dump(), full->nodes[i].meta.dump());
            }
        }
        QCOMPARE(accepted, 6);
    }

    void directJsonEqualsNlohmann()
    {
        std::string all;
        for (int c = 1; c < 0x80; ++c) all += char(c);
        for (const std::string& text : {all, std::string("引用「\"」と\\と😀"), std::string("a\0b", 3), std::string()}) {
            std::string ours;
            appendJsonString(ours, text);
            QCOMPARE(ours, nlohmann::json(text).dump());
        }
    }

    void malformedInputs_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("expected");  // in the error message
        for (const auto& c : malformedCases()) QTest::newRow(c.name) << c.content << c.expected;
    }
    void malformedInputs()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, expected);
        Fixture f;
        const std::string path = f.dir.filePath("in.jsonl").toStdString();
        writeFile(path, content.toStdString());
        try {
            importFile(*f.ws, f.service, path, {});
            QFAIL("a malformed file was imported");
        } catch (const ParseError& e) {
            QVERIFY2(QString(e.what()).contains(expected), e.what());
            QVERIFY(QString(e.what()).startsWith(QString::fromStdString(path)));
        }
        QCOMPARE(messageCount(f), int64_t(0));  // one transaction: nothing written
    }

    void skipInvalidWritesRejects()
    {
        Fixture f;
        const std::string path = f.dir.filePath("mixed.jsonl").toStdString();
        writeFile(path, R"({"messages":[{"role":"user","content":"一"},{"role":"assistant","content":"1"}]})"
                        "\n{broken\n"
                        R"({"messages":[{"role":"user","content":"二"},{"role":"assistant","content":2}]})"
                        "\n"
                        R"({"messages":[{"role":"user","content":"三"},{"role":"assistant","content":"3"}]})"
                        "\n");
        ImportOptions o;
        o.skipInvalid = true;
        const ImportReport r = importFile(*f.ws, f.service, path, o);
        QCOMPARE(r.records, int64_t(2));
        QCOMPARE(r.messages, int64_t(4));
        QCOMPARE(r.rejected, int64_t(2));
        QCOMPARE(r.rejectsPath, path + ".rejects.jsonl");
        const auto rejects = readJsonl(r.rejectsPath);
        QCOMPARE(rejects.size(), size_t(2));
        QCOMPARE(rejects[0]["line"].get<int>(), 2);
        QCOMPARE(rejects[0]["text"].get<std::string>(), std::string("{broken"));
        QCOMPARE(rejects[1]["line"].get<int>(), 3);
        QVERIFY(QString::fromStdString(rejects[1]["error"].get<std::string>()).contains("messages[1].content"));
        QCOMPARE(messageCount(f), int64_t(4));
    }

    void sourcesTagsAndStatus()
    {
        Fixture f;
        const std::string path = f.dir.filePath("in.jsonl").toStdString();
        writeFile(path, R"({"instruction":"質問","output":"答え"})");
        ImportOptions o;
        o.format = Format::Alpaca;
        o.tags = {"dolly-ja", "batch-1"};
        o.sourceName = "dolly-ja";
        o.licence = "CC-BY-SA-3.0";
        o.status = Status::Submitted;
        importFile(*f.ws, f.service, path, o);
        QCOMPARE(f.ws->db().queryInt("SELECT count(*) FROM messages WHERE status = 'submitted' AND origin = 'import' "
                                     "AND source_id IS NOT NULL"),
                 int64_t(2));
        QCOMPARE(f.ws->db().queryInt("SELECT count(*) FROM message_tags"), int64_t(4));
        o.licence = "CC0-1.0";  // the same source with another licence is refused
        QVERIFY_THROWS_EXCEPTION(ConflictError, importFile(*f.ws, f.service, path, o));
        QCOMPARE(messageCount(f), int64_t(2));
        // Annotators cannot import.
        QVERIFY_THROWS_EXCEPTION(PermissionError, importFile(*f.ws, f.alice, path, {}));
    }
};

TSUMUGI_TEST_MAIN(TestImportExport)
#include "test_import_export.moc"
