// The formats of export/: every format round-trips its hand-written fixtures
// (tests/fixtures/formats/: BOM, CRLF, multi-line text, emoji as raw UTF-8 and as surrogate
// escapes, a line over 1 MB) and the sample data; oasst trees keep their structure, ranks,
// labels and review state; preference files become rankings; malformed lines name file, line
// and field and write nothing; sources that may not be redistributed are refused; the
// Hugging Face dataset card is written from the data.
//
// What the loaders expect, stated here and checked on the exported files:
//   datasets.load_dataset("json", data_files={"train": "train.jsonl", "test": "test.jsonl"})
//     reads JSON Lines whose lines share one set of top-level fields of one type each;
//   TRL SFTTrainer: "messages" (conversational) or "text" (language modeling);
//   TRL DPOTrainer / RewardTrainer: "prompt", "chosen", "rejected";
//   TRL KTOTrainer: "prompt", "completion", "label" (bool).
#include <QTest>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "datastore/labels.h"
#include "datastore/rankings.h"
#include "datastore/snapshots.h"
#include "export/dataset_card.h"
#include "export/exporter.h"
#include "export/importer.h"
#include "export/jsonl.h"
#include "export/text_template.h"
#include "formats_cases.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;
using json = nlohmann::json;

namespace {

const char* kAllStatuses = "status=draft,submitted,approved,needs_fix,rejected,deleted";

std::vector<json> readJsonl(const std::string& path)
{
    JsonlReader reader(path, 1 << 26);
    std::vector<json> out;
    JsonlReader::Line line;
    while (reader.next(line))
        if (!line.text.empty()) out.push_back(json::parse(line.text));
    return out;
}

std::string formatsFixture(const std::string& name) { return fixturePath("formats") + "/" + name; }

ImportReport importAs(Fixture& f, const std::string& path, Format format, std::optional<std::string> tmpl = {},
                      const std::string& source = "fixtures")
{
    ImportOptions o;
    o.format = format;
    o.textTemplate = std::move(tmpl);
    o.sourceName = source;
    o.licence = "CC0-1.0";
    o.redistributable = true;
    return importFile(*f.ws, f.service, path, o);
}

ExportReport exportAs(Fixture& f, const std::string& snapshot, Format format, const std::string& out,
                      std::optional<std::string> tmpl = {}, const std::string& extension = ".jsonl")
{
    ExportOptions o;
    o.format = format;
    o.snapshot = snapshot;
    o.outDir = out;
    o.textTemplate = std::move(tmpl);
    o.extension = extension;
    return exportSnapshot(*f.ws, o);
}

QString diff(const json& a, const json& b) { return QString::fromStdString(a.dump() + "\n   vs\n" + b.dump()); }

// Every line of a file has the same top-level fields, each of one JSON type: what the Arrow
// schema of datasets' json loader needs.
bool oneSchema(const std::vector<json>& lines, std::string& why)
{
    std::map<std::string, json::value_t> schema;
    for (size_t i = 0; i < lines.size(); ++i) {
        std::map<std::string, json::value_t> here;
        for (auto& [k, v] : lines[i].items()) here[k] = v.type();
        if (i == 0) schema = here;
        else if (here != schema) {
            why = "line " + std::to_string(i + 1) + " has other fields or types: " + lines[i].dump().substr(0, 200);
            return false;
        }
    }
    return true;
}

int64_t count(Fixture& f, const char* sql) { return f.ws->db().queryInt(sql); }

}  // namespace

