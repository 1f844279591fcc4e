// The Llama decoder against an independent reference (tests/golden/llama_ref.py: the published
// formulas in plain torch, fixed seed): fp32 logits of a tiny GQA model with llama3 / linear /
// dynamic RoPE scaling, untied with attention bias and tied; packed documents and left padding
// give the logits of each sequence run alone; bf16 stays near fp32. The reverse direction: a model
// Tsumugi initialises and saves (sharded) is loaded by the same reference, which must compute the
// logits Tsumugi computed (skipped, with the reason, where /usr/bin/python3 has no torch).
// LibTorch before Qt: ATen and torch::nn have members named `slots`, which Qt defines as a macro.
// clang-format off
#include "model/llama.h"
// clang-format on
#include <ATen/ATen.h>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include "model/config.h"
#include "model/safetensors.h"
#include "model_fixtures.h"

using namespace tsumugi::model;
using namespace tsumugi::test;
using nlohmann::json;

Q_DECLARE_METATYPE(std::string)


class TestLlama : public QObject {
    Q_OBJECT

private slots:
    void goldenFp32_data();
    void goldenFp32();
    void ropeScalingMatters();
    void packedDocumentsMatchAlone();
    void leftPaddingMatchesUnpadded();
    void bf16NearFp32();
    void reverseGoldenSharded();
};

void TestLlama::goldenFp32_data()
{
    QTest::addColumn<std::string>("fixture");
    QTest::addColumn<int>("entry");
    QTest::newRow("untied, llama3 rope, attention bias") << std::string("llama-tiny-llama3") << 0;
    QTest::newRow("tied, no scaling") << std::string("llama-tiny-tied") << 0;
    QTest::newRow("tied, linear") << std::string("llama-tiny-tied") << 1;
    QTest::newRow("tied, dynamic NTK active") << std::string("llama-tiny-tied") << 2;
}

void TestLlama::goldenFp32()
{
    QFETCH(std::string, fixture);
    QFETCH(int, entry);
    torch::NoGradGuard noGrad;
    const std::string dir = fixtureDir(fixture);
    const json inputs = inputsOf(dir);
    const json& logitsEntry = inputs["logits"][size_t(entry)];
    LlamaModel model = loadWithOverride(dir, logitsEntry["override"], at::kFloat);
    at::Tensor mask = causalMask(longTensor(inputs["attention_mask"]), longTensor(inputs["document_ids"]));
    at::Tensor logits = model(longTensor(inputs["input_ids"]), longTensor(inputs["position_ids"]), mask);  // [B, T, V]
    at::Tensor expected = referenceLogits(dir, logitsEntry);
    QCOMPARE(logits.sizes().vec(), expected.sizes().vec());
    const double err = maxAbs(logits, expected);
    qInfo("%s: fp32 max abs error %.3g (max |logit| %.3g)", logitsEntry["file"].get<std::string>().c_str(), err,
          expected.abs().max().item<double>());
    QVERIFY2(err < 1e-4, qPrintable(QString("max abs error %1 >= 1e-4").arg(err)));
}

// The llama3 fixture's positions reach the rescaled frequencies: without the scaling the logits
// move, so the golden case above really checks it.
void TestLlama::ropeScalingMatters()
{
    torch::NoGradGuard noGrad;
    const std::string dir = fixtureDir("llama-tiny-llama3");
    const json inputs = inputsOf(dir);
    LlamaModel model = loadWithOverride(dir, json{{"rope_scaling", nullptr}}, at::kFloat);
    QCOMPARE(model->config().ropeScaling.type, RopeScalingType::None);
    at::Tensor mask = causalMask(longTensor(inputs["attention_mask"]), longTensor(inputs["document_ids"]));
    at::Tensor logits = model(longTensor(inputs["input_ids"]), longTensor(inputs["position_ids"]), mask);
    QVERIFY(maxAbs(logits, referenceLogits(dir, inputs["logits"][0])) > 1e-3);
}

void TestLlama::packedDocumentsMatchAlone()
{
    torch::NoGradGuard noGrad;
    const std::string dir = fixtureDir("llama-tiny-tied");
    const json inputs = inputsOf(dir);
    LlamaModel model = loadWithOverride(dir, json::object(), at::kFloat);
    at::Tensor ids = longTensor(inputs["input_ids"]).narrow(0, 1, 1);     // [1, 12]: documents of 5 and 7
    at::Tensor pos = longTensor(inputs["position_ids"]).narrow(0, 1, 1);  // [1, 12]
    at::Tensor docs = documentIdsFromPositions(pos);                      // [1, 12]
    QCOMPARE(docs.max().item<int64_t>() - docs.min().item<int64_t>(), int64_t(1));
    at::Tensor packed = model(ids, pos, causalMask(at::ones_like(ids), docs));  // [1, 12, V]
    at::Tensor first = model(ids.narrow(1, 0, 5), pos.narrow(1, 0, 5));         // [1, 5, V]
    at::Tensor second = model(ids.narrow(1, 5, 7), pos.narrow(1, 5, 7));        // [1, 7, V]
    const double err = std::max(maxAbs(packed.narrow(1, 0, 5), first), maxAbs(packed.narrow(1, 5, 7), second));
    qInfo("packed vs alone: max abs difference %.3g", err);
    // Not bit-equal: the matmuls have other shapes, so fp32 rounding differs (~1e-5 on logits of ~60).
    QVERIFY2(err < 1e-4, qPrintable(QString("packed differs by %1").arg(err)));
    // Without the document mask the second document sees the first: the test can fail.
    at::Tensor leaky = model(ids, pos);
    QVERIFY(maxAbs(leaky.narrow(1, 5, 7), second) > 1e-3);
}

