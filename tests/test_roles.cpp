// The role matrix: every write checks the acting account's role in the datastore itself.
#include <QTest>

#include "core/error.h"
#include "datastore/labels.h"
#include "datastore/messages.h"
#include "datastore/rankings.h"
#include "datastore/reviews.h"
#include "datastore/runs.h"
#include "datastore/settings.h"
#include "datastore/snapshots.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

namespace {
int64_t prompt(Fixture& f, const Account& author, Status status = Status::Submitted)
{
    NewMessage m;
    m.text = "日本の首都はどこですか？";
    m.status = status;
    return createMessage(*f.ws, author, m);
}

int64_t reply(Fixture& f, const Account& author, int64_t parent, const std::string& text)
{
    NewMessage m;
    m.parentId = parent;
    m.role = MessageRole::Assistant;
    m.text = text;
    return createMessage(*f.ws, author, m);
}

template <typename F>
bool denied(F&& f)
{
    try {
        f();
    } catch (const PermissionError&) {
        return true;
    }
    return false;
}
}  // namespace

class TestRoles : public QObject {
    Q_OBJECT
private slots:
    void onlyAdminsManageAccounts()
    {
        Fixture f;
        QVERIFY(denied([&] { addAccount(*f.ws, f.alice, "mallory", Role::Admin, std::nullopt); }));
        QVERIFY(denied([&] { addAccount(*f.ws, f.rev, "mallory", Role::Annotator, std::nullopt); }));
        QVERIFY(denied([&] { addAccount(*f.ws, f.service, "mallory", Role::Annotator, std::nullopt); }));
        QVERIFY(denied([&] { setAccountActive(*f.ws, f.alice, "bob", false); }));
        QVERIFY(denied([&] { setPassword(*f.ws, f.alice, "bob", "secret"); }));
        setAccountActive(*f.ws, f.admin, "bob", false);
        QVERIFY(denied([&] { authenticate(*f.ws, "bob", std::nullopt); }));
        QVERIFY(denied([&] { setSetting(*f.ws, f.alice, "queue", nlohmann::json::object()); }));
    }

    void passwordsAreArgon2idAndChecked()
    {
        Fixture f;
        setPassword(*f.ws, f.alice, "alice", "いろはにほへと");
        auto st = f.ws->db().prepare("SELECT password_hash FROM accounts WHERE name = 'alice'");
        QVERIFY(st.step());
        QVERIFY(QString::fromStdString(st.text(0)).startsWith("$argon2id$"));
        QVERIFY(denied([&] { authenticate(*f.ws, "alice", std::nullopt); }));
        QVERIFY(denied([&] { authenticate(*f.ws, "alice", std::string("wrong")); }));
        QCOMPARE(authenticate(*f.ws, "alice", std::string("いろはにほへと")).name, std::string("alice"));
    }

    void annotatorsCannotApproveOrSetStatus()
    {
        Fixture f;
        QVERIFY(denied([&] { prompt(f, f.alice, Status::Approved); }));
        const int64_t p = prompt(f, f.alice);
        QVERIFY(denied([&] { submitReview(*f.ws, f.bob, {p, 1, ReviewVerdict::Approve, {}, {}, false}); }));
        QCOMPARE(getMessage(*f.ws, p).status, Status::Submitted);
    }

    void nobodyReviewsTheirOwnMessage()
    {
        Fixture f;
        const int64_t p = prompt(f, f.rev);
        QVERIFY(denied([&] { submitReview(*f.ws, f.rev, {p, 1, ReviewVerdict::Approve, {}, {}, false}); }));
        const int64_t q = prompt(f, f.admin);
        QVERIFY(denied([&] { submitReview(*f.ws, f.admin, {q, 1, ReviewVerdict::Approve, {}, {}, false}); }));
        submitReview(*f.ws, f.rev, {q, 1, ReviewVerdict::Approve, {}, {}, false});
        QCOMPARE(getMessage(*f.ws, q).status, Status::Approved);
    }

