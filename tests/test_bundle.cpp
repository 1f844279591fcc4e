// loadTokenizer: a model directory's tokenizer files read together — which tokenizer, the
// special tokens, add_bos_token, several EOS ids, the chat template — and clear errors that
// name the file and the key.
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

using namespace tsumugi;
using namespace tsumugi::tok;
using tsumugi::test::fixturePath;

namespace {
void write(const QTemporaryDir& dir, const char* name, const nlohmann::json& j)
{
    std::ofstream(dir.filePath(name).toStdString()) << j.dump(2);
}
}  // namespace

class TestBundle : public QObject {
    Q_OBJECT
private slots:
    void sentencePieceDirectory()
    {
        QTemporaryDir dir;
        std::filesystem::copy_file(fixturePath("sp-ja.model"), dir.filePath("tokenizer.model").toStdString());
        // No config at all: the model's own ids, and BOS by default as LlamaTokenizer does.
        TokenizerBundle b = loadTokenizer(dir.path().toStdString());
        QCOMPARE(*b.special.bos, 1);
        QCOMPARE(*b.special.eos, 2);
        QCOMPARE(b.special.bosText, std::string("<s>"));
        QVERIFY(b.special.addBos);
        QVERIFY(!b.chatTemplate);

        write(dir, "tokenizer_config.json",
              {{"bos_token", {{"content", "<s>"}, {"lstrip", false}}},
               {"eos_token", "</s>"},
               {"add_bos_token", false},
               {"chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}"}});
        write(dir, "generation_config.json", {{"eos_token_id", {2, 0}}});
        b = loadTokenizer(dir.path().toStdString());
        QVERIFY(!b.special.addBos);
        QCOMPARE(b.special.eosIds, (std::vector<int32_t>{2, 0}));
        QCOMPARE(*b.chatTemplate, std::string("{% for m in messages %}{{ m.content }}{% endfor %}"));
    }

    void tokenizerJsonDirectory()
    {
        QTemporaryDir dir;
        std::filesystem::copy_file(fixturePath("unigram-ja/tokenizer.json"), dir.filePath("tokenizer.json").toStdString());
        write(dir, "tokenizer_config.json",
              {{"bos_token", "<s>"},
               {"eos_token", "</s>"},
               {"chat_template", {{{"name", "default"}, {"template", "A"}}, {{"name", "rag"}, {"template", "B"}}}}});
        const TokenizerBundle b = loadTokenizer(dir.path().toStdString());
        QCOMPARE(b.special.bos, b.tokenizer->tokenToId("<s>"));
        QCOMPARE(*b.chatTemplate, std::string("A"));
    }

    void errorsNameFileAndKey()
    {
        QTemporaryDir dir;
        std::filesystem::copy_file(fixturePath("sp-ja.model"), dir.filePath("tokenizer.model").toStdString());
        write(dir, "tokenizer_config.json", {{"eos_token", "<|eot_id|>"}});
        try {
            loadTokenizer(dir.path().toStdString());
            QFAIL("a special token missing from the vocabulary was accepted");
        } catch (const ParseError& e) {
            QVERIFY2(QString(e.what()).contains("tokenizer_config.json"), e.what());
            QVERIFY(QString(e.what()).contains("eos_token"));
            QVERIFY(QString(e.what()).contains("<|eot_id|>"));
        }
        std::ofstream(dir.filePath("tokenizer_config.json").toStdString()) << "{\"eos_token\": ";
        QVERIFY_THROWS_EXCEPTION(ParseError, loadTokenizer(dir.path().toStdString()));
        write(dir, "tokenizer_config.json", nlohmann::json::object());
        write(dir, "generation_config.json", {{"eos_token_id", 99999}});
        try {
            loadTokenizer(dir.path().toStdString());
            QFAIL("an eos id outside the vocabulary was accepted");
        } catch (const ParseError& e) {
            QVERIFY(QString(e.what()).contains("generation_config.json"));
        }
        QTemporaryDir empty;
        QVERIFY_THROWS_EXCEPTION(Error, loadTokenizer(empty.path().toStdString()));
        QVERIFY_THROWS_EXCEPTION(Error, loadTokenizer(empty.filePath("missing").toStdString()));
    }
};

QTEST_GUILESS_MAIN(TestBundle)
#include "test_bundle.moc"
