// Messages: trees, revisions with conflicts, history, status transitions, soft delete.
#include <QTest>

#include "core/error.h"
#include "datastore/messages.h"
#include "datastore/reviews.h"
#include "datastore/search.h"
#include "datastore/settings.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

class TestMessages : public QObject {
    Q_OBJECT

    int64_t create(Fixture& f, const Account& who, std::optional<int64_t> parent, MessageRole role,
                   const std::string& text, Status status = Status::Submitted)
    {
        NewMessage m;
        m.parentId = parent;
        m.role = role;
        m.text = text;
        m.status = status;
        return createMessage(*f.ws, who, m);
    }

private slots:
    void treesAndPaths()
    {
        Fixture f;
        const int64_t sys = create(f, f.admin, {}, MessageRole::System, "あなたは誠実で優秀な日本人のアシスタントです。");
        const int64_t u = create(f, f.alice, sys, MessageRole::User, "俳句を一つ作ってください。");
        const int64_t a1 = create(f, f.bob, u, MessageRole::Assistant, "古池や　蛙飛び込む　水の音");
        const int64_t a2 = create(f, f.carol, u, MessageRole::Assistant, "柿くへば　鐘が鳴るなり　法隆寺");
        const int64_t u2 = create(f, f.alice, a1, MessageRole::User, "季語は何ですか？");
        QCOMPARE(getMessage(*f.ws, u2).treeId, sys);
        QCOMPARE(childrenOf(*f.ws, u).size(), size_t(2));
        QCOMPARE(treeMessages(*f.ws, sys).size(), size_t(5));
        const auto path = pathToRoot(*f.ws, u2);
        QCOMPARE(path.size(), size_t(4));
        QCOMPARE(path.front().id, sys);
        QCOMPARE(path.back().id, u2);
        Q_UNUSED(a2);
    }

    void structureIsChecked_data()
    {
        QTest::addColumn<int>("parentRole");  // -1 none
        QTest::addColumn<int>("role");
        QTest::newRow("assistant first") << -1 << int(MessageRole::Assistant);
        QTest::newRow("system under user") << int(MessageRole::User) << int(MessageRole::System);
        QTest::newRow("user under user") << int(MessageRole::User) << int(MessageRole::User);
        QTest::newRow("assistant under assistant") << int(MessageRole::Assistant) << int(MessageRole::Assistant);
        QTest::newRow("assistant under system") << int(MessageRole::System) << int(MessageRole::Assistant);
    }
    void structureIsChecked()
    {
        QFETCH(int, parentRole);
        QFETCH(int, role);
        Fixture f;
        std::optional<int64_t> parent;
        if (parentRole == int(MessageRole::System)) parent = create(f, f.admin, {}, MessageRole::System, "システム");
        if (parentRole == int(MessageRole::User)) parent = create(f, f.alice, {}, MessageRole::User, "質問");
        if (parentRole == int(MessageRole::Assistant))
            parent = create(f, f.bob, create(f, f.alice, {}, MessageRole::User, "質問"), MessageRole::Assistant, "答え");
        QVERIFY_THROWS_EXCEPTION(Error, create(f, f.alice, parent, MessageRole(role), "テキスト"));
    }

    void textIsStoredByteForByte()
    {
        Fixture f;
        // Full-width digits, half-width katakana, CRLF, trailing spaces, an emoji, NFD が.
        const std::string text = "１２１ ｶﾀｶﾅ\r\n行末の空白  \t😀 \xE3\x81\x8B\xE3\x82\x99";
        const int64_t id = create(f, f.alice, {}, MessageRole::User, text);
        QCOMPARE(getMessage(*f.ws, id).text, text);
    }

    void invalidUtf8AndEmptyTextAreRefused()
    {
        Fixture f;
        try {
            create(f, f.alice, {}, MessageRole::User, std::string("京都\x82\xA0"));
            QFAIL("stored invalid UTF-8");
        } catch (const Error& e) {
            QVERIFY(QString(e.what()).contains("byte 6"));
        }
        QVERIFY_THROWS_EXCEPTION(Error, create(f, f.alice, {}, MessageRole::User, ""));
        QCOMPARE(f.ws->db().queryInt("SELECT count(*) FROM messages"), int64_t(0));
    }

    void staleEditConflictsAndOverwritesNothing()
    {
        Fixture f;
        const int64_t id = create(f, f.alice, {}, MessageRole::User, "一回目");
        QCOMPARE(editMessage(*f.ws, f.alice, id, 1, "二回目"), int64_t(2));
        try {
            editMessage(*f.ws, f.alice, id, 1, "古い版からの編集");
            QFAIL("a stale edit was accepted");
        } catch (const ConflictError& e) {
            QVERIFY(QString(e.what()).contains("revision 2"));
            QVERIFY(QString(e.what()).contains("reload"));
        }
        const Message m = getMessage(*f.ws, id);
        QCOMPARE(m.text, std::string("二回目"));
        QCOMPARE(m.revision, int64_t(2));
    }