void TestLlama::leftPaddingMatchesUnpadded()
{
    torch::NoGradGuard noGrad;
    const std::string dir = fixtureDir("llama-tiny-llama3");
    const json inputs = inputsOf(dir);
    LlamaModel model = loadWithOverride(dir, json::object(), at::kFloat);
    at::Tensor ids = longTensor(inputs["input_ids"]);             // [2, 12], row 0: 3 pads on the left
    at::Tensor pos = longTensor(inputs["position_ids"]);          // [2, 12]
    at::Tensor attention = longTensor(inputs["attention_mask"]);  // [2, 12]
    at::Tensor padded = model(ids, pos, causalMask(attention, longTensor(inputs["document_ids"])));  // [2, 12, V]
    at::Tensor alone = model(ids.narrow(0, 0, 1).narrow(1, 3, 9), at::arange(9, at::kLong).unsqueeze(0));
    const double err = maxAbs(padded.narrow(0, 0, 1).narrow(1, 3, 9), alone);
    qInfo("left padded vs unpadded: max abs difference %.3g", err);
    QVERIFY2(err < 1e-4, qPrintable(QString("padded differs by %1").arg(err)));
}

void TestLlama::bf16NearFp32()
{
    torch::NoGradGuard noGrad;
    for (const char* name : {"llama-tiny-llama3", "llama-tiny-tied"}) {
        const std::string dir = fixtureDir(name);
        const json inputs = inputsOf(dir);
        LlamaModel model = loadWithOverride(dir, json::object(), at::kBFloat16);
        QCOMPARE(model->model->embed_tokens->weight.scalar_type(), at::kBFloat16);
        at::Tensor mask = causalMask(longTensor(inputs["attention_mask"]), longTensor(inputs["document_ids"]));
        at::Tensor logits = model(longTensor(inputs["input_ids"]), longTensor(inputs["position_ids"]), mask);
        QCOMPARE(logits.scalar_type(), at::kFloat);
        at::Tensor expected = referenceLogits(dir, inputs["logits"][0]);  // [B, T, V]
        const double err = maxAbs(logits, expected), scale = expected.abs().max().item<double>();
        qInfo("%s: bf16 max abs error %.3g (max |logit| %.3g)", name, err, scale);
        // bf16 keeps 8 significant bits (relative step 2^-8 ≈ 0.4%); two layers and the head
        // compound that to a few percent of the largest logit.
        QVERIFY2(err < 0.05 * scale, qPrintable(QString("bf16 error %1 >= 5% of %2").arg(err).arg(scale)));
    }
}

void TestLlama::reverseGoldenSharded()
{
    const QString python = "/usr/bin/python3";
    const QString script = QString(TSUMUGI_FIXTURES_DIR) + "/../golden/llama_ref.py";
    QProcess probe;
    probe.start(python, {"-c", "import torch"});
    if (!probe.waitForFinished(60000) || probe.exitStatus() != QProcess::NormalExit || probe.exitCode() != 0)
        QSKIP("/usr/bin/python3 cannot import torch (scripts/install-deps.sh installs python3-torch)");

    torch::NoGradGuard noGrad;
    const std::string fixture = fixtureDir("llama-tiny-llama3");
    json configJson = json::parse(slurp(fixture + "/config.json"));
    configJson["initializer_range"] = 0.2;  // logits of a few units, so 1e-4 is a real bound
    const LlamaConfig config = parseConfigJson(configJson.dump(), "override");
    at::manual_seed(20261125);
    LlamaModel model(config);

    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const std::string dir = tmp.path().toStdString();
    NamedTensors tensors;
    for (auto& item : model->named_parameters(true)) tensors.emplace_back(item.key(), item.value());
    ShardOptions shards;
    shards.maxShardBytes = 64 << 10;
    const auto files = writeSafetensorsCheckpoint(dir, tensors, shards);
    QVERIFY2(files.size() > 2, "the checkpoint should be sharded");
    saveConfig(config, dir);

    json inputs = inputsOf(fixture);
    at::Tensor mask = causalMask(longTensor(inputs["attention_mask"]), longTensor(inputs["document_ids"]));
    at::Tensor logits = model(longTensor(inputs["input_ids"]), longTensor(inputs["position_ids"]), mask).contiguous();
    {
        std::ofstream out(dir + "/logits.f32", std::ios::binary);
        out.write(static_cast<const char*>(logits.data_ptr()), std::streamsize(logits.numel() * sizeof(float)));
    }
    inputs["logits"] = json::array({json{{"file", "logits.f32"}, {"shape", logits.sizes().vec()}, {"override", json::object()}}});
    std::ofstream(dir + "/inputs.json") << inputs.dump(1) << "\n";

    QProcess check;
    check.setProcessChannelMode(QProcess::MergedChannels);
    check.start(python, {script, "check", tmp.path()});
    QVERIFY(check.waitForFinished(120000));
    const QString output = QString::fromUtf8(check.readAll()).trimmed();
    qInfo("reference: %s (max |logit| %.3g)", qPrintable(output), logits.abs().max().item<double>());
    QVERIFY2(check.exitStatus() == QProcess::NormalExit && check.exitCode() == 0, qPrintable(output));
    QVERIFY(logits.abs().max().item<double>() > 0.5);
}

QTEST_GUILESS_MAIN(TestLlama)
#include "test_llama.moc"
