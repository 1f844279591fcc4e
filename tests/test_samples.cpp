// The sample workspace keeps its promises: 150+ conversations across the ten categories,
// natural Japanese by the Swallow-style ratio rules, distinct prompts, drafts, rejections
// with comments, and rankers who agree only partly (τ-b between 0.3 and 0.9).
#include <QDir>
#include <QTest>

#include <set>

#include "core/utf8.h"
#include "datastore/consensus.h"
#include "datastore/stats.h"
#include "export/importer.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

class TestSamples : public QObject {
    Q_OBJECT
    Fixture* f = nullptr;

private slots:
    void initTestCase()
    {
        f = new Fixture;
        const QDir dir(TSUMUGI_SAMPLES_DIR);
        const auto files = dir.entryList({"*.jsonl"}, QDir::Files, QDir::Name);
        QCOMPARE(files.size(), 10);
        for (const QString& file : files) {
            ImportOptions o;
            o.format = Format::Tree;
            o.sourceName = "tsumugi-samples";
            o.licence = "CC0-1.0";
            importFile(*f->ws, f->service, dir.filePath(file).toStdString(), o);
        }
    }
    void cleanupTestCase() { delete f; }

    void sizeAndShape()
    {
        const WorkspaceStats s = workspaceStats(*f->ws);
        QVERIFY(s.trees >= 150);
        QCOMPARE(int(s.byTag.size()), 10);
        QVERIFY(s.rankings >= 300);
        std::map<std::string, int64_t> byStatus(s.byStatus.begin(), s.byStatus.end());
        QVERIFY(byStatus["draft"] >= 3);
        QVERIFY(byStatus["rejected"] >= 3);
        QVERIFY(byStatus["needs_fix"] >= 2);
        // Rejected replies carry the reviewer's comment.
        QCOMPARE(f->ws->db().queryInt("SELECT count(*) FROM messages m WHERE m.status = 'rejected' AND NOT EXISTS "
                                      "(SELECT 1 FROM reviews r WHERE r.message_id = m.id AND r.comment <> '')"),
                 int64_t(0));
        // Multi-turn conversations and parents with 2–4 candidates.
        QVERIFY(f->ws->db().queryInt("SELECT count(DISTINCT tree_id) FROM messages WHERE role = 'user' AND "
                                     "parent_id IS NOT NULL AND parent_id IN (SELECT id FROM messages WHERE role = "
                                     "'assistant')") >= 10);
        QVERIFY(f->ws->db().queryInt("SELECT count(*) FROM (SELECT parent_id FROM messages WHERE role = 'assistant' "
                                     "GROUP BY parent_id HAVING count(*) BETWEEN 2 AND 4)") >= 100);
    }

    void promptsAreDistinct()
    {
        QCOMPARE(f->ws->db().queryInt("SELECT count(DISTINCT text) FROM messages WHERE role = 'user'"),
                 f->ws->db().queryInt("SELECT count(*) FROM messages WHERE role = 'user'"));
    }

    void textsPassTheRatioRules()
    {
        // Hiragana ≥ 0.2, katakana ≤ 0.5, Japanese characters ≥ 0.5 of non-space characters.
        auto st = f->ws->db().prepare("SELECT id, text FROM messages");
        int checked = 0;
        while (st.step()) {
            const std::string text = st.text(1);
            double total = 0, hira = 0, kata = 0, ja = 0;
            for (size_t pos = 0; pos < text.size();) {
                const char32_t cp = utf8::next(text, pos);
                if (utf8::isWhitespace(cp)) continue;
                ++total;
                hira += utf8::isHiragana(cp);
                kata += utf8::isKatakana(cp);
                ja += utf8::isHiragana(cp) || utf8::isKatakana(cp) || utf8::isKanji(cp) ||
                      utf8::isJapanesePunctuation(cp);
            }
            const QByteArray where = QByteArray::number(qint64(st.int64(0))) + ": " + QByteArray::fromStdString(text);
            QVERIFY2(hira / total >= 0.2, where);
            QVERIFY2(kata / total <= 0.5, where);
            QVERIFY2(ja / total >= 0.5, where);
            ++checked;
        }
        QVERIFY(checked > 500);
    }

    void rankersAgreeOnlyPartly()
    {
        const auto pairs = rankingAgreement(*f->ws);
        QCOMPARE(pairs.size(), size_t(3));  // sato, suzuki, takahashi
        for (const PairAgreement& p : pairs) {
            QVERIFY(p.tau);
            QVERIFY2(*p.tau >= 0.3 && *p.tau <= 0.9, qPrintable(QString::number(*p.tau)));
            QVERIFY(p.sharedItems >= 100);
        }
    }
};

TSUMUGI_TEST_MAIN(TestSamples)
#include "test_samples.moc"
