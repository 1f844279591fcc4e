// SentencePiece and LibTorch in one process: linked together they crash before main (two
// protobufs, DESIGN.md); through the DEEPBIND-loaded shim they work. This executable links
// LibTorch, computes with it, then trains, loads and encodes with SentencePiece.
#include <ATen/ATen.h>

#include <QTemporaryDir>
#include <QTest>

#include "test_support.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/tokenizer.h"

using namespace tsumugi::tok;

class TestSpBesideTorch : public QObject {
    Q_OBJECT
private slots:
    void bothWork()
    {
        const at::Tensor x = at::ones({4, 4}, at::kFloat);
        QCOMPARE(x.matmul(x).sum().item<float>(), 64.0f);

        QTemporaryDir dir;
        SentencePieceTraining t;
        t.inputs = {tsumugi::test::fixturePath("sp-corpus.txt")};
        t.outDirectory = dir.path().toStdString();
        t.vocabSize = 3000;
        trainSentencePiece(t);  // SentencePiece logs through std::cerr here: must not crash
        const auto sp = loadSentencePieceModel(dir.filePath("tokenizer.model").toStdString());
        const std::string text = "LibTorch と SentencePiece が同じプロセスで動きます。";
        QCOMPARE(sp->decode(sp->encode(text).ids), text);
        QVERIFY(!sentencePieceShimPath().empty());

        const Encoding encoding = sp->encode(text);
        const at::Tensor ids = at::tensor(std::vector<int64_t>(encoding.ids.begin(), encoding.ids.end()));
        QCOMPARE(ids.numel(), int64_t(encoding.ids.size()));
    }
};

QTEST_GUILESS_MAIN(TestSpBesideTorch)
#include "test_sp_beside_torch.moc"
