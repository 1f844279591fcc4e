// SFT and what training/ shares: conversation paths from ranked trees, packing and labels,
// the loss (masked and other-document tokens contribute nothing), AdamW and the schedule against
// numbers worked out by hand, activation checkpointing against the plain backward pass, the
// spike guard, and the recipe end to end on a tiny model: exact resume after a crash, a NaN step
// skipped and logged, a spike storm rolled back, bad configurations refused before training.
// LibTorch before Qt: ATen and torch::nn have members named `slots`, which Qt defines as a macro.
// clang-format off
#include "model/llama.h"
#include "model/lora.h"
#include "sft/data.h"
#include "sft/recipe.h"
#include "training/activation_checkpoint.h"
#include "training/checkpoint.h"
#include "training/guard.h"
#include "training/loss.h"
#include "training/optimizer.h"
// clang-format on
#include <cmath>
#include <filesystem>
#include <fstream>

#include <torch/utils.h>

#include "core/error.h"
#include "datastore/messages.h"
#include "datastore/rankings.h"
#include "datastore/runs.h"
#include "datastore/snapshots.h"
#include "model/config.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

using namespace tsumugi;
using namespace tsumugi::test;
namespace fs = std::filesystem;

namespace {

// A prompt with two replies; returns {prompt, reply1, reply2}.
std::vector<int64_t> addTree(Fixture& f, const std::string& topic)
{
    NewMessage p;
    p.text = topic + "について、短く説明してください。";
    p.status = Status::Approved;
    const int64_t prompt = createMessage(*f.ws, f.service, p);
    std::vector<int64_t> ids{prompt};
    for (const char* answer : {"はよく知られた話題です。", "について、要点を一つ挙げます。"}) {
        NewMessage r;
        r.parentId = prompt;
        r.role = MessageRole::Assistant;
        r.text = topic + answer;
        r.status = Status::Approved;
        r.authorId = f.rev.id;
        ids.push_back(createMessage(*f.ws, f.service, r));
    }
    return ids;
}

// A tiny model (random, seeded) with the fixture SentencePiece tokenizer, in Hugging Face layout.
std::string makeBase(const QTemporaryDir& dir)
{
    const std::string base = dir.filePath("base").toStdString();
    fs::create_directories(base);
    fs::copy_file(fixturePath("sp-ja.model"), base + "/tokenizer.model");
    const tok::TokenizerBundle bundle = tok::loadTokenizer(base);
    model::LlamaConfig config = model::tinyConfig();
    config.vocabSize = bundle.tokenizer->vocabSize();
    config.bosTokenId = bundle.special.bos;
    config.eosTokenIds = {*bundle.special.eos};
    config.padTokenId = bundle.special.pad;
    at::manual_seed(11);
    model::LlamaModel llama(config);
    training::saveHfModel(*llama, base, base, nullptr);
    return base;
}

sft::SftOptions baseOptions(const std::string& base, const std::string& out)
{
    sft::SftOptions o;
    o.snapshot = "v1";
    o.base = base;
    o.out = out;
    o.templateName = "llm-jp";
    o.seqLen = 96;
    o.batchSize = 2;
    o.lr = 3e-3;
    o.warmupSteps = 2;
    o.maxSteps = 8;
    o.guard.minHistory = 100;  // these tests decide the guard's verdicts themselves
    return o;
}

struct TrainingWorkspace {
    Fixture f;
    QTemporaryDir dir;
    std::string base;
    TrainingWorkspace()
    {
        for (const char* topic : {"京都", "猫", "富士山", "味噌汁", "新幹線", "俳句", "桜", "温泉"}) addTree(f, topic);
        createSnapshot(*f.ws, f.admin, "v1", {}, {});
        base = makeBase(dir);
    }
    std::string out(const char* name) const { return dir.filePath(name).toStdString(); }
};

std::vector<std::string> metricEvents(const std::string& runDir)
{
    std::vector<std::string> events;
    std::ifstream in(runDir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
        const auto j = nlohmann::json::parse(line);
        if (j.contains("event")) events.push_back(j["event"].get<std::string>());
    }
    return events;
}

}  // namespace

