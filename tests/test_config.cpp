// config.json: LlamaConfig parsing, defaults, transformers' written layout, round trips and
// one error per broken key (each a ParseError naming the file and the key).
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include "core/error.h"
#include "model/config.h"
#include "model_cases.h"

using namespace tsumugi::model;
using nlohmann::json;

Q_DECLARE_METATYPE(std::string)

namespace {
std::string slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

class TestConfig : public QObject {
    Q_OBJECT
private slots:
    void llama2()
    {
        const LlamaConfig c = parseConfigJson(tsumugi::test::kLlama2Config);
        QCOMPARE(c.hiddenSize, 4096);
        QCOMPARE(c.numKeyValueHeads, 32);
        QCOMPARE(c.headDim, 128);  // 4096 / 32
        QCOMPARE(c.vocabSize, 43176);
        QCOMPARE(c.rmsNormEps, 1e-5);
        QCOMPARE(c.ropeTheta, 10000.0);
        QVERIFY(c.ropeScaling.type == RopeScalingType::None);
        QCOMPARE(c.padTokenId.value(), 0);
        QCOMPARE(c.eosTokenIds, std::vector<int64_t>{2});
        QVERIFY(!c.eosIsList);
        QCOMPARE(c.torchDtype, std::string("bfloat16"));
        QVERIFY(!c.tieWordEmbeddings);
        // Llama-2 7B has 6.74B parameters; this vocabulary adds (43176 − 32000) × 4096 × 2.
        QCOMPARE(c.parameterCount(), int64_t(6738415616) + int64_t(43176 - 32000) * 4096 * 2);
    }

    void llama31()
    {
        const LlamaConfig c = parseConfigJson(tsumugi::test::kLlama31Config);
        QCOMPARE(c.numKeyValueHeads, 8);
        QVERIFY(c.ropeScaling.type == RopeScalingType::Llama3);
        QCOMPARE(c.ropeScaling.factor, 8.0);
        QCOMPARE(c.ropeScaling.lowFreqFactor, 1.0);
        QCOMPARE(c.ropeScaling.highFreqFactor, 4.0);
        QCOMPARE(c.ropeScaling.originalMaxPositionEmbeddings, 8192);
        QCOMPARE(c.ropeTheta, 500000.0);
        QCOMPARE(c.eosTokenIds, (std::vector<int64_t>{128001, 128008, 128009}));
        QVERIFY(c.eosIsList);
        QCOMPARE(c.bosTokenId.value(), 128000);
        QCOMPARE(c.parameterCount(), int64_t(8030261248));  // Llama-3.1-8B's published count
    }

