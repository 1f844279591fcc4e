// LoRA adapters on the tiny Llama fixture: merging keeps the logits, unmerging restores the base
// weights, a zero B leaves the model alone, save → load round-trips in peft's layout, and only the
// adapters are trainable.
// LibTorch before Qt: ATen and torch::nn have members named `slots`, which Qt defines as a macro.
// clang-format off
#include "model/llama.h"
#include "model/lora.h"
#include "model/safetensors.h"
// clang-format on
#include <ATen/ATen.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "core/error.h"

#include <QTemporaryDir>
#include <QTest>

using namespace tsumugi::model;

namespace {

std::string fixtureDir()
{
    return std::string(TSUMUGI_FIXTURES_DIR) + "/llama-tiny-llama3";
}

LoraConfig allTargets()
{
    LoraConfig c;
    c.r = 4;
    c.alpha = 8;
    c.targetModules = loraModuleNames();
    c.baseModelNameOrPath = "llama-tiny-llama3";
    return c;
}

at::Tensor logitsOf(LlamaModel& model)
{
    torch::NoGradGuard noGrad;
    at::Tensor ids = at::arange(0, 12, at::kLong).remainder(model->config().vocabSize).view({2, 6});
    at::Tensor pos = at::arange(0, 6, at::kLong).unsqueeze(0).expand({2, 6}).contiguous();
    return model->forward(ids, pos);
}

void randomiseB(LoraModel& lora)
{
    torch::NoGradGuard noGrad;
    at::manual_seed(7);
    for (const auto& a : lora.adapters()) a->B.copy_(at::randn(a->B.sizes()) * 0.1);
}

}  // namespace

class TestLora : public QObject {
    Q_OBJECT
private slots:
    void zeroBGivesBaseLogits()
    {
        LlamaModel model = loadLlama(fixtureDir());
        model->eval();
        const at::Tensor base = logitsOf(model);
        LoraModel lora = applyLora(model, allTargets(), 1);
        QCOMPARE(lora.adapters().size(), size_t(model->config().numHiddenLayers * 7));
        QVERIFY(at::equal(logitsOf(model), base));
    }

    void mergeKeepsLogitsAndUnmergeRestoresWeights()
    {
        LlamaModel model = loadLlama(fixtureDir());
        model->eval();
        const at::Tensor base = logitsOf(model);
        std::vector<at::Tensor> weights;
        for (const auto& p : model->parameters()) weights.push_back(p.detach().clone());
        LoraModel lora = applyLora(model, allTargets(), 1);
        randomiseB(lora);
        const at::Tensor adapted = logitsOf(model);
        QVERIFY((adapted - base).abs().max().item<double>() > 1e-3);  // the adapter matters
        lora.merge();
        QVERIFY(lora.merged());
        const at::Tensor merged = logitsOf(model);
        const double diff = (merged - adapted).abs().max().item<double>();
        QVERIFY2(diff < 1e-5, std::to_string(diff).c_str());
        lora.unmerge();
        QVERIFY(!lora.merged());
        const auto params = model->parameters();
        QCOMPARE(params.size(), weights.size());
        for (size_t i = 0; i < params.size(); ++i) QVERIFY(at::allclose(params[i], weights[i], 1e-6, 1e-6));
        QVERIFY((logitsOf(model) - adapted).abs().max().item<double>() < 1e-5);
    }

    void onlyAdaptersRequireGrad()
    {
        LlamaModel model = loadLlama(fixtureDir());
        LoraConfig c;  // q_proj, v_proj
        LoraModel lora = applyLora(model, c, 3);
        for (const auto& p : model->parameters()) QVERIFY(!p.requires_grad());
        QCOMPARE(lora.parameters().size(), size_t(model->config().numHiddenLayers * 2 * 2));
        for (const auto& p : lora.parameters()) QVERIFY(p.requires_grad());
        // Gradients reach A and B only.
        model->train();
        randomiseB(lora);
        at::Tensor ids = at::zeros({1, 3}, at::kLong);
        at::Tensor pos = at::arange(0, 3, at::kLong).unsqueeze(0);
        model->forward(ids, pos).sum().backward();
        for (const auto& p : lora.parameters()) QVERIFY(p.grad().defined());
        const auto& a0 = *lora.adapters()[0];
        QCOMPARE(a0.A.size(0), int64_t(8));
        QCOMPARE(a0.A.size(1), a0.base->weight.size(1));
        QCOMPARE(a0.B.size(0), a0.base->weight.size(0));
        const double bound = 1.0 / std::sqrt(double(a0.A.size(1)));
        QVERIFY(a0.A.abs().max().item<double>() <= bound);
    }

