// Chat templates to text and to ids with a loss mask. The assistant spans come from the
// template itself: turn i's span starts where the conversation up to i with the generation
// prompt ends and stops where the conversation through turn i ends. That works for any
// template whose renders are prefixes of each other; one that is not is rejected rather than
// masked wrongly.
#include "tokenizer/chat.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/chat_templates.h"
#include "tokenizer/jinja.h"

namespace tsumugi::tok {

namespace {

const jinja::Template& program(const std::shared_ptr<const void>& p)
{
    return *static_cast<const jinja::Template*>(p.get());
}

std::string namedList()
{
    std::string out;
    for (const auto& t : templates::kNamed) out += (out.empty() ? "" : ", ") + std::string(t.name);
    return out;
}

}  // namespace

ChatTemplate ChatTemplate::fromJinja(std::string source, std::string origin)
{
    ChatTemplate t;
    t.m_program = std::make_shared<const jinja::Template>(source, origin);
    t.m_source = std::move(source);
    t.m_origin = std::move(origin);
    return t;
}

ChatTemplate ChatTemplate::named(std::string_view name)
{
    for (const auto& t : templates::kNamed)
        if (t.name == name) return fromJinja(std::string(t.source), std::string(t.name));
    throw Error("unknown chat template '" + std::string(name) + "'; named templates: " + namedList() +
                " (or use the model's own chat_template)");
}

std::vector<std::string> ChatTemplate::namedTemplates()
{
    std::vector<std::string> names;
    for (const auto& t : templates::kNamed) names.emplace_back(t.name);
    return names;
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, const SpecialTokens& special,
                                 bool addGenerationPrompt) const
{
    nlohmann::ordered_json context;
    auto list = nlohmann::ordered_json::array();
    for (const auto& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
    context["messages"] = std::move(list);
    context["bos_token"] = special.bosText;
    context["eos_token"] = special.eosText;
    context["pad_token"] = special.padText;
    context["unk_token"] = special.unkText;
    context["add_generation_prompt"] = addGenerationPrompt;
    return program(m_program).render(context);
}

ChatEncoding encodeChat(const ChatTemplate& chatTemplate, const std::vector<ChatMessage>& messages,
                        const Tokenizer& tokenizer, const SpecialTokens& special, bool addGenerationPrompt)
{
    const std::string full = chatTemplate.render(messages, special, addGenerationPrompt);

    // Assistant spans as byte ranges of `full`.
    std::vector<std::pair<size_t, size_t>> spans;
    for (size_t i = 0; i < messages.size(); ++i) {
        if (messages[i].role != "assistant") continue;
        std::vector<ChatMessage> before(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i));
        std::vector<ChatMessage> through(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        const std::string prefix = chatTemplate.render(before, special, true);
        const std::string upto = chatTemplate.render(through, special, false);
        if (!full.starts_with(prefix) || !full.starts_with(upto) || upto.size() < prefix.size())
            throw Error("chat template '" + chatTemplate.name() + "' is not prefix-stable at message " + std::to_string(i) +
                        ": rendering the conversation up to an assistant turn (with the generation prompt) does not "
                        "give a prefix of the whole conversation, so the assistant span cannot be found; use a "
                        "template whose earlier turns render the same whatever follows");
        size_t end = upto.size();
        // A separator after the end-of-turn marker (chatml's "\n") is not the assistant's to learn.
        while (end > prefix.size() && (full[end - 1] == '\n' || full[end - 1] == ' ' || full[end - 1] == '\t')) --end;
        spans.emplace_back(prefix.size(), end);
    }

    Encoding enc = tokenizer.encode(full);
    ChatEncoding out;
    const bool templateWroteBos = (!special.bosText.empty() && full.starts_with(special.bosText)) ||
                                  (special.bos && !enc.ids.empty() && enc.ids.front() == *special.bos);
    if (!templateWroteBos && special.addBos && special.bos) {
        out.ids.push_back(*special.bos);
        out.lossMask.push_back(0);
    }
    for (size_t k = 0; k < enc.ids.size(); ++k) {
        const auto [begin, end] = enc.offsets[k];
        bool inSpan = false;
        for (const auto& [first, last] : spans)
            // Tokens that overlap a span (a "▁answer" piece starts at the space before it), and
            // zero-width tokens inside one.
            inSpan = inSpan || (end > begin ? (end > first && begin < last) : (begin >= first && begin < last));
        out.ids.push_back(enc.ids[k]);
        out.lossMask.push_back(inSpan ? 1 : 0);
    }
    return out;
}

void writeChatTemplate(const std::string& directory, const ChatTemplate& chatTemplate)
{
    namespace fs = std::filesystem;
    const fs::path path = fs::path(directory) / "tokenizer_config.json";
    nlohmann::ordered_json config = nlohmann::ordered_json::object();
    if (fs::exists(path)) {
        std::ifstream in(path);
        if (!in) throw Error("cannot read " + path.string());
        std::stringstream text;
        text << in.rdbuf();
        try {
            config = nlohmann::ordered_json::parse(text.str());
        } catch (const nlohmann::json::parse_error& e) {
            throw ParseError(path.string(), 0, static_cast<int64_t>(e.byte),
                             std::string("not valid JSON, so chat_template cannot be added: ") + e.what());
        }
        if (!config.is_object()) throw ParseError(path.string(), 1, 1, "expected a JSON object at the top level");
    } else {
        std::error_code ec;
        fs::create_directories(directory, ec);
        if (ec) throw Error("cannot create " + directory + ": " + ec.message());
    }
    config["chat_template"] = chatTemplate.source();
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << config.dump(2, ' ', false) << "\n";
        if (!out) throw Error("cannot write " + tmp.string());
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error("cannot replace " + path.string() + ": " + ec.message());
}

}  // namespace tsumugi::tok