class TestSft : public QObject {
    Q_OBJECT

private slots:
    void pathsFollowConsensus();
    void packingRowsAndLabels();
    void bucketsPadToTheLongestOfTheBatch();
    void lossCountsOnlyTargets();
    void documentsDoNotLeak();
    void adamwHandWorked();
    void scheduleHandWorked();
    void clippingScalesToTheNorm();
    void activationCheckpointingMatchesPlain();
    void guardSkipsAndRollsBack();
    void trainingLowersTheLoss();
    void resumeIsExact();
    void nanStepIsSkippedAndLogged();
    void spikeStormRollsBack();
    void loraRunSavesAnAdapter();
    void badConfigurationsFailBeforeTraining();
};

void TestSft::pathsFollowConsensus()
{
    Fixture f;
    const auto ranked = addTree(f, "京都");
    const auto unranked = addTree(f, "猫");
    // Two annotators prefer the second reply; a third the first: the consensus is the second.
    submitRanking(*f.ws, f.alice, {ranked[0], RankingVerdict::Ranked, {{ranked[2]}, {ranked[1]}}, {}, {}});
    submitRanking(*f.ws, f.bob, {ranked[0], RankingVerdict::Ranked, {{ranked[2]}, {ranked[1]}}, {}, {}});
    submitRanking(*f.ws, f.carol, {ranked[0], RankingVerdict::Ranked, {{ranked[1]}, {ranked[2]}}, {}, {}});
    const Snapshot s = createSnapshot(*f.ws, f.admin, "v1", {}, {});

    sft::PathReport report;
    auto consensus = sft::snapshotPaths(*f.ws, s.id, sft::PathSelection::Consensus, &report);
    QCOMPARE(report.trees, int64_t(2));
    QCOMPARE(report.rankedBranches, int64_t(1));
    QCOMPARE(report.unrankedBranches, int64_t(1));
    QCOMPARE(consensus.size(), size_t(3));  // the ranked tree's best, both of the unranked tree
    QCOMPARE(consensus[0].messageIds, (std::vector<int64_t>{ranked[0], ranked[2]}));
    QCOMPARE(consensus[0].messages[0].role, std::string("user"));
    QCOMPARE(consensus[0].messages[1].role, std::string("assistant"));
    QCOMPARE(sft::snapshotPaths(*f.ws, s.id, sft::PathSelection::All).size(), size_t(4));
    auto best = sft::snapshotPaths(*f.ws, s.id, sft::PathSelection::Best);
    QCOMPARE(best.size(), size_t(2));
    QCOMPARE(best[0].messageIds.back(), ranked[2]);
    QCOMPARE(best[1].messageIds.back(), unranked[1]);  // unranked: the lowest id
}

void TestSft::packingRowsAndLabels()
{
    // Worked by hand: seqLen 6; documents [1 2 3] (targets 2, 3) and [4 5] (target 5).
    std::vector<sft::Example> examples{{{1, 2, 3}, {0, 1, 1}, 1}, {{4, 5}, {0, 1}, 2}};
    double efficiency = 0;
    auto rows = sft::packExamples(examples, 6, 0, &efficiency);
    QCOMPARE(rows.size(), size_t(1));
    QCOMPARE(rows[0].ids, (std::vector<int64_t>{1, 2, 3, 4, 5, 0}));
    QCOMPARE(rows[0].positions, (std::vector<int64_t>{0, 1, 2, 0, 1, 0}));
    QCOMPARE(rows[0].labels, (std::vector<int64_t>{2, 3, -100, 5, -100, -100}));
    QCOMPARE(rows[0].attention, (std::vector<int64_t>{1, 1, 1, 1, 1, 0}));
    QCOMPARE(rows[0].documents, int64_t(2));
    QCOMPARE(rows[0].lossTokens(), int64_t(3));
    QCOMPARE(efficiency, 5.0 / 6.0);
    // Best fit decreasing: lengths 4, 3, 3 into rows of 6 → [4], [3 3]; nothing is split.
    std::vector<sft::Example> three{{{1, 1, 1, 1}, {0, 1, 1, 1}, 1}, {{2, 2, 2}, {0, 1, 1}, 2}, {{3, 3, 3}, {0, 1, 1}, 3}};
    rows = sft::packExamples(three, 6, 0, &efficiency);
    QCOMPARE(rows.size(), size_t(2));
    QCOMPARE(rows[0].documents + rows[1].documents, int64_t(3));
    QCOMPARE(efficiency, 10.0 / 12.0);
    // A prompt token is never a label: the mask decides which next tokens count.
    std::vector<sft::Example> prompt{{{7, 8, 9, 10}, {0, 0, 1, 1}, 1}};
    rows = sft::packExamples(prompt, 4, 0);
    QCOMPARE(rows[0].labels, (std::vector<int64_t>{-100, 9, 10, -100}));
}

