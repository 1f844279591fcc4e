// Snapshots freeze what they hold: later edits and rankings never change them; splits are
// by tree and deterministic.
#include <QTest>

#include <map>
#include <set>

#include "core/error.h"
#include "datastore/messages.h"
#include "datastore/rankings.h"
#include "datastore/snapshots.h"
#include "datastore/tags.h"
#include "export/exporter.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

namespace {
// A tree: an approved prompt with two approved replies; returns {prompt, reply1, reply2}.
std::vector<int64_t> tree(Fixture& f, const std::string& topic, const std::string& tag = "")
{
    NewMessage p;
    p.text = topic + "について教えてください。";
    p.status = Status::Approved;
    const int64_t prompt = createMessage(*f.ws, f.service, p);
    std::vector<int64_t> ids{prompt};
    for (const char* answer : {"説明その一です。", "説明その二です。"}) {
        NewMessage r;
        r.parentId = prompt;
        r.role = MessageRole::Assistant;
        r.text = topic + answer;
        r.status = Status::Approved;
        r.authorId = f.carol.id;
        ids.push_back(createMessage(*f.ws, f.service, r));
    }
    if (!tag.empty())
        for (int64_t id : ids) tagMessage(*f.ws, f.service, id, tag);
    return ids;
}
}  // namespace

class TestSnapshots : public QObject {
    Q_OBJECT
private slots:
    void laterEditsAndRankingsDoNotChangeASnapshot()
    {
        Fixture f;
        const auto t = tree(f, "京都");
        submitRanking(*f.ws, f.alice, {t[0], RankingVerdict::Ranked, {{t[1]}, {t[2]}}, {}, {}});
        const Snapshot s = createSnapshot(*f.ws, f.admin, "v1", {}, {});
        const auto itemsBefore = snapshotItems(*f.ws, s.id);
        QCOMPARE(itemsBefore.size(), size_t(3));
        QCOMPARE(snapshotRankingIds(*f.ws, s.id).size(), size_t(1));

        editMessage(*f.ws, f.carol, t[1], 1, "書き直した説明です。");
        submitRanking(*f.ws, f.bob, {t[0], RankingVerdict::Ranked, {{t[2]}, {t[1]}}, {}, {}});
        tree(f, "奈良");

        const Snapshot again = snapshotByName(*f.ws, "v1");
        QCOMPARE(again.contentHash, s.contentHash);
        const auto itemsAfter = snapshotItems(*f.ws, s.id);
        QCOMPARE(itemsAfter.size(), itemsBefore.size());
        for (size_t i = 0; i < itemsAfter.size(); ++i) {
            QCOMPARE(itemsAfter[i].revision, itemsBefore[i].revision);
            QCOMPARE(itemsAfter[i].textHash, itemsBefore[i].textHash);
        }
        QCOMPARE(snapshotRankingIds(*f.ws, s.id).size(), size_t(1));
        // Readers get the frozen text, not the edit.
        std::map<int64_t, std::string> texts;
        forEachSnapshotMessage(*f.ws, s.id, [&](const SnapshotMessage& m) { texts[m.id] = m.text; });
        QCOMPARE(texts.at(t[1]), std::string("京都説明その一です。"));
        QCOMPARE(sha256Hex(texts.at(t[1])), itemsAfter[1].textHash);
        // The edited message is in a new snapshot at its new revision.
        const Snapshot v2 = createSnapshot(*f.ws, f.admin, "v2", {}, {});
        QVERIFY(v2.contentHash != s.contentHash);
        QVERIFY_THROWS_EXCEPTION(ConflictError, createSnapshot(*f.ws, f.admin, "v1", {}, {}));
    }

    void splitsByTreeAndDeterministically()
    {
        Fixture f;
        for (int i = 0; i < 60; ++i) tree(f, "話題" + std::to_string(i));
        SplitSpec split = parseSplitSpec("train=0.8,test=0.2");
        split.seed = "fixed";
        const Snapshot a = createSnapshot(*f.ws, f.admin, "a", {}, split);
        const Snapshot b = createSnapshot(*f.ws, f.admin, "b", {}, split);
        QCOMPARE(a.contentHash, b.contentHash);  // same data, same seed: same items and splits
        std::map<int64_t, std::set<std::string>> splitsOfTree;
        forEachSnapshotMessage(*f.ws, a.id, [&](const SnapshotMessage& m) { splitsOfTree[m.treeId].insert(m.split); });
        int test = 0;
        for (const auto& [tree, splits] : splitsOfTree) {
            QCOMPARE(splits.size(), size_t(1));  // a tree never straddles splits
            test += splits.count("test");
        }
        QCOMPARE(test, 12);  // 20 % of 60 trees, exactly
        split.seed = "other";
        const Snapshot c = createSnapshot(*f.ws, f.admin, "c", {}, split);
        QVERIFY(c.contentHash != a.contentHash);
    }

    void filters()
    {
        Fixture f;
        const auto kyoto = tree(f, "京都", "旅行");
        const auto nara = tree(f, "奈良", "歴史");
        submitRanking(*f.ws, f.alice, {kyoto[0], RankingVerdict::Ranked, {{kyoto[1]}, {kyoto[2]}}, {}, {}});
        submitRanking(*f.ws, f.bob, {kyoto[0], RankingVerdict::Ranked, {{kyoto[2]}, {kyoto[1]}}, {}, {}});
        NewMessage draft;
        draft.parentId = nara[0];
        draft.role = MessageRole::Assistant;
        draft.text = "書きかけ";
        draft.status = Status::Draft;
        createMessage(*f.ws, f.alice, draft);

        auto count = [&](const std::string& name, const std::string& filter) {
            const Snapshot s = createSnapshot(*f.ws, f.admin, name, parseSnapshotFilter(filter), {});
            return snapshotItems(*f.ws, s.id).size();
        };
        QCOMPARE(count("approved", ""), size_t(6));
        QCOMPARE(count("travel", "tag=旅行"), size_t(3));
        QCOMPARE(count("ranked-twice", "min_rankings=2"), size_t(3));
        QCOMPARE(count("with-drafts", "status=approved,draft"), size_t(7));
        QVERIFY_THROWS_EXCEPTION(Error, count("none", "tag=存在しない"));
        QVERIFY_THROWS_EXCEPTION(Error, parseSnapshotFilter("colour=blue"));
        QVERIFY_THROWS_EXCEPTION(Error, parseSplitSpec("train=0.9,test=0.2"));
        QVERIFY_THROWS_EXCEPTION(Error, parseSplitSpec("train=abc"));
    }
};

TSUMUGI_TEST_MAIN(TestSnapshots)
#include "test_snapshots.moc"
