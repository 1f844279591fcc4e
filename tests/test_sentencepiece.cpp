// SentencePiece through the shim: ids and decoded text equal python3-sentencepiece on a
// Japanese fixture (tests/golden/make_sentencepiece_fixture.py made sp-ja.model and
// sp-ja-golden.jsonl with Debian's python3-sentencepiece 0.1.97), our trainer round-trips
// Japanese byte for byte, and bad files get clear errors.
#include <QTemporaryDir>
#include <QTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_support.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/tokenizer.h"

using namespace tsumugi;
using namespace tsumugi::tok;
using tsumugi::test::fixturePath;

namespace {
std::vector<std::string> lines(const std::string& path)
{
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}
}  // namespace

class TestSentencePiece : public QObject {
    Q_OBJECT
private slots:
    void equalsPythonSentencePiece()
    {
        const auto sp = loadSentencePieceModel(fixturePath("sp-ja.model"));
        QCOMPARE(sp->vocabSize(), 3000);
        int compared = 0;
        std::ifstream golden(fixturePath("sp-ja-golden.jsonl"));
        for (std::string line; std::getline(golden, line);) {
            const auto g = nlohmann::json::parse(line);
            const std::string text = g["text"];
            const Encoding e = sp->encode(text);
            QVERIFY2(e.ids == g["ids"].get<std::vector<int32_t>>(), text.c_str());
            QCOMPARE(sp->decode(e.ids), g["decoded"].get<std::string>());
            for (size_t i = 0; i < e.ids.size(); ++i) QCOMPARE(sp->idToToken(e.ids[i]), g["pieces"][i].get<std::string>());
            // Offsets stay inside the text and never run backwards.
            uint32_t last = 0;
            for (const auto& [begin, end] : e.offsets) {
                QVERIFY(begin <= end && end <= text.size());
                QVERIFY(begin >= last);
                last = begin;
            }
            ++compared;
        }
        QVERIFY(compared > 250);
        qInfo("%d lines equal python3-sentencepiece", compared);
    }

    void controlTokensInTextAreTheirIds()
    {
        const auto sp = loadSentencePieceModel(fixturePath("sp-ja.model"));
        const std::string text = "<s>猫です</s>";
        const Encoding e = sp->encode(text);
        QCOMPARE(e.ids.front(), 1);
        QCOMPARE(e.ids.back(), 2);
        QCOMPARE(e.offsets.front(), (std::pair<uint32_t, uint32_t>{0, 3}));
        QCOMPARE(e.offsets.back(), (std::pair<uint32_t, uint32_t>{uint32_t(text.size() - 4), uint32_t(text.size())}));
        QVERIFY(sp->isSpecial(1));
        QCOMPARE(sp->decode(e.ids, true), std::string("猫です"));
        QCOMPARE(*sp->tokenToId("</s>"), 2);
        QVERIFY(!sp->tokenToId("存在しないピース"));
        const auto ids = sentencePieceIds(*sp);
        QVERIFY(ids);
        QCOMPARE(ids->bos, 1);
        QCOMPARE(ids->eos, 2);
    }

    void trainRoundTripsJapaneseByteForByte_data()
    {
        QTest::addColumn<QString>("type");
        QTest::newRow("unigram") << "unigram";
        QTest::newRow("bpe") << "bpe";
    }
    void trainRoundTripsJapaneseByteForByte()
    {
        QFETCH(QString, type);
        QTemporaryDir dir;
        SentencePieceTraining t;
        t.inputs = {fixturePath("sp-corpus.txt")};
        t.outDirectory = dir.path().toStdString();
        t.vocabSize = 3000;
        t.modelType = type.toStdString();
        trainSentencePiece(t);
        const auto sp = loadSentencePieceModel(dir.filePath("tokenizer.model").toStdString());
        auto all = lines(fixturePath("sp-corpus.txt"));
        all.push_back("１２１ ｶﾀｶﾅ  二つの空白\tタブ 龘 😀");  // full-width, half-width, rare: bytes
        for (const std::string& text : all) QCOMPARE(sp->decode(sp->encode(text).ids), text);
    }

    void trainingErrorsSayWhatToDo()
    {
        QTemporaryDir dir;
        SentencePieceTraining t;
        t.inputs = {fixturePath("sp-corpus.txt")};
        t.outDirectory = dir.path().toStdString();
        t.vocabSize = 100;  // fewer than the corpus's distinct characters
        try {
            trainSentencePiece(t);
            QFAIL("trained a vocabulary smaller than the character set");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("vocab"), e.what());
        }
        t.inputs = {"/nonexistent/corpus.txt"};
        QVERIFY_THROWS_EXCEPTION(Error, trainSentencePiece(t));
    }

    void badModelFiles()
    {
        QTemporaryDir dir;
        const std::string truncated = dir.filePath("truncated.model").toStdString();
        {
            std::ifstream in(fixturePath("sp-ja.model"), std::ios::binary);
            std::string bytes((std::istreambuf_iterator<char>(in)), {});
            std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
        }
        try {
            loadSentencePieceModel(truncated);
            QFAIL("loaded a truncated model");
        } catch (const Error& e) {
            QVERIFY(QString(e.what()).startsWith(QString::fromStdString(truncated)));
        }
        QVERIFY_THROWS_EXCEPTION(Error, loadSentencePieceModel(dir.filePath("missing.model").toStdString()));
        const auto sp = loadSentencePieceModel(fixturePath("sp-ja.model"));
        QVERIFY_THROWS_EXCEPTION(Error, sp->decode({5000}));
        QVERIFY_THROWS_EXCEPTION(Error, sp->idToToken(-1));
    }
};

QTEST_GUILESS_MAIN(TestSentencePiece)
#include "test_sentencepiece.moc"
