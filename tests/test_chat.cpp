// Chat templates (tokenizer/chat.h) on the real SentencePiece fixture (sp-ja.model: <s> = 1,
// </s> = 2): the named templates' text, a loss mask per template that covers exactly the
// assistant turns and their end-of-turn marker, BOS exactly once (llama2-ja: once per [INST]),
// and tokenizer_config.json written with the template and every other key kept.
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_support.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

using namespace tsumugi;
using namespace tsumugi::tok;
using tsumugi::test::fixturePath;

namespace {

SpecialTokens spSpecial()
{
    SpecialTokens s;
    s.bos = 1;
    s.eos = 2;
    s.pad = 2;  // pad == eos, as many Japanese fine-tunes set it; EOS must stay in the loss
    s.bosText = "<s>";
    s.eosText = "</s>";
    s.padText = "</s>";
    s.eosIds = {2};
    s.addBos = true;
    return s;
}

std::vector<ChatMessage> dialogue(bool withSystem)
{
    std::vector<ChatMessage> m;
    if (withSystem) m.push_back({"system", "あなたは丁寧に答えます。"});
    m.push_back({"user", "富士山の高さは？"});
    m.push_back({"assistant", "3776メートルです。"});
    m.push_back({"user", "では二番目は？"});
    m.push_back({"assistant", "北岳です。"});
    return m;
}

// Runs of consecutive mask-1 tokens.
std::vector<std::vector<int32_t>> maskedRuns(const ChatEncoding& enc)
{
    std::vector<std::vector<int32_t>> runs;
    bool open = false;
    for (size_t k = 0; k < enc.ids.size(); ++k) {
        if (enc.lossMask[k] && !open) runs.emplace_back();
        if (enc.lossMask[k]) runs.back().push_back(enc.ids[k]);
        open = enc.lossMask[k] != 0;
    }
    return runs;
}

std::string trimmed(std::string s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n')) s.erase(0, 1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
    return s;
}

}  // namespace

