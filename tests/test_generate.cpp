// Generation with a KV cache against recomputing the full sequence each step (same tokens,
// logits within 1e-4), batched left-padded prompts against each prompt alone, seeded sampling,
// EOS and callback stops per row, top-k 1 against greedy. Fixture: tests/fixtures/llama-tiny-llama3
// (max_position_embeddings 64, so every run stays below it).
// LibTorch before Qt: ATen and torch::nn have members named `slots`, which Qt defines as a macro.
// clang-format off
#include "model/generate.h"
#include "model/llama.h"
// clang-format on
#include <ATen/ATen.h>
#include <algorithm>
#include <string>
#include <vector>

#include <QTest>

using namespace tsumugi::model;

namespace {

using Ids = std::vector<int64_t>;

LlamaModel tinyModel()
{
    return loadLlama(std::string(TSUMUGI_FIXTURES_DIR) + "/llama-tiny-llama3");
}

std::vector<Ids> threePrompts()
{
    return {
        {1, 17, 250, 3}, {1, 44, 45, 46, 47, 48, 49, 100, 101}, {1, 300, 9, 8, 7, 6, 5, 4, 3, 200, 201, 202, 203, 11}};
}

GenerationOptions greedy(int64_t maxNewTokens)
{
    GenerationOptions o;
    o.maxNewTokens = maxNewTokens;
    o.eosIds = Ids{};  // never stop early: the runs compared must have the same length
    return o;
}

// The generated ids up to and including the first `eos`.
Ids cutAt(const Ids& ids, int64_t eos)
{
    auto it = std::find(ids.begin(), ids.end(), eos);
    return Ids(ids.begin(), it == ids.end() ? it : it + 1);
}

}  // namespace

class TestGenerate : public QObject {
    Q_OBJECT

private slots:
    void maskWithPastMatchesCausalMask();
    void cacheMatchesRecompute();
    void batchedMatchesAlone();
    void samplingIsSeeded();
    void eosAndCallbackStopRows();
    void topK1IsGreedy();
};

void TestGenerate::maskWithPastMatchesCausalMask()
{
    at::Tensor attention = at::tensor({0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, at::kLong).view({2, 5});
    at::Tensor full = causalMask(attention, at::zeros_like(attention));  // [B, 1, S, S]
    QVERIFY(causalMaskWithPast(attention, 5).equal(full));
    QVERIFY(causalMaskWithPast(attention, 2).equal(full.narrow(2, 3, 2)));
}

void TestGenerate::cacheMatchesRecompute()
{
    LlamaModel model = tinyModel();
    const std::vector<Ids> prompts = threePrompts();
    GenerationOptions cached = greedy(20), recomputed = greedy(20);
    recomputed.useCache = false;
    GenerationTrace a, b;
    const auto withCache = generate(model, prompts, cached, {}, &a);
    const auto without = generate(model, prompts, recomputed, {}, &b);
    QCOMPARE(withCache, without);
    QCOMPARE(withCache[0].size(), size_t(20));
    QCOMPARE(a.stepLogits.size(), b.stepLogits.size());
    double worst = 0;
    for (size_t i = 0; i < a.stepLogits.size(); ++i)
        worst = std::max(worst, (a.stepLogits[i] - b.stepLogits[i]).abs().max().item<double>());
    qInfo("KV cache vs recompute: max abs logit difference over 20 steps %.3g", worst);
    QVERIFY(worst < 1e-4);
    const double last = (a.stepLogits.back() - b.stepLogits.back()).abs().max().item<double>();
    QVERIFY(last < 1e-4);
}

void TestGenerate::batchedMatchesAlone()
{
    LlamaModel model = tinyModel();
    const std::vector<Ids> prompts = threePrompts();
    const auto batched = generate(model, prompts, greedy(16));
    for (size_t r = 0; r < prompts.size(); ++r) {
        const auto alone = generate(model, {prompts[r]}, greedy(16));
        QCOMPARE(batched[r], alone[0]);
    }
}

void TestGenerate::samplingIsSeeded()
{
    LlamaModel model = tinyModel();
    const std::vector<Ids> prompts = threePrompts();
    GenerationOptions o = greedy(16);
    o.temperature = 1.0;
    o.topK = 50;
    o.topP = 0.95;
    o.repetitionPenalty = 1.2;
    o.seed = 42;
    const auto first = generate(model, prompts, o);
    const auto again = generate(model, prompts, o);
    QCOMPARE(first, again);
    o.seed = 43;
    QVERIFY(generate(model, prompts, o) != first);
    o.seed = 42;
    o.useCache = false;
    QCOMPARE(generate(model, prompts, o), first);
}

void TestGenerate::eosAndCallbackStopRows()
{
    LlamaModel model = tinyModel();
    const std::vector<Ids> prompts = threePrompts();
    const auto free = generate(model, prompts, greedy(16));
    const int64_t eos = free[0][3];  // row 0 stops at its 4th token (or before, if it came earlier)
    GenerationOptions o = greedy(16);
    o.eosIds = Ids{eos};
    const auto stopped = generate(model, prompts, o);
    for (size_t r = 0; r < prompts.size(); ++r) QCOMPARE(stopped[r], cutAt(free[r], eos));
    QVERIFY(stopped[0].size() <= 4);

    std::vector<size_t> seen(prompts.size(), 0);
    const auto cut = generate(model, prompts, greedy(16), [&](size_t row, int64_t) {
        ++seen[row];
        return row != 1 || seen[row] < 5;
    });
    QCOMPARE(cut[1], Ids(free[1].begin(), free[1].begin() + 5));
    QCOMPARE(cut[0], free[0]);
    QCOMPARE(cut[2], free[2]);
}

void TestGenerate::topK1IsGreedy()
{
    LlamaModel model = tinyModel();
    const std::vector<Ids> prompts = threePrompts();
    GenerationOptions o = greedy(12);
    o.temperature = 0.7;
    o.topK = 1;
    o.seed = 7;
    QCOMPARE(generate(model, prompts, o), generate(model, prompts, greedy(12)));
}

QTEST_GUILESS_MAIN(TestGenerate)
#include "test_generate.moc"
