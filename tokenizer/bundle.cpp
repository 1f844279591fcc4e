// loadTokenizer: a model directory's tokenizer files read together — tokenizer.json or
// tokenizer.model, tokenizer_config.json, special_tokens_map.json, generation_config.json.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/tokenizer.h"

namespace tsumugi::tok {

namespace {

std::optional<nlohmann::json> readJson(const std::filesystem::path& path)
{
    if (!std::filesystem::exists(path)) return std::nullopt;
    std::ifstream in(path);
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        throw ParseError(path.string(), 0, 0, std::string("not valid JSON: ") + e.what());
    }
}

// A token in tokenizer_config.json is a string or an AddedToken object {"content": …}.
std::optional<std::string> tokenText(const nlohmann::json& config, const char* key, const std::string& file)
{
    if (!config.contains(key) || config[key].is_null()) return std::nullopt;
    const auto& v = config[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    throw ParseError(file, 0, 0, std::string("key '") + key + "' must be a string or {\"content\": …}");
}

int32_t idOf(const Tokenizer& tokenizer, const std::string& text, const std::string& file, const char* key)
{
    if (auto id = tokenizer.tokenToId(text)) return *id;
    throw ParseError(file, 0, 0,
                     std::string("key '") + key + "' names the token '" + text +
                         "', which is not in the tokenizer's vocabulary; fix the file or the tokenizer");
}

}  // namespace

TokenizerBundle loadTokenizer(const std::string& directory)
{
    namespace fs = std::filesystem;
    const fs::path dir(directory);
    if (!fs::is_directory(dir)) throw Error(directory + ": not a directory; give a model or tokenizer directory");
    TokenizerBundle b;
    b.directory = directory;
    const fs::path json = dir / "tokenizer.json";
    const fs::path model = dir / "tokenizer.model";
    if (fs::exists(json)) b.tokenizer = loadTokenizerJson(json.string());
    else if (fs::exists(model)) b.tokenizer = loadSentencePieceModel(model.string());
    else throw Error(directory + ": has neither tokenizer.json nor tokenizer.model");
    const Tokenizer& t = *b.tokenizer;
    SpecialTokens& s = b.special;

    // Defaults from the tokenizer itself.
    if (auto sp = sentencePieceIds(t)) {
        auto set = [&](int32_t id, std::optional<int32_t>& field, std::string& text) {
            if (id >= 0) field = id, text = t.idToToken(id);
        };
        set(sp->bos, s.bos, s.bosText);
        set(sp->eos, s.eos, s.eosText);
        set(sp->pad, s.pad, s.padText);
        set(sp->unk, s.unk, s.unkText);
        s.addBos = s.bos.has_value();  // what LlamaTokenizer does
    } else if (auto tj = readJson(json)) {
        // A TemplateProcessing post-processor that puts a special token before $A adds BOS.
        const auto& post = (*tj)["post_processor"];
        auto addsBos = [](const nlohmann::json& p) {
            if (!p.is_object() || p.value("type", "") != "TemplateProcessing" || !p.contains("single")) return false;
            const auto& single = p["single"];
            return single.is_array() && !single.empty() && single[0].contains("SpecialToken");
        };
        if (addsBos(post)) s.addBos = true;
        if (post.is_object() && post.value("type", "") == "Sequence" && post.contains("processors"))
            for (const auto& p : post["processors"]) s.addBos = s.addBos || addsBos(p);
    }

    const fs::path configPath = dir / "tokenizer_config.json";
    const fs::path mapPath = dir / "special_tokens_map.json";
    for (const fs::path& path : {mapPath, configPath}) {  // the config wins over the map
        const auto config = readJson(path);
        if (!config) continue;
        const std::string file = path.string();
        if (!config->is_object()) throw ParseError(file, 0, 0, "must be a JSON object");
        if (auto text = tokenText(*config, "bos_token", file)) s.bosText = *text, s.bos = idOf(t, *text, file, "bos_token");
        if (auto text = tokenText(*config, "eos_token", file)) s.eosText = *text, s.eos = idOf(t, *text, file, "eos_token");
        if (auto text = tokenText(*config, "pad_token", file)) s.padText = *text, s.pad = idOf(t, *text, file, "pad_token");
        if (auto text = tokenText(*config, "unk_token", file)) s.unkText = *text, s.unk = idOf(t, *text, file, "unk_token");
        if (config->contains("add_bos_token") && (*config)["add_bos_token"].is_boolean())
            s.addBos = (*config)["add_bos_token"].get<bool>();
        if (config->contains("add_eos_token") && (*config)["add_eos_token"].is_boolean())
            s.addEos = (*config)["add_eos_token"].get<bool>();
        if (path == configPath && config->contains("chat_template")) {
            const auto& ct = (*config)["chat_template"];
            if (ct.is_string()) {
                b.chatTemplate = ct.get<std::string>();
            } else if (ct.is_array()) {  // [{"name": "default", "template": …}, …]
                for (const auto& entry : ct)
                    if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template"))
                        b.chatTemplate = entry["template"].get<std::string>();
                if (!b.chatTemplate)
                    throw ParseError(file, 0, 0, "key 'chat_template' lists templates but none named 'default'");
            } else if (!ct.is_null()) {
                throw ParseError(file, 0, 0, "key 'chat_template' must be a string or a list of named templates");
            }
        }
    }

    if (s.eos) s.eosIds.push_back(*s.eos);
    if (const auto generation = readJson(dir / "generation_config.json")) {
        const std::string file = (dir / "generation_config.json").string();
        const auto& eos = (*generation)["eos_token_id"];
        auto add = [&](const nlohmann::json& v) {
            if (!v.is_number_integer()) throw ParseError(file, 0, 0, "key 'eos_token_id' must be an integer or a list");
            const int32_t id = v.get<int32_t>();
            if (id < 0 || id >= t.vocabSize())
                throw ParseError(file, 0, 0, "key 'eos_token_id' " + std::to_string(id) + " is outside the vocabulary");
            if (std::find(s.eosIds.begin(), s.eosIds.end(), id) == s.eosIds.end()) s.eosIds.push_back(id);
        };
        if (eos.is_array()) for (const auto& v : eos) add(v);
        else if (!eos.is_null()) add(eos);
    }
    return b;
}

}  // namespace tsumugi::tok