void TestSft::bucketsPadToTheLongestOfTheBatch()
{
    std::vector<sft::Example> examples{
        {{1, 2, 3, 4, 5}, {0, 1, 1, 1, 1}, 1}, {{1, 2}, {0, 1}, 2}, {{1, 2, 3}, {0, 1, 1}, 3}, {{1, 2, 3, 4}, {0, 1, 1, 1}, 4}};
    double efficiency = 0;
    auto batches = sft::bucketExamples(examples, 2, 0, &efficiency);
    QCOMPARE(batches.size(), size_t(2));
    QCOMPARE(batches[0][0].ids.size(), size_t(3));  // lengths 2 and 3 padded to 3
    QCOMPARE(batches[1][0].ids.size(), size_t(5));  // lengths 4 and 5 padded to 5
    QCOMPARE(efficiency, 14.0 / 16.0);
}

void TestSft::lossCountsOnlyTargets()
{
    at::manual_seed(3);
    at::Tensor logits = at::randn({2, 5, 11}).requires_grad_(true);
    at::Tensor labels = at::tensor({3, -100, 4, -100, -100, 1, 2, -100, 10, 0}, at::kLong).view({2, 5});
    at::Tensor sum = training::causalLmLossSum(logits, labels);
    // By hand: -log softmax at each counted position.
    at::Tensor logp = at::log_softmax(logits.detach(), -1);
    double expected = 0;
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t t = 0; t < 5; ++t)
            if (int64_t l = labels[b][t].item<int64_t>(); l != -100) expected -= logp[b][t][l].item<double>();
    QVERIFY(std::abs(sum.item<double>() - expected) < 1e-4);
    QCOMPARE(training::lossTokens(labels), int64_t(6));
    sum.backward();
    // Positions whose label is -100 get no gradient at all.
    QCOMPARE(logits.grad()[0][1].abs().sum().item<double>(), 0.0);
    QCOMPARE(logits.grad()[1][2].abs().sum().item<double>(), 0.0);
    QVERIFY(logits.grad()[0][0].abs().sum().item<double>() > 0);
}

void TestSft::documentsDoNotLeak()
{
    // One packed row [A | B]: changing every token of A changes neither B's logits nor B's loss
    // and gradients from B alone.
    at::manual_seed(5);
    model::LlamaModel llama(model::tinyConfig());
    std::vector<sft::Example> ex{{{5, 6, 7, 8, 9}, {0, 0, 1, 1, 1}, 1}, {{20, 21, 22, 23}, {0, 1, 1, 1}, 2}};
    auto forward = [&](const std::vector<sft::Example>& e) {
        const sft::Row row = sft::packExamples(e, 12, 0).front();
        at::Tensor ids = at::tensor(row.ids, at::kLong).unsqueeze(0);
        at::Tensor pos = at::tensor(row.positions, at::kLong).unsqueeze(0);
        at::Tensor mask = model::causalMask(at::tensor(row.attention, at::kLong).unsqueeze(0),
                                            model::documentIdsFromPositions(pos));
        return llama(ids, pos, mask);  // [1, 12, V]
    };
    torch::NoGradGuard noGrad;
    at::Tensor before = forward(ex);
    // Best fit decreasing puts the longer document first; A is at 0..4, B at 5..8.
    ex[0].ids = {30, 31, 32, 33, 34};
    at::Tensor after = forward(ex);
    QVERIFY((before.narrow(1, 0, 5) - after.narrow(1, 0, 5)).abs().max().item<double>() > 1e-3);
    QCOMPARE((before.narrow(1, 5, 4) - after.narrow(1, 5, 4)).abs().max().item<double>(), 0.0);
}