    void historyKeepsEveryText()
    {
        Fixture f;
        const int64_t id = create(f, f.alice, {}, MessageRole::User, "版1");
        editMessage(*f.ws, f.alice, id, 1, "版2");
        editMessage(*f.ws, f.admin, id, 2, "版3");
        const auto history = revisionsOf(*f.ws, id);
        QCOMPARE(history.size(), size_t(3));
        QCOMPARE(history[0].text, std::string("版1"));
        QCOMPARE(history[0].authorId, f.alice.id);
        QCOMPARE(history[1].text, std::string("版2"));
        QCOMPARE(history[1].authorId, f.alice.id);
        QCOMPARE(history[2].text, std::string("版3"));
        QCOMPARE(history[2].authorId, f.admin.id);
        QCOMPARE(textAtRevision(*f.ws, id, 2), std::string("版2"));
        QVERIFY_THROWS_EXCEPTION(NotFoundError, textAtRevision(*f.ws, id, 4));
        // An edit keeps the search index in step.
        SearchQuery q;
        q.text = "版1";
        QVERIFY(searchMessages(*f.ws, q).ids.empty());
        q.text = "版3";
        QCOMPARE(searchMessages(*f.ws, q).ids, std::vector<int64_t>{id});
    }

    void statusTransitions()
    {
        Fixture f;
        const int64_t id = create(f, f.alice, {}, MessageRole::User, "下書きです", Status::Draft);
        // A draft is not reviewed.
        QVERIFY_THROWS_EXCEPTION(Error, submitReview(*f.ws, f.rev, {id, 1, ReviewVerdict::Approve, {}, {}, false}));
        submitMessage(*f.ws, f.alice, id, 1);
        QCOMPARE(getMessage(*f.ws, id).status, Status::Submitted);
        QVERIFY_THROWS_EXCEPTION(Error, submitMessage(*f.ws, f.alice, id, 1));  // already submitted
        submitReview(*f.ws, f.rev, {id, 1, ReviewVerdict::NeedsFix, std::string("敬語を直してください"), {}, false});
        QCOMPARE(getMessage(*f.ws, id).status, Status::NeedsFix);
        editMessage(*f.ws, f.alice, id, 1, "下書きでございます");
        submitMessage(*f.ws, f.alice, id, 2);
        // The reviewer judged revision 1; revision 2 needs its own review.
        QVERIFY_THROWS_EXCEPTION(ConflictError,
                                 submitReview(*f.ws, f.rev, {id, 1, ReviewVerdict::Approve, {}, {}, false}));
        submitReview(*f.ws, f.rev, {id, 2, ReviewVerdict::Approve, {}, {}, false});
        QCOMPARE(getMessage(*f.ws, id).status, Status::Approved);
        // Editing an approved text sends it back to review.
        editMessage(*f.ws, f.alice, id, 2, "下書きでございます。");
        QCOMPARE(getMessage(*f.ws, id).status, Status::Submitted);
        QCOMPARE(reviewsOf(*f.ws, id).size(), size_t(2));
    }

    void softDelete()
    {
        Fixture f;
        const int64_t p = create(f, f.alice, {}, MessageRole::User, "消される質問");
        QVERIFY_THROWS_EXCEPTION(ConflictError, deleteMessage(*f.ws, f.alice, p, 7));
        deleteMessage(*f.ws, f.alice, p, 1);
        const Message m = getMessage(*f.ws, p);
        QCOMPARE(m.status, Status::Deleted);
        QCOMPARE(m.text, std::string("消される質問"));  // still there, for history
        QVERIFY_THROWS_EXCEPTION(Error, create(f, f.bob, p, MessageRole::Assistant, "返信"));
        QVERIFY_THROWS_EXCEPTION(Error, editMessage(*f.ws, f.alice, p, 1, "復活"));
        SearchQuery q;
        q.text = "消される";
        QVERIFY(searchMessages(*f.ws, q).ids.empty());
        q.statuses = {Status::Deleted};
        QCOMPARE(searchMessages(*f.ws, q).ids, std::vector<int64_t>{p});
    }

    void majorityOfReviewsDecides()
    {
        Fixture f;
        QueueTargets t;
        t.reviewsPerMessage = 3;
        setQueueTargets(*f.ws, f.admin, t);
        const Account r2 = addAccount(*f.ws, f.admin, "r2", Role::Reviewer, std::nullopt);
        const Account r3 = addAccount(*f.ws, f.admin, "r3", Role::Reviewer, std::nullopt);
        const int64_t id = create(f, f.alice, {}, MessageRole::User, "三人でレビューする質問");
        submitReview(*f.ws, f.rev, {id, 1, ReviewVerdict::Approve, {}, {}, false});
        submitReview(*f.ws, r2, {id, 1, ReviewVerdict::Reject, {}, {}, false});
        QCOMPARE(getMessage(*f.ws, id).status, Status::Submitted);  // 2 of 3 reviews so far
        submitReview(*f.ws, r3, {id, 1, ReviewVerdict::Approve, {}, {}, false});
        QCOMPARE(getMessage(*f.ws, id).status, Status::Approved);  // 2 approve vs 1 reject
    }
};

TSUMUGI_TEST_MAIN(TestMessages)
#include "test_messages.moc"
