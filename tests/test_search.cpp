// Search equals a brute-force scan on 10k generated Japanese messages, for queries of 1, 2,
// 3 and 5 characters, with case, filters and paging.
#include <QTest>

#include <random>

#include "core/utf8.h"
#include "datastore/messages.h"
#include "datastore/search.h"
#include "datastore/tags.h"
#include "test_support.h"

using namespace tsumugi;
using namespace tsumugi::test;

namespace {
// A small alphabet so that short queries hit often and long ones sometimes.
const std::vector<std::string> kAlphabet = {"京", "都", "猫", "の", "は", "に", "を", "た", "し", "て", "カ", "ー",
                                            "ド", "東", "大", "学", "、", "。", "A", "a", "B", "b", " ", "\""};

std::string randomText(std::mt19937_64& rng, int minLen, int maxLen)
{
    std::uniform_int_distribution<int> len(minLen, maxLen), pick(0, int(kAlphabet.size()) - 1);
    std::string s;
    for (int n = len(rng); n > 0; --n) s += kAlphabet[size_t(pick(rng))];
    return s;
}

std::vector<int64_t> bruteForce(const std::vector<std::pair<int64_t, std::string>>& all, const std::string& q,
                                bool ignoreCase = false)
{
    auto fold = [](std::string s) {
        for (char& c : s)
            if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
        return s;
    };
    std::vector<int64_t> out;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        const bool hit = ignoreCase ? fold(it->second).find(fold(q)) != std::string::npos
                                    : it->second.find(q) != std::string::npos;
        if (hit) out.push_back(it->first);
    }
    return out;
}

std::vector<int64_t> allPages(Workspace& ws, SearchQuery q)
{
    std::vector<int64_t> out;
    while (true) {
        const SearchPage page = searchMessages(ws, q);
        out.insert(out.end(), page.ids.begin(), page.ids.end());
        if (!page.nextBeforeId) return out;
        q.beforeId = page.nextBeforeId;
    }
}
}  // namespace

class TestSearch : public QObject {
    Q_OBJECT

    Fixture* f = nullptr;
    std::vector<std::pair<int64_t, std::string>> texts;  // id order
    std::mt19937_64 rng{20261124};

private slots:
    void initTestCase()
    {
        f = new Fixture;
        db::Transaction tx(f->ws->db());
        for (int i = 0; i < 10000; ++i) {
            NewMessage m;
            m.text = randomText(rng, 1, 40);
            m.status = i % 10 == 0 ? Status::Draft : Status::Submitted;
            texts.emplace_back(createMessage(*f->ws, i % 2 ? f->alice : f->bob, m), m.text);
        }
        tx.commit();
    }
    void cleanupTestCase() { delete f; }

    void equalsBruteForce_data()
    {
        QTest::addColumn<int>("length");
        for (int n : {1, 2, 3, 5}) QTest::newRow(qPrintable(QString("%1 chars").arg(n))) << n;
    }
    void equalsBruteForce()
    {
        QFETCH(int, length);
        int nonEmpty = 0;
        for (int i = 0; i < 40; ++i) {
            // Half the queries are cut from stored texts so that long ones hit too.
            std::string q;
            if (i % 2) {
                q = randomText(rng, length, length);
            } else {
                const std::string& source = texts[size_t(rng() % texts.size())].second;
                std::vector<size_t> starts;
                for (size_t pos = 0; pos < source.size(); utf8::next(source, pos)) starts.push_back(pos);
                starts.push_back(source.size());
                if (starts.size() <= size_t(length)) {
                    q = randomText(rng, length, length);
                } else {
                    const size_t from = size_t(rng() % (starts.size() - size_t(length)));
                    q = source.substr(starts[from], starts[from + size_t(length)] - starts[from]);
                }
            }
            SearchQuery query;
            query.text = q;
            query.limit = 500;
            const auto got = allPages(*f->ws, query);
            const auto want = bruteForce(texts, q);
            QVERIFY2(got == want, qPrintable(QString("query '%1': %2 results, brute force %3")
                                                 .arg(QString::fromStdString(q))
                                                 .arg(got.size())
                                                 .arg(want.size())));
            nonEmpty += !want.empty();
        }
        QVERIFY(nonEmpty >= 10);  // the comparison was not vacuous
    }

    void caseSensitiveByDefault()
    {
        for (const std::string q : {"A", "ab", "aB", "AbA", "a a"}) {
            SearchQuery query;
            query.text = q;
            query.limit = 100000;
            QCOMPARE(searchMessages(*f->ws, query).ids, bruteForce(texts, q));
            query.ignoreCase = true;
            QCOMPARE(searchMessages(*f->ws, query).ids, bruteForce(texts, q, true));
        }
    }

    void quotesAndOperatorsAreLiteral()
    {
        for (const std::string q : {"\"", "\"京", "AND", "京 OR 都", "*", "NEAR("}) {
            SearchQuery query;
            query.text = q;
            query.limit = 100000;
            QCOMPARE(searchMessages(*f->ws, query).ids, bruteForce(texts, q));
        }
    }

    void filtersAndPaging()
    {
        SearchQuery q;
        q.text = "京都";
        q.statuses = {Status::Draft};
        q.authorId = f->bob.id;
        q.limit = 7;
        const auto got = allPages(*f->ws, q);
        std::vector<int64_t> want;
        for (int64_t id : bruteForce(texts, "京都")) {
            const Message m = getMessage(*f->ws, id);
            if (m.status == Status::Draft && m.authorId == f->bob.id) want.push_back(id);
        }
        QVERIFY(!want.empty());
        QCOMPARE(got, want);
    }

    void tagRoleAndDateFilters()
    {
        Fixture g;
        NewMessage m;
        m.text = "紅葉の京都";
        const int64_t a = createMessage(*g.ws, g.alice, m);
        const int64_t b = createMessage(*g.ws, g.alice, m);
        tagMessage(*g.ws, g.alice, b, "旅行");
        SearchQuery q;
        q.text = "京都";
        q.tag = "旅行";
        QCOMPARE(searchMessages(*g.ws, q).ids, std::vector<int64_t>{b});
        q.tag.reset();
        q.role = MessageRole::Assistant;
        QVERIFY(searchMessages(*g.ws, q).ids.empty());
        q.role.reset();
        q.createdFrom = "2000-01-01";
        q.createdTo = "2000-01-02";
        QVERIFY(searchMessages(*g.ws, q).ids.empty());
        q.createdTo.reset();
        QCOMPARE(searchMessages(*g.ws, q).ids, (std::vector<int64_t>{b, a}));
    }
};

TSUMUGI_TEST_MAIN(TestSearch)
#include "test_search.moc"