    void saveLoadRoundTripsInPeftLayout()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::string dir = tmp.path().toStdString() + "/adapter";
        LlamaModel model = loadLlama(fixtureDir());
        LoraModel lora = applyLora(model, allTargets(), 5);
        randomiseB(lora);
        saveLoraAdapter(lora, dir);

        std::ifstream in(dir + "/adapter_config.json");
        const nlohmann::json j = nlohmann::json::parse(in);
        QCOMPARE(j["peft_type"].get<std::string>(), std::string("LORA"));
        QCOMPARE(j["task_type"].get<std::string>(), std::string("CAUSAL_LM"));
        QCOMPARE(j["bias"].get<std::string>(), std::string("none"));
        QCOMPARE(j["r"].get<int64_t>(), int64_t(4));
        QCOMPARE(j["lora_alpha"].get<double>(), 8.0);
        QCOMPARE(j["lora_dropout"].get<double>(), 0.0);
        QCOMPARE(j["fan_in_fan_out"].get<bool>(), false);
        QCOMPARE(j["inference_mode"].get<bool>(), true);
        QCOMPARE(j["base_model_name_or_path"].get<std::string>(), std::string("llama-tiny-llama3"));
        QVERIFY(j["target_modules"].get<std::vector<std::string>>() == loraModuleNames());

        const SafetensorsFile file = SafetensorsFile::open(dir + "/adapter_model.safetensors");
        QCOMPARE(file.tensors().size(), lora.adapters().size() * 2);
        QVERIFY(file.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
        QVERIFY(file.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"));
        QVERIFY(file.contains("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"));
        for (const auto& info : file.tensors()) {
            const std::string& n = info.name;
            QVERIFY2(n.rfind("base_model.model.model.layers.", 0) == 0, n.c_str());
            const bool a = n.size() > 14 && n.compare(n.size() - 14, 14, ".lora_A.weight") == 0;
            const bool b = n.size() > 14 && n.compare(n.size() - 14, 14, ".lora_B.weight") == 0;
            QVERIFY2(a || b, n.c_str());
        }

        LlamaModel fresh = loadLlama(fixtureDir());
        LoraModel loaded = loadLoraAdapter(fresh, dir);
        QCOMPARE(loaded.config().r, int64_t(4));
        const NamedTensors want = lora.namedTensors(), got = loaded.namedTensors();
        QCOMPARE(got.size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            QVERIFY(got[i].first == want[i].first);
            QVERIFY2(at::equal(got[i].second, want[i].second), want[i].first.c_str());
        }
        model->eval();
        fresh->eval();
        QVERIFY(at::equal(logitsOf(fresh), logitsOf(model)));
    }

    void loadErrorsNameFileAndKey()
    {
        QTemporaryDir tmp;
        const std::string dir = tmp.path().toStdString();
        LlamaModel model = loadLlama(fixtureDir());
        LoraModel lora = applyLora(model, allTargets(), 5);
        saveLoraAdapter(lora, dir);
        LlamaModel other = loadLlama(fixtureDir());
        LoraConfig fewer = allTargets();
        fewer.targetModules = {"q_proj"};
        LoraModel small = applyLora(other, fewer, 5);
        try {
            loadLoraAdapter(small, dir);
            QFAIL("expected an error");
        } catch (const tsumugi::Error& e) {
            const std::string what = e.what();
            QVERIFY2(what.find("adapter_model.safetensors") != std::string::npos, what.c_str());
            QVERIFY2(what.find("lora_") != std::string::npos, what.c_str());
        }
        LoraConfig bad = allTargets();
        bad.targetModules = {"lm_head"};
        LlamaModel third = loadLlama(fixtureDir());
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error, applyLora(third, bad, 0));
    }
};

QTEST_GUILESS_MAIN(TestLora)
#include "test_lora.moc"