void TestSft::adamwHandWorked()
{
    // p = 1, g = 0.5, lr 0.1, weight decay 0.01, betas (0.9, 0.999), eps 1e-8, step 1:
    //   decay: p = 1 × (1 − 0.1 × 0.01) = 0.999
    //   m = 0.1 × 0.5 = 0.05, v = 0.001 × 0.25 = 0.00025; m̂ = 0.05 / 0.1 = 0.5, v̂ = 0.00025 / 0.001 = 0.25
    //   p = 0.999 − 0.1 × 0.5 / (√0.25 + 1e-8) = 0.999 − 0.1 = 0.899 (to 1e-8)
    at::Tensor w = at::ones({2, 1}).requires_grad_(true);  // 2-D: decays
    at::Tensor n = at::ones({2}).requires_grad_(true);     // 1-D (a norm): never decays
    training::AdamW opt({{"w", w}, {"model.norm.weight", n}}, {0.9, 0.999, 1e-8, 0.01});
    w.mutable_grad() = at::full({2, 1}, 0.5);
    n.mutable_grad() = at::full({2}, 0.5);
    opt.step(0.1);
    QVERIFY(std::abs(w[0][0].item<double>() - 0.899) < 1e-6);
    QVERIFY(std::abs(n[0].item<double>() - 0.9) < 1e-6);  // 1 − 0.1, no decay
    // Step 2 with g = 0.5 again: m = 0.095, v = 0.00049975 → m̂ = 0.5, v̂ = 0.25 → another −0.1.
    opt.step(0.1);
    QVERIFY(std::abs(n[0].item<double>() - 0.8) < 1e-6);
    // The saved state restores the same update.
    const auto state = opt.state();
    at::Tensor n2 = at::full({2}, 0.8).requires_grad_(true);
    at::Tensor w2 = w.detach().clone().requires_grad_(true);
    training::AdamW again({{"w", w2}, {"model.norm.weight", n2}}, {0.9, 0.999, 1e-8, 0.01});
    again.loadState(state, opt.steps());
    n.mutable_grad() = at::full({2}, 0.25);
    n2.mutable_grad() = at::full({2}, 0.25);
    w.mutable_grad() = at::full({2, 1}, 0.25);
    w2.mutable_grad() = at::full({2, 1}, 0.25);
    opt.step(0.05);
    again.step(0.05);
    QCOMPARE(n2[0].item<double>(), n[0].item<double>());
    QCOMPARE(w2[0][0].item<double>(), w[0][0].item<double>());
}

void TestSft::scheduleHandWorked()
{
    training::ScheduleOptions s{1.0, 10, 110, training::Schedule::Cosine, 0.0};
    QCOMPARE(training::learningRate(s, 0), 0.1);  // (0 + 1) / 10
    QCOMPARE(training::learningRate(s, 9), 1.0);
    QCOMPARE(training::learningRate(s, 10), 1.0);                      // decay starts at the peak
    QVERIFY(std::abs(training::learningRate(s, 60) - 0.5) < 1e-12);   // halfway: (1 + cos π/2) / 2
    QVERIFY(std::abs(training::learningRate(s, 110)) < 1e-12);
    s.kind = training::Schedule::Linear;
    s.minRatio = 0.1;
    QVERIFY(std::abs(training::learningRate(s, 60) - 0.55) < 1e-12);  // 0.1 + 0.9 × 0.5
    QVERIFY(std::abs(training::learningRate(s, 200) - 0.1) < 1e-12);
}