    void ropeParametersAndDefaults()
    {
        const LlamaConfig c = parseConfigJson(tsumugi::test::kRopeParametersConfig);
        QVERIFY(c.ropeScaling.type == RopeScalingType::Linear);
        QCOMPARE(c.ropeScaling.factor, 2.0);
        QCOMPARE(c.ropeTheta, 20000.0);
        QVERIFY(!c.bosTokenId.has_value());
        QVERIFY(c.eosTokenIds.empty());
        QCOMPARE(c.numKeyValueHeads, 1);  // MQA

        const LlamaConfig m = parseConfigJson(tsumugi::test::kMinimalConfig);
        QCOMPARE(m.numKeyValueHeads, 4);  // defaults to the attention heads
        QCOMPARE(m.headDim, 16);
        QCOMPARE(m.maxPositionEmbeddings, 2048);
        QCOMPARE(m.rmsNormEps, 1e-6);
        QCOMPARE(m.bosTokenId.value(), 1);
        QCOMPARE(m.eosTokenIds, std::vector<int64_t>{2});
        QCOMPARE(m.torchDtype, std::string("float32"));
        QCOMPARE(m.hiddenAct, std::string("silu"));

        // Integers written as floats by some tools are accepted when whole.
        json j = json::parse(tsumugi::test::kMinimalConfig);
        j["max_position_embeddings"] = 4096.0;
        j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2}};
        const LlamaConfig d = parseConfigJson(j.dump());
        QCOMPARE(d.maxPositionEmbeddings, 4096);
        QVERIFY(d.ropeScaling.type == RopeScalingType::Dynamic);
        QCOMPARE(d.ropeScaling.factor, 2.0);
    }

    void roundTrip_data()
    {
        QTest::addColumn<std::string>("text");
        QTest::newRow("tiny") << configToJson(tinyConfig());
        QTest::newRow("small") << configToJson(smallConfig());
        QTest::newRow("llama2") << std::string(tsumugi::test::kLlama2Config);
        QTest::newRow("llama3.1") << std::string(tsumugi::test::kLlama31Config);
        QTest::newRow("rope_parameters") << std::string(tsumugi::test::kRopeParametersConfig);
        json biased = json::parse(tsumugi::test::kBaseConfig);
        biased["attention_bias"] = true;
        biased["mlp_bias"] = true;
        biased["eos_token_id"] = json::array({2});
        biased["rope_scaling"] = {
            {"rope_type", "dynamic"}, {"factor", 4.0}, {"original_max_position_embeddings", 1024}};
        QTest::newRow("bias, eos list of one") << biased.dump();
    }
    void roundTrip()
    {
        QFETCH(std::string, text);
        const LlamaConfig a = parseConfigJson(text);
        const std::string written = configToJson(a);
        const LlamaConfig b = parseConfigJson(written);
        QVERIFY(a == b);
        QCOMPARE(configToJson(b), written);

        QTemporaryDir dir;
        saveConfig(a, dir.path().toStdString());  // a directory: config.json inside
        QVERIFY(a == loadConfig(dir.path().toStdString()));
        QVERIFY(a == loadConfig(dir.filePath("config.json").toStdString()));
        QCOMPARE(slurp(dir.filePath("config.json").toStdString()), written);
        const auto entries = std::filesystem::directory_iterator(dir.path().toStdString());
        QCOMPARE(std::distance(begin(entries), end(entries)), 1);  // no temporary file left behind
    }

    // Our config.json equals what Python's json.dumps(indent=2, sort_keys=True) — the way
    // transformers writes it — makes of the same content.
    void writtenLikeTransformers()
    {
        const std::string text = configToJson(parseConfigJson(tsumugi::test::kLlama31Config));
        QVERIFY(text.rfind("{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n  \"attention_bias\": false,",
                           0) == 0);
        QVERIFY(text.find("\"model_type\": \"llama\"") != std::string::npos);
        QVERIFY(text.find("\"rms_norm_eps\": 1e-05,") != std::string::npos);
        QVERIFY(text.find("\"rope_theta\": 500000.0,") != std::string::npos);
        if (!QFile::exists("/usr/bin/python3")) QSKIP("no /usr/bin/python3");
        QTemporaryDir dir;
        const std::string path = dir.filePath("config.json").toStdString();
        std::ofstream(path, std::ios::binary) << text;
        QProcess p;
        p.start("/usr/bin/python3", {"-c", tsumugi::test::kPythonRedump, QString::fromStdString(path)});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        QCOMPARE(p.readAllStandardOutput().toStdString(), text);
    }

    void namedSizes()
    {
        const LlamaConfig tiny = namedConfig("tiny");
        const LlamaConfig small = namedConfig("small");
        tiny.validate();
        small.validate();
        QVERIFY(tiny.parameterCount() > 800'000 && tiny.parameterCount() < 1'500'000);
        QVERIFY(small.parameterCount() > 15'000'000 && small.parameterCount() < 25'000'000);
        QVERIFY(tiny.numKeyValueHeads < tiny.numAttentionHeads);  // exercises GQA
        QVERIFY_THROWS_EXCEPTION(tsumugi::Error, namedConfig("huge"));
    }

    void errors_data()
    {
        QTest::addColumn<std::string>("text");
        QTest::addColumn<std::string>("expected");  // must appear in the message
        const json base = json::parse(tsumugi::test::kBaseConfig);
        auto with = [&](const char* key, json value) {
            json j = base;
            j[key] = std::move(value);
            return j.dump();
        };
        auto without = [&](const char* key) {
            json j = base;
            j.erase(key);
            return j.dump();
        };
        QTest::newRow("not JSON") << std::string("{\n  \"hidden_size\": 64,\n  oops\n}") << std::string("cfg.json:3:");
        QTest::newRow("number overflow") << std::string("{\"rms_norm_eps\": -1e1128}")
                                         << std::string("number overflow");
        QTest::newRow("not an object") << std::string("[1, 2]") << std::string("expected a JSON object");
        QTest::newRow("hidden_size missing") << without("hidden_size") << std::string("\"hidden_size\": missing");
        QTest::newRow("intermediate_size missing")
            << without("intermediate_size") << std::string("\"intermediate_size\": missing");
        QTest::newRow("num_hidden_layers missing")
            << without("num_hidden_layers") << std::string("\"num_hidden_layers\": missing");
        QTest::newRow("num_attention_heads missing")
            << without("num_attention_heads") << std::string("\"num_attention_heads\": missing");
        QTest::newRow("vocab_size missing") << without("vocab_size") << std::string("\"vocab_size\": missing");
        QTest::newRow("hidden_size a string")
            << with("hidden_size", "64") << std::string("\"hidden_size\": expected an integer, found a string");
        QTest::newRow("hidden_size fractional")
            << with("hidden_size", 64.5) << std::string("\"hidden_size\": expected an integer");
        QTest::newRow("hidden_size negative")
            << with("hidden_size", -64) << std::string("\"hidden_size\": must be a positive");
        QTest::newRow("vocab_size zero") << with("vocab_size", 0) << std::string("\"vocab_size\": must be a positive");
        QTest::newRow("other architecture") << with("architectures", json::array({"MistralForCausalLM"}))
                                            << std::string("\"MistralForCausalLM\" is not supported");
        QTest::newRow("architectures not a list")
            << with("architectures", "LlamaForCausalLM") << std::string("\"architectures\": expected a list");
        QTest::newRow("other model_type")
            << with("model_type", "gpt_neox") << std::string("\"model_type\": \"gpt_neox\" is not supported");
        json anonymous = base;
        anonymous.erase("architectures");
        anonymous.erase("model_type");
        QTest::newRow("no model_type nor architectures") << anonymous.dump() << std::string("\"model_type\": missing");
        QTest::newRow("kv heads do not divide")
            << with("num_key_value_heads", 3) << std::string("\"num_key_value_heads\": 3 does not divide");
        QTest::newRow("hidden not a multiple of heads")
            << with("hidden_size", 66) << std::string("\"head_dim\": missing, and hidden_size");
        QTest::newRow("odd head_dim") << with("head_dim", 15) << std::string("\"head_dim\": must be even");
        QTest::newRow("rope_scaling yarn") << with("rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}})
                                           << std::string("\"rope_scaling.rope_type\": \"yarn\" is not supported");
        QTest::newRow("rope_scaling without type")
            << with("rope_scaling", {{"factor", 4.0}}) << std::string("\"rope_scaling.rope_type\": missing");
        QTest::newRow("rope_scaling without factor")
            << with("rope_scaling", {{"type", "linear"}}) << std::string("\"rope_scaling.factor\": missing");
        QTest::newRow("rope_scaling factor < 1") << with("rope_scaling", {{"type", "linear"}, {"factor", 0.5}})
                                                 << std::string("\"rope_scaling.factor\": must be ≥ 1");
        QTest::newRow("llama3 without low_freq_factor")
            << with("rope_scaling", {{"rope_type", "llama3"},
                                     {"factor", 8.0},
                                     {"high_freq_factor", 4.0},
                                     {"original_max_position_embeddings", 8192}})
            << std::string("\"rope_scaling.low_freq_factor\": missing");
        QTest::newRow("rope_scaling a string")
            << with("rope_scaling", "linear") << std::string("\"rope_scaling\": expected null or an object");
        json both = base;
        both["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}};
        both["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 4.0}};
        QTest::newRow("rope_parameters vs rope_scaling")
            << both.dump() << std::string("\"rope_scaling\": disagrees with rope_parameters");
        QTest::newRow("torch_dtype float8") << with("torch_dtype", "float8_e4m3fn")
                                            << std::string("\"torch_dtype\": \"float8_e4m3fn\" is not supported");
        QTest::newRow("torch_dtype a number")
            << with("torch_dtype", 16) << std::string("\"torch_dtype\": expected a string");
        QTest::newRow("hidden_act gelu") << with("hidden_act", "gelu")
                                         << std::string("\"hidden_act\": \"gelu\" is not supported");
        QTest::newRow("tie_word_embeddings a string")
            << with("tie_word_embeddings", "yes") << std::string("\"tie_word_embeddings\": expected true or false");
        QTest::newRow("attention_bias a number")
            << with("attention_bias", 1) << std::string("\"attention_bias\": expected true or false");
        QTest::newRow("eos list of strings")
            << with("eos_token_id", json::array({"</s>"})) << std::string("\"eos_token_id\": expected an integer");
        QTest::newRow("eos empty list") << with("eos_token_id", json::array())
                                        << std::string("\"eos_token_id\": an empty list");
        QTest::newRow("bos outside vocab")
            << with("bos_token_id", 100) << std::string("\"bos_token_id\": 100 is outside the vocabulary");
        QTest::newRow("pad negative") << with("pad_token_id", -1) << std::string("\"pad_token_id\": -1 is outside");
        QTest::newRow("rms_norm_eps zero")
            << with("rms_norm_eps", 0) << std::string("\"rms_norm_eps\": must be positive");
        QTest::newRow("rope_theta a string")
            << with("rope_theta", "1e4") << std::string("\"rope_theta\": expected a number");
        QTest::newRow("pretraining_tp 2") << with("pretraining_tp", 2) << std::string("\"pretraining_tp\": only 1");
    }
    void errors()
    {
        QFETCH(std::string, text);
        QFETCH(std::string, expected);
        try {
            parseConfigJson(text, "cfg.json");
            QFAIL("no error");
        } catch (const tsumugi::ParseError& e) {
            const std::string message = e.what();
            QCOMPARE(e.file(), std::string("cfg.json"));
            QVERIFY2(message.find(expected) != std::string::npos, message.c_str());
            QVERIFY2(message.rfind("cfg.json", 0) == 0, message.c_str());
        }
    }

    void missingFile()
    {
        QTemporaryDir dir;
        QVERIFY_THROWS_EXCEPTION(tsumugi::NotFoundError, loadConfig(dir.path().toStdString()));
        LlamaConfig bad = tinyConfig();
        bad.numKeyValueHeads = 3;
        QVERIFY_THROWS_EXCEPTION(tsumugi::ParseError, saveConfig(bad, dir.path().toStdString()));
        QVERIFY(!QFile::exists(dir.filePath("config.json")));
    }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "test_config.moc"
