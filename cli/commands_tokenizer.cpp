// Tokenizer commands: tokenizer train|encode|decode, and tokenize (corpus → token shards).
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "core/utf8.h"
#include "export/jsonl.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/shards.h"
#include "tokenizer/tokenizer.h"

namespace tsumugi::cli {

using ojson = nlohmann::ordered_json;

namespace {

void addTrain(CLI::App& parent)
{
    struct Options {
        std::vector<std::string> corpus;
        std::string out, modelType = "unigram", normalization = "identity";
        int vocabSize = 32000;
        bool noByteFallback = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = parent.add_subcommand("train", "Train a SentencePiece tokenizer (tokenizer.model + tokenizer_config.json)");
    cmd->add_option("corpus", o->corpus, "Text files, one sentence or document per line")->required();
    cmd->add_option("--out", o->out, "Output directory")->required();
    cmd->add_option("--vocab-size", o->vocabSize, "Vocabulary size")->capture_default_str();
    cmd->add_option("--model-type", o->modelType, "unigram or bpe")->capture_default_str();
    cmd->add_option("--normalization", o->normalization,
                    "identity (Japanese byte for byte), nfkc or nmt_nfkc (folds full-width: １２１ → 121)")
        ->capture_default_str();
    cmd->add_flag("--no-byte-fallback", o->noByteFallback, "Unknown characters become <unk> instead of bytes");
    cmd->callback([o] {
        tok::SentencePieceTraining t;
        t.inputs = o->corpus;
        t.outDirectory = o->out;
        t.vocabSize = o->vocabSize;
        t.modelType = o->modelType;
        t.byteFallback = !o->noByteFallback;
        t.normalization = o->normalization;
        const auto start = std::chrono::steady_clock::now();
        progress("training a " + o->modelType + " tokenizer of " + std::to_string(o->vocabSize) + " pieces…");
        tok::trainSentencePiece(t);
        endProgress();
        std::filesystem::remove(std::filesystem::path(o->out) / "tokenizer.vocab");
        // A tokenizer_config.json as transformers writes one for a Llama SentencePiece tokenizer.
        ojson config = {{"tokenizer_class", "LlamaTokenizer"}, {"bos_token", "<s>"},   {"eos_token", "</s>"},
                        {"unk_token", "<unk>"},                 {"add_bos_token", true}, {"add_eos_token", false},
                        {"legacy", true}};
        std::ofstream(std::filesystem::path(o->out) / "tokenizer_config.json") << config.dump(2) << "\n";
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        say("trained " + o->out + "/tokenizer.model (" + std::to_string(o->vocabSize) + " pieces, " + o->modelType +
            ", " + o->normalization + ") in " + std::to_string(s).substr(0, 5) + " s");
        emit({{"event", "tokenizer.train"}, {"out", o->out}, {"vocab_size", o->vocabSize}, {"seconds", s}});
    });
}

std::string readAll(std::istream& in) { return std::string(std::istreambuf_iterator<char>(in), {}); }

void addEncodeDecode(CLI::App& parent)
{
    auto e = std::make_shared<std::pair<std::string, std::string>>();
    auto* encode = parent.add_subcommand("encode", "Show the tokens of a text (standard input when none given)");
    encode->add_option("tokenizer", e->first, "Model or tokenizer directory")->required();
    encode->add_option("text", e->second, "Text to encode");
    encode->callback([e] {
        const tok::TokenizerBundle b = tok::loadTokenizer(e->first);
        const std::string text = e->second.empty() ? readAll(std::cin) : e->second;
        const tok::Encoding enc = b.tokenizer->encode(text);
        std::string ids, pieces;
        ojson j = {{"ids", enc.ids}, {"tokens", ojson::array()}};
        for (size_t i = 0; i < enc.ids.size(); ++i) {
            ids += (i ? " " : "") + std::to_string(enc.ids[i]);
            const std::string piece = b.tokenizer->idToToken(enc.ids[i]);
            pieces += (i ? " | " : "") + piece;
            j["tokens"].push_back(piece);
        }
        say(std::to_string(enc.ids.size()) + " tokens for " + std::to_string(utf8::length(text)) + " characters (" +
            b.tokenizer->describe() + ")");
        say(ids);
        say(pieces);
        emit(j);
    });

    auto d = std::make_shared<std::pair<std::string, std::vector<int32_t>>>();
    auto* decode = parent.add_subcommand("decode", "Turn token ids back into text");
    decode->add_option("tokenizer", d->first, "Model or tokenizer directory")->required();
    decode->add_option("ids", d->second, "Token ids")->required();
    decode->callback([d] {
        const tok::TokenizerBundle b = tok::loadTokenizer(d->first);
        const std::string text = b.tokenizer->decode(d->second);
        say(text);
        emit({{"text", text}});
    });
}

void addTokenize(CLI::App& app)
{
    struct Options {
        std::vector<std::string> corpus;
        std::string tokenizer, out, field = "text";
        uint64_t shardTokens = uint64_t(1) << 30;
        bool noEos = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("tokenize", "Tokenize corpora into token shards for continued pretraining");
    cmd->add_option("corpus", o->corpus,
                    "Text files (a document per line) or JSONL (.jsonl, .jsonl.gz, .jsonl.zst: the --field of each "
                    "line)")
        ->required();
    cmd->add_option("--tokenizer", o->tokenizer, "Model or tokenizer directory")->required();
    cmd->add_option("--out", o->out, "Output directory for shard-NNNNN.bin")->required();
    cmd->add_option("--field", o->field, "JSONL field holding the text")->capture_default_str();
    cmd->add_option("--shard-tokens", o->shardTokens, "Tokens per shard")->capture_default_str();
    cmd->add_flag("--no-eos", o->noEos, "Do not end each document with EOS");
    cmd->callback([o] {
        const tok::TokenizerBundle b = tok::loadTokenizer(o->tokenizer);
        if (!o->noEos && !b.special.eos)
            throw Error(o->tokenizer + ": the tokenizer defines no EOS token; give --no-eos or fix tokenizer_config.json");
        std::filesystem::create_directories(o->out);
        const auto start = std::chrono::steady_clock::now();
        std::unique_ptr<tok::ShardWriter> writer;
        int shard = 0;
        uint64_t bytes = 0, documents = 0, tokens = 0;
        std::vector<int32_t> ids;
        auto writeDocument = [&](std::string_view text) {
            ids.clear();
            if (b.special.addBos && b.special.bos) ids.push_back(*b.special.bos);
            const tok::Encoding e = b.tokenizer->encode(text);
            ids.insert(ids.end(), e.ids.begin(), e.ids.end());
            if (!o->noEos) ids.push_back(*b.special.eos);
            if (writer && writer->tokens() + ids.size() > o->shardTokens) {
                writer->finish();
                writer.reset();
            }
            if (!writer) {
                char name[32];
                std::snprintf(name, sizeof name, "shard-%05d.bin", shard++);
                writer = std::make_unique<tok::ShardWriter>((std::filesystem::path(o->out) / name).string(),
                                                            b.tokenizer->vocabSize());
            }
            writer->addDocument(ids);
            bytes += text.size();
            tokens += ids.size();
            if (++documents % 2000 == 0) {
                const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                progress("tokenizing: " + humanCount(static_cast<int64_t>(documents)) + " documents, " +
                         std::to_string(bytes >> 20) + " MiB, " + std::to_string(bytes / 1e6 / s).substr(0, 5) +
                         " MB/s");
            }
        };
        for (const std::string& path : o->corpus) {
            const bool jsonl = path.find(".jsonl") != std::string::npos;
            JsonlReader reader(path, 64 << 20);
            JsonlReader::Line line;
            while (reader.next(line)) {
                if (line.tooLong)
                    throw ParseError(path, line.number, 0, "the line is longer than 64 MiB; split the document");
                if (!jsonl) {
                    if (!line.text.empty()) writeDocument(line.text);
                    continue;
                }
                if (line.text.empty()) continue;
                const auto j = nlohmann::json::parse(line.text, nullptr, false);
                if (j.is_discarded() || !j.is_object())
                    throw ParseError(path, line.number, 0, "not a JSON object");
                if (!j.contains(o->field) || !j[o->field].is_string())
                    throw ParseError(path, line.number, 0, "field '" + o->field + "' is missing or not a string");
                writeDocument(j[o->field].get<std::string>());
            }
        }
        if (writer) writer->finish();
        endProgress();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        say("tokenized " + humanCount(static_cast<int64_t>(documents)) + " documents, " +
            humanCount(static_cast<int64_t>(tokens)) + " tokens into " + std::to_string(shard) + " shard(s) in " +
            o->out + " (" + std::to_string(bytes / 1e6 / std::max(s, 1e-9)).substr(0, 5) + " MB/s)");
        emit({{"event", "tokenize"}, {"documents", documents}, {"tokens", tokens}, {"shards", shard},
              {"bytes", bytes}, {"seconds", s}});
    });
}

}  // namespace

void addTokenizerCommands(CLI::App& app)
{
    auto* tokenizer = app.add_subcommand("tokenizer", "Train and inspect tokenizers");
    tokenizer->require_subcommand(1);
    addTrain(*tokenizer);
    addEncodeDecode(*tokenizer);
    addTokenize(app);
}

}  // namespace tsumugi::cli