void TestSft::clippingScalesToTheNorm()
{
    // Gradients (3, 0) and (0, 4): total norm 5; clipped to 1 they become (0.6, 0) and (0, 0.8).
    at::Tensor a = at::zeros({2}).requires_grad_(true), b = at::zeros({2}).requires_grad_(true);
    a.mutable_grad() = at::tensor({3.0f, 0.0f});
    b.mutable_grad() = at::tensor({0.0f, 4.0f});
    QVERIFY(std::abs(training::clipGradNorm({a, b}, 1.0) - 5.0) < 1e-6);
    QVERIFY(std::abs(a.grad()[0].item<double>() - 0.6) < 1e-5);
    QVERIFY(std::abs(b.grad()[1].item<double>() - 0.8) < 1e-5);
    a.mutable_grad() = at::tensor({std::nanf(""), 0.0f});
    QVERIFY(std::isnan(training::clipGradNorm({a, b}, 1.0)));
}

void TestSft::activationCheckpointingMatchesPlain()
{
    at::manual_seed(9);
    model::LlamaModel llama(model::tinyConfig());
    model::LoraConfig lc;
    lc.dropout = 0.1;  // the recomputation must draw the same dropout masks
    lc.targetModules = {"q_proj", "v_proj", "down_proj"};
    model::LoraModel lora = model::applyLora(llama, lc, 1);
    {
        torch::NoGradGuard noGrad;
        for (auto& [name, t] : lora.namedTensors()) t.normal_(0, 0.05);
    }
    llama->train();
    at::Tensor ids = at::randint(3, 500, {2, 16}, at::kLong);
    at::Tensor pos = at::arange(16, at::kLong).expand({2, 16});
    auto gradients = [&] {
        at::manual_seed(123);
        at::Tensor logits = llama(ids, pos);
        training::causalLmLossSum(logits.narrow(1, 0, 15), ids.narrow(1, 1, 15)).backward();
        std::vector<at::Tensor> g;
        for (auto& [name, t] : lora.namedTensors()) {
            g.push_back(t.grad().clone());
            t.mutable_grad() = at::Tensor();
        }
        return g;
    };
    const auto plain = gradients();
    training::enableActivationCheckpointing(*llama);
    const auto checkpointed = gradients();
    training::disableActivationCheckpointing(*llama);
    QCOMPARE(plain.size(), checkpointed.size());
    double worst = 0;
    for (size_t i = 0; i < plain.size(); ++i)
        worst = std::max(worst, (plain[i] - checkpointed[i]).abs().max().item<double>());
    qInfo("activation checkpointing: max gradient difference %.3g over %zu tensors", worst, plain.size());
    QVERIFY2(worst < 1e-6, qPrintable(QString("max difference %1").arg(worst)));
    QVERIFY(plain[0].abs().sum().item<double>() > 0);
}

void TestSft::guardSkipsAndRollsBack()
{
    training::GuardOptions o;
    o.minHistory = 4;
    o.maxSpikes = 3;
    o.spikeWindow = 10;
    training::SpikeGuard guard(o);
    for (int i = 0; i < 6; ++i) QCOMPARE(guard.observe(i, 2.0 + 0.01 * (i % 2), 1.0), training::GuardAction::Accept);
    QCOMPARE(guard.observe(6, std::nan(""), 1.0), training::GuardAction::SkipNonFinite);
    QCOMPARE(guard.observe(6, 2.0, INFINITY), training::GuardAction::SkipNonFinite);
    QCOMPARE(guard.observe(6, 2.02, 1.0), training::GuardAction::Accept);  // within the noise
    QCOMPARE(guard.observe(7, 9.0, 1.0), training::GuardAction::Rollback);  // third in the window
    guard.clearSpikes();
    QCOMPARE(guard.observe(8, 9.0, 1.0), training::GuardAction::SkipSpike);
    // The state round-trips.
    training::SpikeGuard copy(o);
    copy.fromJson(guard.toJson());
    QCOMPARE(copy.mean(), guard.mean());
    QCOMPARE(copy.observe(9, 9.0, 1.0), training::GuardAction::SkipSpike);
}

