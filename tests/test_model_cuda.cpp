// The decoder on CUDA against the CPU and the independent reference (tests/golden/llama_ref.py):
// fp32 logits of the golden fixtures, bf16 and fp16 (CUDA only) within stated tolerances, the
// gradients of one forward + backward against the CPU's, and greedy generation with the KV cache
// giving the CPU's tokens. Skipped, with the reason, where no CUDA device is visible (every
// machine without a GPU, and any LibTorch built without CUDA such as Debian's).
// LibTorch before Qt: ATen and torch::nn have members named `slots`, which Qt defines as a macro.
// clang-format off
#include "model/generate.h"
#include "model_fixtures.h"
// clang-format on
#include <torch/cuda.h>
#include "core/error.h"
#include <torch/utils.h>

#include <QTest>

using namespace tsumugi::model;
using namespace tsumugi::test;

Q_DECLARE_METATYPE(std::string)

class TestModelCuda : public QObject {
    Q_OBJECT

private slots:
    void init();
    void goldenFp32OnCuda_data();
    void goldenFp32OnCuda();
    void lowPrecisionNearFp32_data();
    void lowPrecisionNearFp32();
    void gradientsMatchCpu();
    void greedyGenerationMatchesCpu();
    void halfRefusedOnCpu();
};

void TestModelCuda::init()
{
    if (!torch::cuda::is_available() && QByteArray(QTest::currentTestFunction()) != "halfRefusedOnCpu")
        QSKIP("no CUDA device visible to LibTorch");
}

void TestModelCuda::goldenFp32OnCuda_data()
{
    QTest::addColumn<std::string>("fixture");
    QTest::addColumn<int>("entry");
    QTest::newRow("untied, llama3 rope, attention bias") << std::string("llama-tiny-llama3") << 0;
    QTest::newRow("tied, dynamic NTK active") << std::string("llama-tiny-tied") << 2;
}

void TestModelCuda::goldenFp32OnCuda()
{
    QFETCH(std::string, fixture);
    QFETCH(int, entry);
    torch::NoGradGuard noGrad;
    const std::string dir = fixtureDir(fixture);
    const json inputs = inputsOf(dir);
    const json& logitsEntry = inputs["logits"][size_t(entry)];
    LlamaModel model = loadWithOverride(dir, logitsEntry["override"], at::kFloat, at::kCUDA);
    QVERIFY(model->model->embed_tokens->weight.is_cuda());
    at::Tensor mask = causalMask(longTensor(inputs["attention_mask"]), longTensor(inputs["document_ids"]));
    at::Tensor logits = model(longTensor(inputs["input_ids"]), longTensor(inputs["position_ids"]), mask);
    QVERIFY(logits.is_cuda());
    const double err = maxAbs(logits, referenceLogits(dir, logitsEntry));
    qInfo("%s on CUDA: fp32 max abs error %.3g", fixture.c_str(), err);
    QVERIFY2(err < 1e-4, qPrintable(QString("max abs error %1 >= 1e-4").arg(err)));
}

void TestModelCuda::lowPrecisionNearFp32_data()
{
    QTest::addColumn<int>("dtype");
    QTest::newRow("bf16") << int(at::kBFloat16);
    QTest::newRow("fp16") << int(at::kHalf);
}

void TestModelCuda::lowPrecisionNearFp32()
{
    QFETCH(int, dtype);
    torch::NoGradGuard noGrad;
    const std::string dir = fixtureDir("llama-tiny-llama3");
    const json inputs = inputsOf(dir);
    LlamaModel model = loadWithOverride(dir, json::object(), at::ScalarType(dtype), at::kCUDA);
    at::Tensor mask = causalMask(longTensor(inputs["attention_mask"]), longTensor(inputs["document_ids"]));
    at::Tensor logits = model(longTensor(inputs["input_ids"]), longTensor(inputs["position_ids"]), mask);
    QCOMPARE(logits.scalar_type(), at::kFloat);
    at::Tensor expected = referenceLogits(dir, inputs["logits"][0]);
    const double err = maxAbs(logits, expected), scale = expected.abs().max().item<double>();
    qInfo("%s on CUDA: max abs error %.3g (max |logit| %.3g)", QTest::currentDataTag(), err, scale);
    QVERIFY(std::isfinite(err));
    // The CPU bf16 bound (test_llama): a few percent of the largest logit; fp16 keeps more bits.
    QVERIFY2(err < 0.05 * scale, qPrintable(QString("error %1 >= 5% of %2").arg(err).arg(scale)));
}

void TestModelCuda::gradientsMatchCpu()
{
    const std::string dir = fixtureDir("llama-tiny-llama3");
    const json inputs = inputsOf(dir);
    at::Tensor ids = longTensor(inputs["input_ids"]), pos = longTensor(inputs["position_ids"]);
    at::Tensor mask = causalMask(longTensor(inputs["attention_mask"]), longTensor(inputs["document_ids"]));
    auto gradients = [&](at::Device device) {
        LlamaModel model = loadWithOverride(dir, json::object(), at::kFloat, device);
        at::Tensor logits = model(ids, pos, mask);  // [B, T, V]
        const int64_t v = logits.size(2), t = logits.size(1);
        at::Tensor labels = ids.narrow(1, 1, t - 1).to(device).reshape({-1});
        at::cross_entropy_loss(logits.narrow(1, 0, t - 1).reshape({-1, v}), labels).backward();
        std::vector<std::pair<std::string, at::Tensor>> out;
        for (auto& item : model->named_parameters(true)) out.emplace_back(item.key(), item.value().grad().cpu());
        return out;
    };
    const auto cpu = gradients(at::kCPU), cuda = gradients(at::kCUDA);
    QCOMPARE(cpu.size(), cuda.size());
    double worst = 0;
    for (size_t i = 0; i < cpu.size(); ++i) {
        const double scale = std::max(1e-6, cpu[i].second.abs().max().item<double>());
        const double rel = maxAbs(cpu[i].second, cuda[i].second) / scale;
        worst = std::max(worst, rel);
        QVERIFY2(rel < 1e-3, qPrintable(QString::fromStdString(cpu[i].first) + QString(": relative error %1").arg(rel)));
    }
    qInfo("gradients CUDA vs CPU: worst relative max error %.3g over %zu tensors", worst, cpu.size());
}

void TestModelCuda::greedyGenerationMatchesCpu()
{
    torch::NoGradGuard noGrad;
    const std::string dir = fixtureDir("llama-tiny-llama3");
    LlamaModel cpu = loadLlama(dir), cuda = loadLlama(dir, at::kFloat, at::kCUDA);
    const std::vector<std::vector<int64_t>> prompts{{1, 17, 250, 3}, {1, 44, 45, 46, 47, 48, 49, 100, 101}};
    GenerationOptions options;
    options.maxNewTokens = 12;
    options.eosIds = std::vector<int64_t>{};
    QCOMPARE(generate(cuda, prompts, options), generate(cpu, prompts, options));
}

void TestModelCuda::halfRefusedOnCpu()
{
    bool refused = false;
    try {
        LlamaModel model(tinyConfig(), at::kHalf, at::kCPU);
    } catch (const tsumugi::Error& e) {
        refused = QString::fromStdString(e.what()).contains("CUDA");
    }
    QVERIFY2(refused, "float16 on the CPU must be refused with a message that names CUDA");
}

QTEST_GUILESS_MAIN(TestModelCuda)
#include "test_model_cuda.moc"