    void onlyAuthorOrAdminEdits()
    {
        Fixture f;
        const int64_t p = prompt(f, f.alice);
        QVERIFY(denied([&] { editMessage(*f.ws, f.bob, p, 1, "書き換え"); }));
        QVERIFY(denied([&] { editMessage(*f.ws, f.rev, p, 1, "書き換え"); }));
        QVERIFY(denied([&] { deleteMessage(*f.ws, f.bob, p, 1); }));
        QCOMPARE(editMessage(*f.ws, f.admin, p, 1, "管理者による修正"), int64_t(2));
    }

    void rankingAndLabellingRules()
    {
        Fixture f;
        const int64_t p = prompt(f, f.carol);
        const int64_t a = reply(f, f.alice, p, "東京です。");
        const int64_t b = reply(f, f.bob, p, "大阪です。");
        // Nobody ranks or labels a set that holds their own reply.
        QVERIFY(denied([&] { submitRanking(*f.ws, f.alice, {p, RankingVerdict::Ranked, {{a}, {b}}, {}, {}}); }));
        QVERIFY(denied([&] { setLabel(*f.ws, f.alice, a, "helpful", 5); }));
        // Service accounts do not rank for themselves; they record others' rankings (imports).
        QVERIFY(denied([&] { submitRanking(*f.ws, f.service, {p, RankingVerdict::Ranked, {{a}, {b}}, {}, {}}); }));
        QVERIFY(denied([&] { submitRanking(*f.ws, f.carol, {p, RankingVerdict::Ranked, {{a}, {b}}, {}, f.rev.id}); }));
        submitRanking(*f.ws, f.carol, {p, RankingVerdict::Ranked, {{a}, {b}}, {}, {}});
        submitRanking(*f.ws, f.service, {p, RankingVerdict::Ranked, {{b}, {a}}, {}, f.rev.id});
        setLabel(*f.ws, f.carol, a, "helpful", 5);
        QCOMPARE(rankingsOf(*f.ws, p).size(), size_t(2));
    }

    void trainersAndSnapshotsNeedServiceOrAdmin()
    {
        Fixture f;
        QVERIFY(denied([&] { createRun(*f.ws, f.alice, "sft", "{}", {}, {}, {}); }));
        QVERIFY(denied([&] { createSnapshot(*f.ws, f.rev, "v1", {}, {}); }));
        const int64_t run = createRun(*f.ws, f.service, "sft", R"({"lr": 2e-5})", {}, std::string("swallow-7b"), {});
        addMetrics(*f.ws, f.service, run, {{1, "loss", 2.5}, {2, "loss", 2.1}});
        addCheckpoint(*f.ws, f.service, run, 2, "/runs/1/step-2", R"({"loss": 2.1})");
        finishRun(*f.ws, f.service, run, "finished");
        QCOMPARE(runMetrics(*f.ws, run, std::string("loss")).size(), size_t(2));
        QCOMPARE(runCheckpoints(*f.ws, run).front().step, int64_t(2));
        QCOMPARE(runById(*f.ws, run).status, std::string("finished"));
    }

    void everyWriteIsAudited()
    {
        Fixture f;
        const int64_t before = f.ws->db().queryInt("SELECT count(*) FROM audit_log");
        const int64_t p = prompt(f, f.alice);
        editMessage(*f.ws, f.alice, p, 1, "日本の首都はどこでしょうか？");
        submitReview(*f.ws, f.rev, {p, 2, ReviewVerdict::Approve, std::string("良い質問です"), {}, false});
        QCOMPARE(f.ws->db().queryInt("SELECT count(*) FROM audit_log") - before, int64_t(3));
        auto st = f.ws->db().prepare(
            "SELECT before_revision, after_revision, account_id FROM audit_log WHERE action = 'message.edit'");
        QVERIFY(st.step());
        QCOMPARE(st.int64(0), int64_t(1));
        QCOMPARE(st.int64(1), int64_t(2));
        QCOMPARE(st.int64(2), f.alice.id);
    }
};

TSUMUGI_TEST_MAIN(TestRoles)
#include "test_roles.moc"