void TestSft::trainingLowersTheLoss()
{
    TrainingWorkspace w;
    sft::SftOptions o = baseOptions(w.base, w.out("run"));
    o.maxSteps = 30;
    const sft::SftResult r = sft::runSft(*w.f.ws, w.f.admin, o, {});
    QCOMPARE(r.steps, int64_t(30));
    QCOMPARE(r.losses.size(), size_t(30));
    qInfo("loss %.3f → %.3f", r.losses.front(), r.losses.back());
    QVERIFY(r.losses.back() < 0.7 * r.losses.front());
    // The checkpoint is a Hugging Face model with the template written in, and the run is recorded.
    for (const char* file : {"config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json",
                             "generation_config.json", "trainer_state.json", "optimizer.safetensors"})
        QVERIFY2(fs::exists(fs::path(r.finalCheckpoint) / file), file);
    QVERIFY(model::loadLlama(r.finalCheckpoint)->config() == model::loadConfig(w.base));
    const Run run = runById(*w.f.ws, r.runId);
    QCOMPARE(run.kind, std::string("sft"));
    QCOMPARE(run.status, std::string("finished"));
    QCOMPARE(runCheckpoints(*w.f.ws, r.runId).size(), size_t(1));
    QCOMPARE(runMetrics(*w.f.ws, r.runId, std::string("loss")).size(), size_t(30));
}

void TestSft::resumeIsExact()
{
    TrainingWorkspace w;
    sft::SftOptions o = baseOptions(w.base, w.out("straight"));
    o.saveEvery = 4;
    o.keepLast = 0;
    const sft::SftResult straight = sft::runSft(*w.f.ws, w.f.admin, o, {});
    QCOMPARE(straight.losses.size(), size_t(8));

    // The same run, killed while computing step 6 (after checkpoint-4), then resumed.
    sft::SftOptions crash = o;
    crash.out = w.out("crashed");
    crash.lossHook = [](int64_t step, double&) {
        if (step == 5) throw std::runtime_error("killed");
    };
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, sft::runSft(*w.f.ws, w.f.admin, crash, {}));
    QVERIFY(fs::exists(fs::path(crash.out) / "checkpoint-4"));
    sft::SftOptions resume = o;
    resume.out = crash.out;
    resume.resume = true;
    const sft::SftResult resumed = sft::runSft(*w.f.ws, w.f.admin, resume, {});
    QCOMPARE(resumed.losses.size(), size_t(4));  // steps 5..8
    for (size_t i = 0; i < 4; ++i) QCOMPARE(resumed.losses[i], straight.losses[4 + i]);
    // The resumed run continues the same run record.
    QCOMPARE(resumed.runId, runById(*w.f.ws, resumed.runId).id);
}

void TestSft::nanStepIsSkippedAndLogged()
{
    TrainingWorkspace w;
    sft::SftOptions o = baseOptions(w.base, w.out("run"));
    o.maxSteps = 5;
    bool injected = false;
    o.lossHook = [&](int64_t step, double& loss) {
        if (step == 2 && !injected) {
            loss = std::nan("");
            injected = true;
        }
    };
    const sft::SftResult r = sft::runSft(*w.f.ws, w.f.admin, o, {});
    QCOMPARE(r.skippedSteps, int64_t(1));
    QCOMPARE(r.steps, int64_t(5));
    for (double l : r.losses) QVERIFY(std::isfinite(l));
    const auto events = metricEvents(o.out);
    QVERIFY(std::find(events.begin(), events.end(), "skip_non_finite") != events.end());
    QCOMPARE(runMetrics(*w.f.ws, r.runId, std::string("event.skip_non_finite")).size(), size_t(1));
}