class TestFormats : public QObject {
    Q_OBJECT
private slots:
    void fixtureRoundTrip_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("format");
        QTest::addColumn<QString>("tmpl");
        QTest::newRow("messages") << "messages.jsonl" << "messages" << "";
        QTest::newRow("sharegpt") << "sharegpt.jsonl" << "sharegpt" << "";
        QTest::newRow("alpaca") << "alpaca.jsonl" << "alpaca" << "";
        QTest::newRow("ichikara") << "ichikara.jsonl" << "ichikara" << "";
        QTest::newRow("text llm-jp") << "text-llm-jp.jsonl" << "text" << "llm-jp";
        QTest::newRow("text chatml") << "text-chatml.jsonl" << "text" << "chatml";
        QTest::newRow("trl-preference") << "trl-preference.jsonl" << "trl-preference" << "";
        QTest::newRow("trl-kto") << "trl-kto.jsonl" << "trl-kto" << "";
        QTest::newRow("oasst") << "oasst.jsonl" << "oasst" << "";
        QTest::newRow("long line, gzip") << "long-line.messages.jsonl.gz" << "messages" << "";
    }
    void fixtureRoundTrip()
    {
        QFETCH(QString, file);
        QFETCH(QString, format);
        QFETCH(QString, tmpl);
        Fixture f;
        const std::string input = formatsFixture(file.toStdString());
        const Format fmt = parseFormat(format.toStdString());
        const std::optional<std::string> t = tmpl.isEmpty() ? std::nullopt : std::optional(tmpl.toStdString());
        importAs(f, input, fmt, t);
        createSnapshot(*f.ws, f.admin, "all", parseSnapshotFilter(kAllStatuses), parseSplitSpec("train=1"));
        const std::string extension = file.endsWith(".gz") ? ".jsonl.gz" : ".jsonl";
        const ExportReport r = exportAs(f, "all", fmt, f.dir.filePath("out").toStdString(), t, extension);
        const auto in = readJsonl(input);  // the reader drops the BOM and the CRs
        const auto out = readJsonl(r.files.at("train"));
        QCOMPARE(out.size(), in.size());
        for (size_t i = 0; i < in.size(); ++i) QVERIFY2(out[i] == in[i], qPrintable(diff(in[i], out[i])));
        QCOMPARE(r.skippedPaths, int64_t(0));
    }

    void emojiAndLongLinesKeepTheirBytes()
    {
        Fixture f;
        importAs(f, formatsFixture("messages.jsonl"), Format::Messages);
        // "\ud83c\udf63" in the file is the one code point U+1F363, stored as its 4 UTF-8 bytes.
        QCOMPARE(count(f, "SELECT count(*) FROM messages WHERE instr(text, '🍣') > 0"), int64_t(1));
        QCOMPARE(count(f, "SELECT count(*) FROM messages WHERE instr(text, '\\ud83') > 0"), int64_t(0));
        QCOMPARE(count(f, "SELECT count(*) FROM messages WHERE instr(text, char(13, 10)) > 0"), int64_t(1));
        Fixture g;
        importAs(g, formatsFixture("long-line.messages.jsonl.gz"), Format::Messages);
        QCOMPARE(count(g, "SELECT max(length(text)) FROM messages"), int64_t(350000));  // characters
        QVERIFY(count(g, "SELECT max(length(CAST(text AS BLOB))) FROM messages") >= 1000000);
    }

    void oasstTreesKeepStructureRanksLabelsAndReviews()
    {
        Fixture f;
        const ImportReport r = importAs(f, formatsFixture("oasst.jsonl"), Format::Oasst, {}, "oasst-fixture");
        QCOMPARE(r.records, int64_t(2));
        QCOMPARE(r.messages, int64_t(9));
        QCOMPARE(r.rankings, int64_t(1));  // the ranks of the three assistant siblings; prompter ranks stay fields
        auto id = [&](const char* messageId) {
            auto st = f.ws->db().prepare("SELECT id FROM messages WHERE json_extract(meta_json, '$.message_id') = ?");
            st.bind(1, std::string(messageId));
            return st.step() ? st.int64(0) : int64_t(-1);
        };
        const auto rankings = rankingsOf(*f.ws, id("0000-p1"));
        QCOMPARE(rankings.size(), size_t(1));
        QCOMPARE(accountById(*f.ws, rankings[0].annotatorId).name, std::string("source:oasst-fixture"));
        const std::vector<std::vector<int64_t>> order = {{id("0000-a1")}, {id("0000-a3")}, {id("0000-a2")}};
        QVERIFY(rankings[0].groups == order);
        // Structure: a4 answers p2, which answers a1, which answers the prompt.
        QVERIFY(getMessage(*f.ws, id("0000-a4")).parentId == std::optional(id("0000-p2")));
        QVERIFY(getMessage(*f.ws, id("0000-p2")).parentId == std::optional(id("0000-a1")));
        QCOMPARE(getMessage(*f.ws, id("0000-a4")).treeId, id("0000-p1"));
        // Review state: accepted, rejected, deleted, undecided.
        QCOMPARE(getMessage(*f.ws, id("0000-a1")).status, Status::Approved);
        QCOMPARE(getMessage(*f.ws, id("0000-a2")).status, Status::Rejected);
        QCOMPARE(getMessage(*f.ws, id("0000-p3")).status, Status::Deleted);
        QCOMPARE(getMessage(*f.ws, id("0000-q2")).status, Status::Submitted);
        QCOMPARE(getMessage(*f.ws, id("0000-a3")).origin, Origin::Model);
        // Labels (averages over `count` annotators), emojis and lang stay with the message.
        const json meta = json::parse(*getMessage(*f.ws, id("0000-p1")).metaJson);
        QCOMPARE(meta["labels"]["quality"]["value"].get<double>(), 0.75);
        QCOMPARE(meta["lang"].get<std::string>(), std::string("ja"));
        const json a1 = json::parse(*getMessage(*f.ws, id("0000-a1")).metaJson);
        QCOMPARE(a1["emojis"]["+1"].get<int>(), 5);
        QCOMPARE(count(f, "SELECT count(*) FROM sources WHERE name = 'oasst-fixture'"), int64_t(1));
        QCOMPARE(count(f, "SELECT count(DISTINCT source_id) FROM messages"), int64_t(1));
    }

    void oasstFromWorkspaceJudgements()
    {
        // Written in Tsumugi: ranks come from the consensus, labels average onto 0–1, review
        // counts count reviews, ids are stable UUID-shaped strings.
        Fixture f;
        const std::string tree = f.dir.filePath("t.jsonl").toStdString();
        std::ofstream(tree) << R"({"tree":"x","messages":[{"key":"p","role":"user","text":"問い","author":"alice"},)"
                               R"({"key":"a","parent":"p","role":"assistant","text":"答えA","author":"bob"},)"
                               R"({"key":"b","parent":"p","role":"assistant","text":"答えB","author":"bob","origin":"model"}],)"
                               R"("rankings":[{"parent":"p","annotator":"carol","order":[["b"],["a"]]}],)"
                               R"("reviews":[{"message":"a","reviewer":"rev","verdict":"approve"}],)"
                               R"("labels":[{"message":"a","annotator":"carol","name":"helpful","value":5},)"
                               R"({"message":"a","annotator":"alice","name":"helpful","value":3},)"
                               R"({"message":"a","annotator":"carol","name":"spam","value":1}]})"
                            << "\n";
        importAs(f, tree, Format::Tree);
        createSnapshot(*f.ws, f.admin, "s", parseSnapshotFilter(kAllStatuses), parseSplitSpec("train=1"));
        const auto out = readJsonl(exportAs(f, "s", Format::Oasst, f.dir.filePath("o").toStdString()).files.at("train"));
        QCOMPARE(out.size(), size_t(1));
        const json& p = out[0]["prompt"];
        QCOMPARE(out[0]["message_tree_id"].get<std::string>(), std::string("x"));
        QCOMPARE(p["role"].get<std::string>(), std::string("prompter"));
        QVERIFY(p["parent_id"].is_null());
        QCOMPARE(p["message_id"].get<std::string>().size(), size_t(36));
        const json& a = p["replies"][0];
        const json& b = p["replies"][1];
        QVERIFY(a["parent_id"] == p["message_id"]);
        QCOMPARE(a["rank"].get<int>(), 1);
        QCOMPARE(b["rank"].get<int>(), 0);
        QCOMPARE(b["synthetic"].get<bool>(), true);
        QCOMPARE(a["review_count"].get<int>(), 1);
        // helpful 5 and 3 on 1–5 → (1.0 + 0.5) / 2; spam is a flag set by one of one.
        QCOMPARE(a["labels"]["helpful"]["value"].get<double>(), 0.75);
        QCOMPARE(a["labels"]["helpful"]["count"].get<int>(), 2);
        QCOMPARE(a["labels"]["spam"]["value"].get<double>(), 1.0);
        QCOMPARE(a["review_result"].get<bool>(), true);  // tree imports are approved
    }

    void preferencesBecomeRankings()
    {
        Fixture f;
        const ImportReport r = importAs(f, formatsFixture("trl-preference.jsonl"), Format::TrlPreference, {}, "prefs");
        QCOMPARE(r.records, int64_t(3));
        QCOMPARE(r.rankings, int64_t(3));
        // Each: the prompt (the conversational one has four turns), both candidates, chosen > rejected.
        QCOMPARE(r.messages, int64_t(3 + 6 + 3));
        auto st = f.ws->db().prepare(
            "SELECT c.text, a.name FROM rankings r JOIN ranking_entries e ON e.ranking_id = r.id AND e.position = 0 "
            "JOIN messages c ON c.id = e.message_id JOIN accounts a ON a.id = r.annotator_id ORDER BY r.id");
        QVERIFY(st.step());
        QCOMPARE(st.text(0), std::string("東京です。"));
        QCOMPARE(st.text(1), std::string("source:prefs"));
        // TRL's field names, in both forms.
        createSnapshot(*f.ws, f.admin, "s", {}, parseSplitSpec("train=1"));
        const auto out = readJsonl(exportAs(f, "s", Format::TrlPreference, f.dir.filePath("o").toStdString()).files.at("train"));
        QCOMPARE(out.size(), size_t(3));
        QVERIFY(out[0]["prompt"].is_string() && out[0]["chosen"].is_string() && out[0]["rejected"].is_string());
        QVERIFY(out[1]["prompt"].is_array() && out[1]["chosen"][0]["role"] == "assistant");
        QCOMPARE(out[1]["prompt"].back()["role"].get<std::string>(), std::string("user"));
    }

    void ktoLabelsAndConsensus()
    {
        Fixture f;
        importAs(f, formatsFixture("trl-kto.jsonl"), Format::TrlKto, {}, "kto");
        QCOMPARE(count(f, "SELECT count(*) FROM labels WHERE name = 'desirable' AND value = 1"), int64_t(2));
        QCOMPARE(count(f, "SELECT count(*) FROM labels WHERE name = 'desirable' AND value = 0"), int64_t(1));
        // From rankings: the consensus best is desirable, the worst is not, the middle is left out.
        Fixture g;
        importAs(g, std::string(TSUMUGI_SAMPLES_DIR) + "/01-qa.jsonl", Format::Tree);
        createSnapshot(*g.ws, g.admin, "s", {}, parseSplitSpec("train=1"));
        const ExportReport r = exportAs(g, "s", Format::TrlKto, g.dir.filePath("o").toStdString());
        const auto out = readJsonl(r.files.at("train"));
        QVERIFY(out.size() >= 15);
        int desirable = 0;
        for (const json& l : out) {
            QVERIFY(l["label"].is_boolean());
            QCOMPARE(l["completion"].size(), size_t(1));
            desirable += l["label"].get<bool>();
        }
        QVERIFY(desirable > 0 && desirable < int(out.size()));
    }

    void textTemplatesSplitWhatTheyRender_data()
    {
        QTest::addColumn<QString>("name");
        for (const std::string& n : tok::ChatTemplate::namedTemplates()) QTest::newRow(n.c_str()) << QString::fromStdString(n);
    }
    void textTemplatesSplitWhatTheyRender()
    {
        QFETCH(QString, name);
        const TextTemplate t(name.toStdString());
        const std::vector<std::vector<TextTurn>> conversations = {
            {{MessageRole::User, "日本の首都は？"}, {MessageRole::Assistant, "東京です。"}},
            {{MessageRole::System, "簡潔に。"}, {MessageRole::User, "一行目\n二行目"}, {MessageRole::Assistant, "はい😀"},
             {MessageRole::User, "続けて"}, {MessageRole::Assistant, "終わり。"}},
        };
        for (const auto& turns : conversations) {
            const std::string text = t.render(turns);
            const auto parsed = t.parse(text);
            if (const auto* why = std::get_if<std::string>(&parsed)) QFAIL(qPrintable(QString::fromStdString(text + "\n" + *why)));
            const auto& back = std::get<std::vector<TextTurn>>(parsed);
            // llama2-ja writes its default system prompt when there is none; that reads back as no system.
            QCOMPARE(back.size(), turns.size());
            for (size_t i = 0; i < turns.size(); ++i) {
                QCOMPARE(back[i].role, turns[i].role);
                QCOMPARE(back[i].text, turns[i].text);
            }
        }
        const auto bad = t.parse("テンプレートに沿わない文章");
        QVERIFY(std::holds_alternative<std::string>(bad));
    }

    void textNeedsATemplate()
    {
        Fixture f;
        ImportOptions o;
        o.format = Format::Text;
        try {
            importFile(*f.ws, f.service, formatsFixture("text-llm-jp.jsonl"), o);
            QFAIL("imported text without a template");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("--template NAME (llm-jp") || QString(e.what()).contains("--template NAME ("),
                     e.what());
        }
        QVERIFY_THROWS_EXCEPTION(Error, TextTemplate("no-such-template"));
        QCOMPARE(count(f, "SELECT count(*) FROM messages"), int64_t(0));
    }

    void samplesRoundTrip_data()
    {
        QTest::addColumn<QString>("format");
        QTest::addColumn<QString>("tmpl");
        for (const char* name : {"messages", "sharegpt", "alpaca", "ichikara", "trl-preference", "trl-kto", "oasst", "tree"})
            QTest::newRow(name) << name << "";
        QTest::newRow("text llm-jp") << "text" << "llm-jp";
        QTest::newRow("text chatml") << "text" << "chatml";
    }
    void samplesRoundTrip()
    {
        // samples (tree) → export F → import F into a new workspace → export F: the same records.
        QFETCH(QString, format);
        QFETCH(QString, tmpl);
        const Format fmt = parseFormat(format.toStdString());
        const std::optional<std::string> t = tmpl.isEmpty() ? std::nullopt : std::optional(tmpl.toStdString());
        Fixture f;
        for (const auto& entry : std::filesystem::directory_iterator(TSUMUGI_SAMPLES_DIR))
            if (entry.path().extension() == ".jsonl") importAs(f, entry.path().string(), Format::Tree, {}, "tsumugi-samples");
        createSnapshot(*f.ws, f.admin, "s", parseSnapshotFilter(kAllStatuses), parseSplitSpec("train=0.8,test=0.2"));
        const ExportReport first = exportAs(f, "s", fmt, f.dir.filePath("first").toStdString(), t);
        for (const std::string split : {"train", "test"}) {
            const auto a = readJsonl(first.files.at(split));
            QVERIFY(!a.empty());
            std::string why;
            QVERIFY2(oneSchema(a, why) || fmt == Format::Oasst || fmt == Format::Tree || fmt == Format::Alpaca ||
                         fmt == Format::TrlPreference,
                     why.c_str());
            Fixture g;
            importAs(g, first.files.at(split), fmt, t, "round-trip");
            createSnapshot(*g.ws, g.admin, "s", parseSnapshotFilter(kAllStatuses), parseSplitSpec("train=1"));
            const auto b = readJsonl(exportAs(g, "s", fmt, g.dir.filePath("second").toStdString(), t).files.at("train"));
            QCOMPARE(b.size(), a.size());
            for (size_t i = 0; i < a.size(); ++i) QVERIFY2(a[i] == b[i], qPrintable(diff(a[i], b[i])));
        }
    }

    void malformedLines_data()
    {
        QTest::addColumn<int>("format");
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("expected");
        for (const auto& c : formatMalformedCases())
            QTest::newRow(c.name) << int(c.format) << c.content << c.expected;
    }
    void malformedLines()
    {
        QFETCH(int, format);
        QFETCH(QByteArray, content);
        QFETCH(QString, expected);
        Fixture f;
        const std::string path = f.dir.filePath("in.jsonl").toStdString();
        std::ofstream(path, std::ios::binary) << content.toStdString();
        ImportOptions o;
        o.format = static_cast<Format>(format);
        if (o.format == Format::Text) o.textTemplate = "llm-jp";
        try {
            importFile(*f.ws, f.service, path, o);
            QFAIL("a malformed file was imported");
        } catch (const ParseError& e) {
            QVERIFY2(QString(e.what()).startsWith(QString::fromStdString(path) + ":" + expected) ||
                         QString(e.what()).contains(expected),
                     e.what());
            QVERIFY(QString(e.what()).startsWith(QString::fromStdString(path + ":")));
        }
        QCOMPARE(count(f, "SELECT count(*) FROM messages"), int64_t(0));  // one transaction: nothing written
        QCOMPARE(count(f, "SELECT count(*) FROM sources"), int64_t(0));
    }

    void restrictedSourcesAreRefused()
    {
        Fixture f;
        ImportOptions o;
        o.format = Format::Ichikara;
        o.sourceName = "ichikara-instruction";
        o.licence = "ichikara-instruction licence (no redistribution)";
        importFile(*f.ws, f.service, formatsFixture("ichikara.jsonl"), o);
        importAs(f, formatsFixture("alpaca.jsonl"), Format::Alpaca, {}, "own-data");
        createSnapshot(*f.ws, f.admin, "s", {}, parseSplitSpec("train=1"));
        const std::string out = f.dir.filePath("out").toStdString();
        try {
            exportAs(f, "s", Format::Ichikara, out);
            QFAIL("exported a source that may not be redistributed");
        } catch (const PermissionError& e) {
            QVERIFY2(QString(e.what()).contains("'ichikara-instruction'") && QString(e.what()).contains("--allow-restricted") &&
                         QString(e.what()).contains("6 messages"),
                     e.what());
        }
        QVERIFY(!std::filesystem::exists(out));
        ExportOptions eo;
        eo.format = Format::Ichikara;
        eo.snapshot = "s";
        eo.outDir = out;
        eo.allowRestricted = true;
        eo.hfDataset = true;
        const ExportReport r = exportSnapshot(*f.ws, eo);
        QCOMPARE(r.restrictedMessages, int64_t(6));
        std::ifstream in(r.cardPath);
        const std::string card((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        QVERIFY(card.find("**Restricted:**") != std::string::npos);
        QVERIFY(card.find("ichikara-instruction — ichikara-instruction licence (no redistribution)") != std::string::npos);
        QVERIFY(card.find("license: other\n") != std::string::npos);
    }

    void datasetCardFromTheData()
    {
        Fixture f;
        for (const auto& entry : std::filesystem::directory_iterator(TSUMUGI_SAMPLES_DIR))
            if (entry.path().extension() == ".jsonl") importAs(f, entry.path().string(), Format::Tree, {}, "tsumugi-samples");
        const Snapshot s = createSnapshot(*f.ws, f.admin, "v1", {}, parseSplitSpec("train=0.9,test=0.1"));
        ExportOptions o;
        o.format = Format::TrlPreference;
        o.snapshot = "v1";
        o.outDir = f.dir.filePath("hf").toStdString();
        o.hfDataset = true;
        o.extraCardSections = {{"Quality checks", "Filtered by the workspace's rules before export."}};
        const ExportReport r = exportSnapshot(*f.ws, o);
        std::ifstream in(r.cardPath);
        const std::string card((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const int64_t records = r.recordsPerSplit.at("train") + r.recordsPerSplit.at("test");
        for (const std::string& expected :
             {std::string("---\nlicense: cc0-1.0\nlanguage:\n- ja\ntask_categories:\n- text-generation\n"),
              "size_categories:\n- " + sizeCategory(records) + "\n", std::string("pretty_name: \"Tsumugi snapshot v1\"\n"),
              std::string("configs:\n- config_name: default\n  data_files:\n  - split: \"test\"\n    path: \"test.jsonl\"\n"
                          "  - split: \"train\"\n    path: \"train.jsonl\"\n---\n"),
              std::string("load_dataset(\"json\", data_files={\"test\": \"test.jsonl\", \"train\": \"train.jsonl\"})"),
              std::string("DPOTrainer"), "`" + s.contentHash + "`", std::string("| tsumugi-samples | CC0-1.0 | yes |"),
              std::string("sato ~ suzuki"), std::string("## Quality checks\n\nFiltered by the workspace's rules"),
              std::string("Krippendorff's α")})
            QVERIFY2(card.find(expected) != std::string::npos, qPrintable(QString::fromStdString(expected)));
        for (const char* placeholder : {"TODO", "More Information Needed", "TBD", "[PLACEHOLDER", "?"})
            QVERIFY2(card.find(placeholder) == std::string::npos, placeholder);
        QVERIFY(card.find("Restricted") == std::string::npos);
        QCOMPARE(sizeCategory(999), std::string("n<1K"));
        QCOMPARE(sizeCategory(1000), std::string("1K<n<10K"));
        QCOMPARE(sizeCategory(2500000), std::string("1M<n<10M"));
    }
};

TSUMUGI_TEST_MAIN(TestFormats)
#include "test_formats.moc"