class TestChat : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { m_sp = loadSentencePieceModel(fixturePath("sp-ja.model")); }

    void namedTemplates()
    {
        auto names = ChatTemplate::namedTemplates();
        std::sort(names.begin(), names.end());
        QCOMPARE(names, (std::vector<std::string>{"alpaca-ja", "calm", "chatml", "llama2-ja", "llm-jp"}));
        try {
            ChatTemplate::named("vicuna");
            QFAIL("unknown name accepted");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("llama2-ja") != std::string::npos, e.what());
        }
    }

    void renderedText()
    {
        const auto special = spSpecial();
        const std::vector<ChatMessage> one{{"user", "こんにちは"}};
        QCOMPARE(ChatTemplate::named("llama2-ja").render(one, special, true),
                 std::string("<s>[INST] <<SYS>>\nあなたは誠実で優秀な日本人のアシスタントです。\n<</SYS>>\n\nこんにちは [/INST]"));
        QCOMPARE(ChatTemplate::named("llama2-ja").render(dialogue(true), special, false),
                 std::string("<s>[INST] <<SYS>>\nあなたは丁寧に答えます。\n<</SYS>>\n\n富士山の高さは？ [/INST] 3776メートルです。 </s>"
                             "<s>[INST] では二番目は？ [/INST] 北岳です。 </s>"));
        QCOMPARE(ChatTemplate::named("calm").render(dialogue(false), special, false),
                 std::string("<s>USER: 富士山の高さは？\nASSISTANT: 3776メートルです。</s>\nUSER: では二番目は？\nASSISTANT: 北岳です。</s>"));
        QCOMPARE(ChatTemplate::named("calm").render(one, special, true), std::string("<s>USER: こんにちは\nASSISTANT: "));
        QCOMPARE(ChatTemplate::named("llm-jp").render(one, special, true),
                 std::string("<s>以下は、タスクを説明する指示です。要求を適切に満たす応答を書きなさい。\n\n### 指示:\nこんにちは\n\n### 応答:\n"));
        QCOMPARE(ChatTemplate::named("alpaca-ja").render({{"system", "文脈"}, {"user", "要約して"}}, special, true),
                 std::string("<s>以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。"
                             "\n\n### 指示:\n要約して\n\n### 入力:\n文脈\n\n### 応答:\n"));
        QCOMPARE(ChatTemplate::named("chatml").render(one, special, true),
                 std::string("<|im_start|>user\nこんにちは<|im_end|>\n<|im_start|>assistant\n"));
        QVERIFY_THROWS_EXCEPTION(Error, ChatTemplate::named("llama2-ja").render({{"assistant", "x"}}, special, false));
    }

    void masks_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("withSystem");
        for (const char* name : {"llama2-ja", "calm", "llm-jp", "alpaca-ja", "chatml"})
            for (bool sys : {false, true}) QTest::newRow((std::string(name) + (sys ? " system" : "")).c_str()) << name << sys;
    }

    void masks()
    {
        QFETCH(QString, name);
        QFETCH(bool, withSystem);
        const auto special = spSpecial();
        const auto messages = dialogue(withSystem);
        const auto tmpl = ChatTemplate::named(name.toStdString());
        const ChatEncoding enc = encodeChat(tmpl, messages, *m_sp, special);
        QCOMPARE(enc.ids.size(), enc.lossMask.size());

        // BOS: first, exactly once (llama2-ja: before every [INST]), never in the loss.
        const auto bosCount = std::count(enc.ids.begin(), enc.ids.end(), 1);
        QCOMPARE(enc.ids.front(), 1);
        QCOMPARE(bosCount, name == "llama2-ja" ? 2 : 1);
        for (size_t k = 0; k < enc.ids.size(); ++k)
            if (enc.ids[k] == 1) QCOMPARE(enc.lossMask[k], uint8_t(0));

        // One masked run per assistant turn: its text and its end-of-turn marker, nothing else.
        const std::vector<std::string> answers{"3776メートルです。", "北岳です。"};
        const auto runs = maskedRuns(enc);
        QCOMPARE(runs.size(), answers.size());
        for (size_t r = 0; r < runs.size(); ++r) {
            if (name == "chatml") {
                // This vocabulary has no <|im_end|>; the marker is spelled with ordinary pieces.
                QCOMPARE(trimmed(m_sp->decode(runs[r])), answers[r] + "<|im_end|>");
            } else {
                QCOMPARE(runs[r].back(), 2);  // EOS closes the turn and is in the loss (pad == eos)
                QCOMPARE(trimmed(m_sp->decode(runs[r], true)), answers[r]);
            }
        }
        // Every EOS in the sequence is an assistant's, so every one is 1.
        for (size_t k = 0; k < enc.ids.size(); ++k)
            if (enc.ids[k] == 2) QCOMPARE(enc.lossMask[k], uint8_t(1));
    }

    void bosNeverDoubled()
    {
        auto special = spSpecial();
        const std::vector<ChatMessage> m{{"user", "a"}, {"assistant", "b"}};
        // The template writes <s>; addBos must not add a second.
        auto enc = encodeChat(ChatTemplate::named("calm"), m, *m_sp, special);
        QCOMPARE(std::count(enc.ids.begin(), enc.ids.end(), 1), 1);
        // chatml writes none; addBos adds one, addBos = false adds none.
        enc = encodeChat(ChatTemplate::named("chatml"), m, *m_sp, special);
        QCOMPARE(enc.ids.front(), 1);
        QCOMPARE(std::count(enc.ids.begin(), enc.ids.end(), 1), 1);
        special.addBos = false;
        enc = encodeChat(ChatTemplate::named("chatml"), m, *m_sp, special);
        QCOMPARE(std::count(enc.ids.begin(), enc.ids.end(), 1), 0);
    }

    void generationPromptLeavesNothingMasked()
    {
        const auto enc = encodeChat(ChatTemplate::named("llm-jp"), {{"user", "こんにちは"}}, *m_sp, spSpecial(), true);
        QCOMPARE(std::count(enc.lossMask.begin(), enc.lossMask.end(), 1), 0);
    }

    void prefixUnstableTemplateRejected()
    {
        // The last message gets a different ending, so an earlier render is not a prefix.
        const auto tmpl = ChatTemplate::fromJinja(
            "{% for m in messages %}{{ m.content }}{% if loop.last %} END{% else %} | {% endif %}{% endfor %}", "unstable");
        try {
            encodeChat(tmpl, {{"user", "a"}, {"assistant", "b"}}, *m_sp, spSpecial());
            QFAIL("prefix-unstable template accepted");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("not prefix-stable") != std::string::npos, e.what());
        }
    }

    void writesTokenizerConfig()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("tokenizer_config.json").toStdString();
        {
            std::ofstream out(path);
            out << "{\"model_max_length\": 4096, \"bos_token\": \"<s>\", \"chat_template\": \"old\", \"add_bos_token\": true}";
        }
        const auto tmpl = ChatTemplate::named("llm-jp");
        writeChatTemplate(dir.path().toStdString(), tmpl);
        std::ifstream in(path);
        const auto config = nlohmann::ordered_json::parse(in);
        QCOMPARE(config.at("chat_template").get<std::string>(), tmpl.source());
        QCOMPARE(config.at("model_max_length").get<int>(), 4096);
        QCOMPARE(config.at("add_bos_token").get<bool>(), true);
        QCOMPARE(config.begin().key(), std::string("model_max_length"));  // order kept

        const std::string fresh = dir.filePath("fresh/model").toStdString();
        writeChatTemplate(fresh, tmpl);
        std::ifstream in2(fresh + "/tokenizer_config.json");
        QCOMPARE(nlohmann::ordered_json::parse(in2).at("chat_template").get<std::string>(), tmpl.source());
        // What we wrote parses back into the same template.
        QCOMPARE(ChatTemplate::fromJinja(tmpl.source(), "x").render(dialogue(true), spSpecial(), true),
                 tmpl.render(dialogue(true), spSpecial(), true));
    }

    void brokenConfigIsAnError()
    {
        QTemporaryDir dir;
        {
            std::ofstream out(dir.filePath("tokenizer_config.json").toStdString());
            out << "{ truncated";
        }
        QVERIFY_THROWS_EXCEPTION(ParseError, writeChatTemplate(dir.path().toStdString(), ChatTemplate::named("chatml")));
    }

private:
    std::unique_ptr<Tokenizer> m_sp;
};

QTEST_GUILESS_MAIN(TestChat)
#include "test_chat.moc"