void TestSft::spikeStormRollsBack()
{
    TrainingWorkspace w;
    sft::SftOptions o = baseOptions(w.base, w.out("run"));
    o.maxSteps = 8;
    o.saveEvery = 2;
    o.guard.minHistory = 2;
    o.guard.maxSpikes = 3;
    int spikes = 0;
    o.lossHook = [&](int64_t step, double& loss) {
        if (step >= 3 && spikes < 3) {
            loss *= 100;
            ++spikes;
        }
    };
    const sft::SftResult r = sft::runSft(*w.f.ws, w.f.admin, o, {});
    QCOMPARE(r.rollbacks, int64_t(1));
    QCOMPARE(r.steps, int64_t(8));
    const auto events = metricEvents(o.out);
    QVERIFY(std::find(events.begin(), events.end(), "rolled_back") != events.end());
    // The trainer state after the rollback carries the lower LR and the banned batches.
    std::ifstream in(r.finalCheckpoint + "/trainer_state.json");
    const auto state = nlohmann::json::parse(in);
    QCOMPARE(state["lr_scale"].get<double>(), 0.5);
    QCOMPARE(state["skip_batches"].size(), size_t(3));
}

void TestSft::loraRunSavesAnAdapter()
{
    TrainingWorkspace w;
    sft::SftOptions o = baseOptions(w.base, w.out("run"));
    o.maxSteps = 4;
    o.lora = sft::parseLoraSpec("r=4,alpha=8,targets=q,v");
    o.saveMerged = true;
    const sft::SftResult r = sft::runSft(*w.f.ws, w.f.admin, o, {});
    QVERIFY(fs::exists(fs::path(r.finalCheckpoint) / model::kLoraConfigName));
    QVERIFY(fs::exists(fs::path(r.finalCheckpoint) / model::kLoraWeightsName));
    QVERIFY(fs::exists(fs::path(r.finalCheckpoint) / "merged" / "model.safetensors"));
    // The adapter loads onto the base and gives the merged model's logits.
    model::LlamaModel base = model::loadLlama(w.base);
    model::LoraModel adapter = model::loadLoraAdapter(base, r.finalCheckpoint);
    model::LlamaModel merged = model::loadLlama(r.finalCheckpoint + "/merged");
    torch::NoGradGuard noGrad;
    base->eval();
    merged->eval();
    at::Tensor ids = at::randint(3, 500, {1, 12}, at::kLong), pos = at::arange(12, at::kLong).unsqueeze(0);
    QVERIFY((base(ids, pos) - merged(ids, pos)).abs().max().item<double>() < 1e-4);
}

void TestSft::badConfigurationsFailBeforeTraining()
{
    TrainingWorkspace w;
    auto refused = [&](sft::SftOptions o, const QString& needle) {
        try {
            sft::runSft(*w.f.ws, w.f.admin, o, {});
        } catch (const Error& e) {
            const QString what = QString::fromStdString(e.what());
            if (!what.contains(needle)) qWarning("message: %s", e.what());
            return what.contains(needle) && !fs::exists(fs::path(o.out) / "metrics.jsonl");
        }
        return false;
    };
    sft::SftOptions o = baseOptions(w.base, w.out("bad"));
    o.templateName = "vicuna";
    QVERIFY(refused(o, "vicuna"));
    o = baseOptions(w.base, w.out("bad"));
    o.seqLen = 100000;
    QVERIFY(refused(o, "max_position_embeddings"));
    o = baseOptions(w.base, w.out("bad"));
    o.lora = sft::parseLoraSpec("r=4,targets=q,wrong");
    QVERIFY(refused(o, "wrong"));
    o = baseOptions(w.base, w.out("bad"));
    o.snapshot = "nope";
    QVERIFY(refused(o, "nope"));
    SnapshotFilter none;
    none.tags = {"誰も付けていないタグ"};
    QVERIFY_THROWS_EXCEPTION(Error, createSnapshot(*w.f.ws, w.f.admin, "empty", none, {}));
    QVERIFY_THROWS_EXCEPTION(Error, sft::parseLoraSpec("r=abc"));
}

TSUMUGI_TEST_MAIN(TestSft)
#include "test_sft.moc"
