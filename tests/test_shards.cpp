// Token shards: what is written is read back through mmap, in both token widths; damaged,
// truncated and foreign files are refused with the file named and what to do.
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "tokenizer/shards.h"

using namespace tsumugi;
using namespace tsumugi::tok;

class TestShards : public QObject {
    Q_OBJECT
private slots:
    void roundTrip_data()
    {
        QTest::addColumn<int>("vocab");
        QTest::newRow("16-bit tokens") << 32000;
        QTest::newRow("32-bit tokens") << 128256;
    }
    void roundTrip()
    {
        QFETCH(int, vocab);
        QTemporaryDir dir;
        const std::string path = dir.filePath("shard.bin").toStdString();
        std::mt19937 rng(3);
        std::vector<std::vector<int32_t>> docs;
        {
            ShardWriter w(path, vocab);
            for (int d = 0; d < 500; ++d) {
                std::vector<int32_t> ids(rng() % 300);  // some documents are empty
                for (auto& id : ids) id = int32_t(rng() % uint32_t(vocab));
                w.addDocument(ids);
                docs.push_back(ids);
            }
            QVERIFY(!std::filesystem::exists(path));  // only the temporary file so far
            w.finish();
        }
        ShardReader r(path);
        QCOMPARE(r.documents(), uint64_t(docs.size()));
        QCOMPARE(r.bytesPerToken(), uint32_t(vocab <= 65536 ? 2 : 4));
        QCOMPARE(r.vocabSize(), vocab);
        uint64_t total = 0;
        for (size_t d = 0; d < docs.size(); ++d) {
            QCOMPARE(r.document(d), docs[d]);
            total += docs[d].size();
        }
        QCOMPARE(r.tokens(), total);
        QVERIFY_THROWS_EXCEPTION(Error, r.document(docs.size()));
    }

    void refusesBadFiles()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("shard.bin").toStdString();
        {
            ShardWriter w(path, 1000);
            w.addDocument(std::vector<int32_t>{1, 2, 3});
            QVERIFY_THROWS_EXCEPTION(Error, w.addDocument(std::vector<int32_t>{5000}));
            w.finish();
        }
        std::string bytes;
        {
            std::ifstream in(path, std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        auto expectError = [&](const std::string& content, const char* words) {
            const std::string bad = dir.filePath("bad.bin").toStdString();
            std::ofstream(bad, std::ios::binary | std::ios::trunc) << content;
            try {
                ShardReader r(bad);
                QFAIL("a bad shard was read");
            } catch (const Error& e) {
                QVERIFY2(QString(e.what()).contains(words), e.what());
                QVERIFY(QString(e.what()).startsWith(QString::fromStdString(bad)));
            }
        };
        expectError(bytes.substr(0, bytes.size() - 3), "truncated");
        expectError(bytes.substr(0, 10), "too short");
        expectError("NOTASHARD" + bytes.substr(9), "wrong magic");
        std::string future = bytes;
        future[8] = 9;
        expectError(future, "version 9");
        QVERIFY_THROWS_EXCEPTION(Error, ShardReader(dir.filePath("missing.bin").toStdString()));
    }

    void unfinishedWriterLeavesNothing()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("shard.bin").toStdString();
        {
            ShardWriter w(path, 1000);
            w.addDocument(std::vector<int32_t>{1, 2, 3});
        }
        QVERIFY(!std::filesystem::exists(path));
        QVERIFY(!std::filesystem::exists(path + ".tmp"));
    }
};

QTEST_GUILESS_MAIN(TestShards)
#include "test_shards.moc"
