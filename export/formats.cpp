#include "export/formats.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "core/error.h"
#include "core/utf8.h"
#include "datastore/consensus.h"
#include "datastore/snapshots.h"
#include "export/text_template.h"

#include <simdjson.h>

namespace tsumugi {

namespace {
struct FormatEntry {
    Format format;
    std::string_view name;
};
constexpr FormatEntry kFormats[] = {
    {Format::Messages, "messages"},   {Format::ShareGpt, "sharegpt"},   {Format::Alpaca, "alpaca"},
    {Format::Ichikara, "ichikara"},   {Format::Text, "text"},           {Format::TrlPreference, "trl-preference"},
    {Format::TrlKto, "trl-kto"},      {Format::Oasst, "oasst"},         {Format::Tree, "tree"},
};
}  // namespace

std::string_view formatName(Format format)
{
    for (const FormatEntry& f : kFormats)
        if (f.format == format) return f.name;
    return "messages";
}

Format parseFormat(std::string_view name)
{
    for (const FormatEntry& f : kFormats)
        if (f.name == name) return f.format;
    std::string known;
    for (const FormatEntry& f : kFormats) known += (known.empty() ? "" : ", ") + std::string(f.name);
    throw Error("unknown format '" + std::string(name) + "'; this build reads and writes " + known);
}

const std::vector<Format>& allFormats()
{
    static const std::vector<Format> formats = [] {
        std::vector<Format> out;
        for (const FormatEntry& f : kFormats) out.push_back(f.format);
        return out;
    }();
    return formats;
}

bool formatHasJudgements(Format format)
{
    return format == Format::Tree || format == Format::Oasst || format == Format::TrlPreference ||
           format == Format::TrlKto;
}

namespace {

class RecordParser {
public:
    RecordParser(const std::string& file, int64_t line) : m_file(file), m_line(line) {}

    [[noreturn]] void fail(const std::string& message, int64_t column = 0) const
    {
        throw ParseError(m_file, m_line, column, message);
    }

    static std::string typeName(const ojson& v)
    {
        if (v.is_null()) return "null";
        if (v.is_boolean()) return "a boolean";
        if (v.is_number()) return "a number";
        if (v.is_string()) return "a string";
        if (v.is_array()) return "an array";
        return "an object";
    }

    const ojson& field(const ojson& object, const std::string& name, const std::string& path) const
    {
        auto it = object.find(name);
        if (it == object.end()) fail("field '" + path + "' is missing");
        return *it;
    }

    std::string string(const ojson& object, const std::string& name, const std::string& path, bool allowEmpty,
                       const std::string& expected = "") const
    {
        const ojson& v = field(object, name, path);
        if (!v.is_string()) fail("field '" + path + "' must be a string, got " + typeName(v) + expected);
        std::string s = v.get<std::string>();
        if (!allowEmpty && s.empty()) fail("field '" + path + "' is empty; expected some text");
        return s;
    }

    std::optional<std::string> optString(const ojson& object, const std::string& name, const std::string& path) const
    {
        if (!object.contains(name) || object[name].is_null()) return std::nullopt;
        return string(object, name, path, false);
    }

    template <typename T, typename F>
    T parseEnum(const std::string& value, const std::string& path, F parse) const
    {
        try {
            return parse(value);
        } catch (const Error& e) {
            fail("field '" + path + "': " + e.what());
        }
    }

private:
    const std::string& m_file;
    int64_t m_line;
};

std::optional<std::string> structureError(const Record& r)
{
    if (r.nodes.empty()) return "the record holds no messages";
    for (size_t i = 0; i < r.nodes.size(); ++i) {
        const RecordNode& n = r.nodes[i];
        const std::string where = "message " + std::to_string(i + 1) + " (" + std::string(messageRoleName(n.role)) + ")";
        if (n.parent < 0) {
            if (i != 0) return where + " has no parent; only the first message starts the conversation";
            if (n.role == MessageRole::Assistant)
                return "the conversation starts with an assistant message; it must start with user (or system)";
            continue;
        }
        const RecordNode& parent = r.nodes[static_cast<size_t>(n.parent)];
        const bool ok = (parent.role == MessageRole::System && n.role == MessageRole::User) ||
                        (parent.role == MessageRole::User && n.role == MessageRole::Assistant) ||
                        (parent.role == MessageRole::Assistant && n.role == MessageRole::User);
        if (!ok)
            return where + " follows a " + std::string(messageRoleName(parent.role)) +
                   " message; turns go (system →) user → assistant → user …";
    }
    return std::nullopt;
}

// The shape of a chat list: messages (role/content) and sharegpt (from/value) differ only in names.
struct ChatLayout {
    std::string_view list, role, text;
    std::string_view system, user, assistant;
    bool aliases;  // sharegpt files also say "user" and "assistant"; the name given is kept
};
constexpr ChatLayout kMessagesLayout{"messages", "role", "content", "system", "user", "assistant", false};
constexpr ChatLayout kShareGptLayout{"conversations", "from", "value", "system", "human", "gpt", true};

std::string_view roleWord(const ChatLayout& layout, MessageRole role)
{
    return role == MessageRole::System ? layout.system : role == MessageRole::User ? layout.user : layout.assistant;
}

std::optional<MessageRole> chatRole(const ChatLayout& layout, std::string_view name)
{
    if (name == layout.system) return MessageRole::System;
    if (name == layout.user || (layout.aliases && name == "user")) return MessageRole::User;
    if (name == layout.assistant || (layout.aliases && name == "assistant")) return MessageRole::Assistant;
    return std::nullopt;
}

// The fields of an object other than the known ones, in their order.
ojson extraFields(const ojson& object, std::initializer_list<std::string_view> known)
{
    ojson extra = ojson::object();
    for (auto it = object.begin(); it != object.end(); ++it)
        if (std::find(known.begin(), known.end(), it.key()) == known.end()) extra[it.key()] = it.value();
    return extra;
}

void keepRecordFields(Record& r, ojson extra)
{
    if (!extra.empty()) r.nodes[0].meta["_tsumugi"]["record"] = std::move(extra);
}

const ojson* own(const RecordNode& n, const char* key)
{
    if (!n.meta.contains("_tsumugi")) return nullptr;
    const ojson& t = n.meta["_tsumugi"];
    auto it = t.find(key);
    return it == t.end() ? nullptr : &*it;
}

// Appends the messages of a chat list as a chain under `parent` (-1: they start the record).
void parseChatList(const ojson& list, const std::string& path, const ChatLayout& layout, const RecordParser& p,
                   Record& r, int parent)
{
    const std::string names = std::string(layout.system) + ", " + std::string(layout.user) + " or " +
                              std::string(layout.assistant);
    if (!list.is_array())
        p.fail("field '" + path + "' must be an array of {\"" + std::string(layout.role) + "\", \"" +
               std::string(layout.text) + "\"}, got " + RecordParser::typeName(list));
    if (list.empty()) p.fail("field '" + path + "' is an empty array; expected at least a user and an assistant turn");
    for (size_t i = 0; i < list.size(); ++i) {
        const std::string at = path + "[" + std::to_string(i) + "]";
        const ojson& m = list[i];
        if (!m.is_object()) p.fail("field '" + at + "' must be an object, got " + RecordParser::typeName(m));
        RecordNode n;
        const std::string roleName = p.string(m, std::string(layout.role), at + "." + std::string(layout.role), false,
                                              "; expected " + names);
        const auto role = chatRole(layout, roleName);
        if (!role) p.fail("field '" + at + "." + std::string(layout.role) + "' is '" + roleName + "'; expected " + names);
        n.role = *role;
        if (roleName != roleWord(layout, n.role)) n.meta["_tsumugi"]["from"] = roleName;
        n.text = p.string(m, std::string(layout.text), at + "." + std::string(layout.text), false);
        n.parent = i == 0 ? parent : static_cast<int>(r.nodes.size()) - 1;
        n.key = std::to_string(r.nodes.size());
        ojson extra = extraFields(m, {layout.role, layout.text});
        if (!extra.empty()) n.meta["_tsumugi"]["fields"] = std::move(extra);
        r.nodes.push_back(std::move(n));
    }
}

Record parseChat(const ojson& j, const RecordParser& p, const ChatLayout& layout)
{
    Record r;
    const std::string list(layout.list);
    parseChatList(p.field(j, list, list), list, layout, p, r, -1);
    keepRecordFields(r, extraFields(j, {layout.list}));
    return r;
}

// A user turn and its answer, each with a key.
Record twoTurns(std::string userKey, std::string user, std::string assistantKey, std::string output)
{
    Record r;
    RecordNode u;
    u.key = std::move(userKey);
    u.role = MessageRole::User;
    u.text = std::move(user);
    RecordNode a;
    a.key = std::move(assistantKey);
    a.role = MessageRole::Assistant;
    a.text = std::move(output);
    a.parent = 0;
    r.nodes.push_back(std::move(u));
    r.nodes.push_back(std::move(a));
    return r;
}

// How an alpaca record's "input" field was given; export writes it back the same way.
enum class AlpacaInput { Given, Null, Absent };

// The user (instruction + blank line + input) and assistant nodes of an alpaca record,
// shared by the full and the fast parser so both produce the same Record.
Record alpacaNodes(const std::string& instruction, const std::string& input, AlpacaInput inputState,
                   std::string output, ojson extra = ojson::object())
{
    Record r = twoTurns("instruction", input.empty() ? instruction : instruction + "\n\n" + input, "output",
                        std::move(output));
    ojson& own = r.nodes[0].meta["_tsumugi"];
    own["alpaca_instruction_bytes"] = instruction.size();
    if (inputState == AlpacaInput::Null) own["alpaca_input_null"] = true;
    else if (inputState == AlpacaInput::Absent) own["alpaca_input_absent"] = true;
    keepRecordFields(r, std::move(extra));
    return r;
}

Record parseAlpaca(const ojson& j, const RecordParser& p)
{
    const std::string instruction = p.string(j, "instruction", "instruction", false);
    std::string input;
    if (j.contains("input") && !j["input"].is_null()) input = p.string(j, "input", "input", true);
    const std::string output = p.string(j, "output", "output", false);
    const AlpacaInput state = !j.contains("input")     ? AlpacaInput::Absent
                              : j["input"].is_null()  ? AlpacaInput::Null
                                                      : AlpacaInput::Given;
    return alpacaNodes(instruction, input, state, output, extraFields(j, {"instruction", "input", "output"}));
}

Record parseTree(const ojson& j, const RecordParser& p)
{
    Record r;
    std::map<std::string, int> index;
    const ojson& messages = p.field(j, "messages", "messages");
    if (!messages.is_array() || messages.empty()) p.fail("field 'messages' must be a non-empty array");
    for (size_t i = 0; i < messages.size(); ++i) {
        const std::string path = "messages[" + std::to_string(i) + "]";
        const ojson& m = messages[i];
        if (!m.is_object()) p.fail("field '" + path + "' must be an object, got " + RecordParser::typeName(m));
        RecordNode n;
        n.key = p.string(m, "key", path + ".key", false);
        if (index.count(n.key)) p.fail("field '" + path + ".key': key '" + n.key + "' is used twice");
        if (auto parent = p.optString(m, "parent", path + ".parent")) {
            auto it = index.find(*parent);
            if (it == index.end())
                p.fail("field '" + path + ".parent': no earlier message has key '" + *parent +
                       "' (list parents before their children)");
            n.parent = it->second;
        }
        n.role = p.parseEnum<MessageRole>(p.string(m, "role", path + ".role", false), path + ".role", parseMessageRole);
        n.text = p.string(m, "text", path + ".text", false);
        n.author = p.optString(m, "author", path + ".author");
        if (auto s = p.optString(m, "status", path + ".status")) {
            n.status = p.parseEnum<Status>(*s, path + ".status", parseStatus);
            if (*n.status == Status::Deleted) p.fail("field '" + path + ".status': deleted messages are not imported");
        }
        if (auto o = p.optString(m, "origin", path + ".origin"))
            n.origin = p.parseEnum<Origin>(*o, path + ".origin", parseOrigin);
        if (m.contains("meta")) {
            if (!m["meta"].is_object()) p.fail("field '" + path + ".meta' must be an object");
            n.meta = m["meta"];
        }
        n.meta["_tsumugi"]["key"] = n.key;
        index[n.key] = static_cast<int>(i);
        r.nodes.push_back(std::move(n));
    }
    if (j.contains("tree")) r.nodes[0].meta["_tsumugi"]["tree"] = p.string(j, "tree", "tree", false);
    if (j.contains("tags")) {
        if (!j["tags"].is_array()) p.fail("field 'tags' must be an array of strings");
        for (size_t i = 0; i < j["tags"].size(); ++i) {
            if (!j["tags"][i].is_string()) p.fail("field 'tags[" + std::to_string(i) + "]' must be a string");
            r.tags.push_back(j["tags"][i].get<std::string>());
        }
    }
    auto keyOf = [&](const ojson& object, const std::string& name, const std::string& path) {
        const std::string key = p.string(object, name, path, false);
        auto it = index.find(key);
        if (it == index.end()) p.fail("field '" + path + "': no message has key '" + key + "'");
        return it->second;
    };
    auto arrayOf = [&](const char* name) -> const ojson& {
        static const ojson empty = ojson::array();
        if (!j.contains(name)) return empty;
        if (!j[name].is_array()) p.fail(std::string("field '") + name + "' must be an array");
        return j[name];
    };
    const ojson& rankings = arrayOf("rankings");
    for (size_t i = 0; i < rankings.size(); ++i) {
        const std::string path = "rankings[" + std::to_string(i) + "]";
        const ojson& x = rankings[i];
        if (!x.is_object()) p.fail("field '" + path + "' must be an object");
        RecordRanking rk;
        rk.parent = keyOf(x, "parent", path + ".parent");
        rk.annotator = p.string(x, "annotator", path + ".annotator", false);
        if (auto v = p.optString(x, "verdict", path + ".verdict"))
            rk.verdict = p.parseEnum<RankingVerdict>(*v, path + ".verdict", parseRankingVerdict);
        rk.reason = p.optString(x, "reason", path + ".reason");
        if (rk.verdict == RankingVerdict::Ranked) {
            const ojson& order = p.field(x, "order", path + ".order");
            if (!order.is_array()) p.fail("field '" + path + ".order' must be an array of arrays of keys");
            for (size_t g = 0; g < order.size(); ++g) {
                const std::string gpath = path + ".order[" + std::to_string(g) + "]";
                if (!order[g].is_array() || order[g].empty())
                    p.fail("field '" + gpath + "' must be a non-empty array of keys (a tie when several)");
                std::vector<int> group;
                for (size_t k = 0; k < order[g].size(); ++k) {
                    const ojson& key = order[g][k];
                    if (!key.is_string() || !index.count(key.get<std::string>()))
                        p.fail("field '" + gpath + "[" + std::to_string(k) + "]' names no message of this tree");
                    const int node = index[key.get<std::string>()];
                    if (r.nodes[static_cast<size_t>(node)].parent != rk.parent ||
                        r.nodes[static_cast<size_t>(node)].role != MessageRole::Assistant)
                        p.fail("field '" + gpath + "': '" + key.get<std::string>() +
                               "' is not an assistant reply under the ranked parent");
                    group.push_back(node);
                }
                rk.groups.push_back(std::move(group));
            }
        }
        r.rankings.push_back(std::move(rk));
    }
    const ojson& reviews = arrayOf("reviews");
    for (size_t i = 0; i < reviews.size(); ++i) {
        const std::string path = "reviews[" + std::to_string(i) + "]";
        const ojson& x = reviews[i];
        if (!x.is_object()) p.fail("field '" + path + "' must be an object");
        RecordReview rv;
        rv.message = keyOf(x, "message", path + ".message");
        rv.reviewer = p.string(x, "reviewer", path + ".reviewer", false);
        rv.verdict = p.parseEnum<ReviewVerdict>(p.string(x, "verdict", path + ".verdict", false), path + ".verdict",
                                                parseReviewVerdict);
        rv.comment = p.optString(x, "comment", path + ".comment");
        r.reviews.push_back(std::move(rv));
    }
    const ojson& labels = arrayOf("labels");
    for (size_t i = 0; i < labels.size(); ++i) {
        const std::string path = "labels[" + std::to_string(i) + "]";
        const ojson& x = labels[i];
        if (!x.is_object()) p.fail("field '" + path + "' must be an object");
        RecordLabel lb;
        lb.message = keyOf(x, "message", path + ".message");
        lb.annotator = p.string(x, "annotator", path + ".annotator", false);
        lb.name = p.string(x, "name", path + ".name", false);
        const ojson& v = p.field(x, "value", path + ".value");
        if (!v.is_number_integer()) p.fail("field '" + path + ".value' must be an integer, got " + RecordParser::typeName(v));
        lb.value = v.get<int64_t>();
        r.labels.push_back(std::move(lb));
    }
    return r;
}


Record parseIchikara(const ojson& j, const RecordParser& p)
{
    if (j.contains("ID") && !j["ID"].is_string() && !j["ID"].is_number_integer())
        p.fail("field 'ID' must be a string or an integer, got " + RecordParser::typeName(j["ID"]));
    Record r = twoTurns("text", p.string(j, "text", "text", false), "output", p.string(j, "output", "output", false));
    keepRecordFields(r, extraFields(j, {"text", "output"}));  // ID stays with the record's own fields
    return r;
}

Record parseText(const ojson& j, const RecordParser& p, const TextTemplate* textTemplate)
{
    if (!textTemplate)
        p.fail("the text format needs the chat template its texts were written with: give --template NAME");
    const std::string text = p.string(j, "text", "text", false);
    auto turns = textTemplate->parse(text);
    if (auto* why = std::get_if<std::string>(&turns))
        p.fail("field 'text' cannot be split into turns with the " + textTemplate->name() + " template: " + *why +
               "; give the --template the file was written with, or import it as plain records (messages)");
    Record r;
    for (TextTurn& t : std::get<std::vector<TextTurn>>(turns)) {
        RecordNode n;
        n.role = t.role;
        n.text = std::move(t.text);
        n.parent = static_cast<int>(r.nodes.size()) - 1;
        n.key = std::to_string(r.nodes.size());
        r.nodes.push_back(std::move(n));
    }
    keepRecordFields(r, extraFields(j, {"text"}));
    return r;
}

// TRL's prompt: a string (standard form) or a list of messages ending with the user's turn
// (conversational form). Returns whether the form is standard.
bool parseTrlPrompt(const ojson& j, const RecordParser& p, Record& r)
{
    if (!j.contains("prompt"))
        p.fail("field 'prompt' is missing; Tsumugi reads TRL's explicit-prompt form, where 'prompt' holds the "
               "conversation before the completion");
    const ojson& prompt = j["prompt"];
    const bool standard = prompt.is_string();
    if (standard) {
        RecordNode n;
        n.key = "prompt";
        n.text = p.string(j, "prompt", "prompt", false);
        r.nodes.push_back(std::move(n));
    } else if (prompt.is_array()) {
        parseChatList(prompt, "prompt", kMessagesLayout, p, r, -1);
        if (r.nodes.back().role != MessageRole::User)
            p.fail("field 'prompt' must end with a user message (the completion answers it), got " +
                   std::string(messageRoleName(r.nodes.back().role)));
    } else {
        p.fail("field 'prompt' must be a string (standard form) or an array of {\"role\", \"content\"} "
               "(conversational form), got " + RecordParser::typeName(prompt));
    }
    r.nodes[0].meta["_tsumugi"]["trl_form"] = standard ? "standard" : "conversational";
    return standard;
}

// One completion under the prompt's last message (parent), in the prompt's form; returns its node.
int parseTrlCompletion(const ojson& j, const std::string& name, bool standard, int parent, const RecordParser& p,
                       Record& r)
{
    const ojson& v = p.field(j, name, name);
    if (standard) {
        if (!v.is_string())
            p.fail("field '" + name + "' must be a string like 'prompt' (standard form), got " +
                   RecordParser::typeName(v));
        RecordNode n;
        n.key = name;
        n.role = MessageRole::Assistant;
        n.text = p.string(j, name, name, false);
        n.parent = parent;
        r.nodes.push_back(std::move(n));
    } else {
        if (!v.is_array() || v.size() != 1)
            p.fail("field '" + name + "' must be an array holding one {\"role\": \"assistant\", \"content\"} message "
                   "like 'prompt' (conversational form), got " +
                   (v.is_array() ? std::to_string(v.size()) + " messages" : RecordParser::typeName(v)));
        parseChatList(v, name, kMessagesLayout, p, r, parent);
        if (r.nodes.back().role != MessageRole::Assistant)
            p.fail("field '" + name + "[0].role' must be assistant, got " +
                   std::string(messageRoleName(r.nodes.back().role)));
    }
    return static_cast<int>(r.nodes.size()) - 1;
}

Record parseTrlPreference(const ojson& j, const RecordParser& p)
{
    Record r;
    const bool standard = parseTrlPrompt(j, p, r);
    const int prompt = static_cast<int>(r.nodes.size()) - 1;
    const int chosen = parseTrlCompletion(j, "chosen", standard, prompt, p, r);
    const int rejected = parseTrlCompletion(j, "rejected", standard, prompt, p, r);
    RecordRanking ranking;
    ranking.parent = prompt;
    ranking.groups = {{chosen}, {rejected}};
    r.rankings.push_back(std::move(ranking));
    keepRecordFields(r, extraFields(j, {"prompt", "chosen", "rejected"}));
    return r;
}

Record parseTrlKto(const ojson& j, const RecordParser& p)
{
    Record r;
    const bool standard = parseTrlPrompt(j, p, r);
    const int completion =
        parseTrlCompletion(j, "completion", standard, static_cast<int>(r.nodes.size()) - 1, p, r);
    const ojson& label = p.field(j, "label", "label");
    if (!label.is_boolean())
        p.fail("field 'label' must be true (a desirable completion) or false, got " + RecordParser::typeName(label));
    r.labels.push_back({completion, "", std::string(kDesirableLabel), label.get<bool>() ? 1 : 0});
    keepRecordFields(r, extraFields(j, {"prompt", "completion", "label"}));
    return r;
}

// OpenAssistant's review state as a status: deleted, accepted, rejected, or not yet decided.
Status oasstStatus(bool deleted, const ojson* reviewResult)
{
    if (deleted) return Status::Deleted;
    if (reviewResult && reviewResult->is_boolean()) return reviewResult->get<bool>() ? Status::Approved : Status::Rejected;
    return Status::Submitted;
}

// Fields of an oasst message node that Tsumugi computes on export; which of them a source
// node lacked is kept, so they are left out again.
constexpr std::string_view kOasstComputed[] = {"parent_id", "review_count", "review_result", "deleted", "rank",
                                               "synthetic", "model_name",   "lang",          "emojis",  "labels",
                                               "replies"};

void parseOasstNode(const ojson& m, const std::string& path, int parent, const RecordParser& p, Record& r,
                    std::map<std::string, int>& ids, int depth)
{
    if (depth > 1000) p.fail("field '" + path + "': the tree is deeper than 1000 messages");
    if (!m.is_object()) p.fail("field '" + path + "' must be an object (a message node), got " + RecordParser::typeName(m));
    RecordNode n;
    n.text = p.string(m, "text", path + ".text", false);
    const std::string role = p.string(m, "role", path + ".role", false, "; expected prompter or assistant");
    if (role == "prompter") n.role = MessageRole::User;
    else if (role == "assistant") n.role = MessageRole::Assistant;
    else p.fail("field '" + path + ".role' is '" + role + "'; expected prompter or assistant");
    n.key = "n" + std::to_string(r.nodes.size());
    if (m.contains("message_id") && !m["message_id"].is_null()) {
        n.key = p.string(m, "message_id", path + ".message_id", false);
        if (ids.count(n.key)) p.fail("field '" + path + ".message_id': '" + n.key + "' is used twice in this tree");
    }
    if (m.contains("parent_id") && !m["parent_id"].is_null()) {
        const std::string parentId = p.string(m, "parent_id", path + ".parent_id", false);
        if (parent < 0)
            p.fail("field '" + path + ".parent_id' must be null: this is the tree's first message");
        if (parentId != r.nodes[static_cast<size_t>(parent)].key)
            p.fail("field '" + path + ".parent_id' is '" + parentId + "' but the message sits in the replies of '" +
                   r.nodes[static_cast<size_t>(parent)].key + "'");
    }
    auto optBool = [&](const char* name) -> const ojson* {
        if (!m.contains(name) || m[name].is_null()) return nullptr;
        if (!m[name].is_boolean())
            p.fail("field '" + path + "." + name + "' must be true, false or null, got " + RecordParser::typeName(m[name]));
        return &m[name];
    };
    const ojson* deleted = optBool("deleted");
    const ojson* reviewResult = optBool("review_result");
    const ojson* synthetic = optBool("synthetic");
    if (m.contains("rank") && !m["rank"].is_null() && !(m["rank"].is_number_integer() && m["rank"].get<int64_t>() >= 0))
        p.fail("field '" + path + ".rank' must be a whole number from 0 (best) or null, got " + m["rank"].dump());
    if (m.contains("review_count") && !m["review_count"].is_null() && !m["review_count"].is_number_integer())
        p.fail("field '" + path + ".review_count' must be a whole number or null");
    if (m.contains("labels") && !m["labels"].is_null()) {
        if (!m["labels"].is_object()) p.fail("field '" + path + ".labels' must be an object of {\"value\", \"count\"}");
        for (auto& [name, v] : m["labels"].items())
            if (!v.is_object() || !v.contains("value") || !v.contains("count") || !v["count"].is_number_integer())
                p.fail("field '" + path + ".labels." + name + "' must be {\"value\": number, \"count\": integer}");
    }
    n.status = oasstStatus(deleted && deleted->get<bool>(), reviewResult);
    n.origin = synthetic && synthetic->get<bool>() ? Origin::Model : Origin::Import;
    n.parent = parent;
    n.meta = extraFields(m, {"text", "role", "replies", "parent_id"});
    ojson absent = ojson::array();
    for (std::string_view k : kOasstComputed)
        if (!m.contains(k)) absent.push_back(k);
    if (!absent.empty()) n.meta["_tsumugi"]["oasst_absent"] = std::move(absent);
    const int self = static_cast<int>(r.nodes.size());
    ids[n.key] = self;
    r.nodes.push_back(std::move(n));
    if (!m.contains("replies") || m["replies"].is_null()) return;
    const ojson& replies = m["replies"];
    if (!replies.is_array()) p.fail("field '" + path + ".replies' must be an array of message nodes");
    // The ranks of sibling assistant replies (0 = best, ties share a rank) become a ranking.
    std::map<int64_t, std::vector<int>> byRank;
    for (size_t i = 0; i < replies.size(); ++i) {
        const int child = static_cast<int>(r.nodes.size());
        parseOasstNode(replies[i], path + ".replies[" + std::to_string(i) + "]", self, p, r, ids, depth + 1);
        const ojson& c = replies[i];
        if (r.nodes[static_cast<size_t>(child)].role == MessageRole::Assistant &&
            r.nodes[static_cast<size_t>(child)].status != Status::Deleted && c.contains("rank") &&
            c["rank"].is_number_integer())
            byRank[c["rank"].get<int64_t>()].push_back(child);
    }
    size_t ranked = 0;
    for (const auto& [rank, group] : byRank) ranked += group.size();
    if (ranked >= 2) {
        RecordRanking ranking;
        ranking.parent = self;
        for (auto& [rank, group] : byRank) ranking.groups.push_back(group);
        r.rankings.push_back(std::move(ranking));
    }
}

Record parseOasst(const ojson& j, const RecordParser& p)
{
    Record r;
    const ojson& prompt = p.field(j, "prompt", "prompt");
    std::map<std::string, int> ids;
    parseOasstNode(prompt, "prompt", -1, p, r, ids, 0);
    if (auto id = p.optString(j, "message_tree_id", "message_tree_id")) r.nodes[0].meta["_tsumugi"]["tree"] = *id;
    keepRecordFields(r, extraFields(j, {"message_tree_id", "prompt"}));
    return r;
}

}  // namespace

Record parseRecord(Format format, std::string_view lineText, const std::string& file, int64_t line,
                   const TextTemplate* textTemplate)
{
    RecordParser p(file, line);
    if (auto bad = utf8::firstInvalid(lineText))
        p.fail("invalid UTF-8 at byte " + std::to_string(*bad + 1) + " of the line; the file must be UTF-8 "
               "(convert it, e.g. with iconv -f SHIFT_JIS -t UTF-8)",
               static_cast<int64_t>(utf8::length(lineText.substr(0, *bad)) + 1));
    ojson j;
    try {
        j = ojson::parse(lineText);
    } catch (const nlohmann::json::parse_error& e) {
        const size_t byte = e.byte > 0 ? e.byte - 1 : 0;
        const int64_t column = static_cast<int64_t>(utf8::length(lineText.substr(0, std::min(byte, lineText.size())))) + 1;
        std::string what = e.what();
        const auto pos = what.find("syntax error");
        p.fail("not valid JSON: " + (pos == std::string::npos ? what : what.substr(pos)), column);
    }
    if (!j.is_object()) p.fail("a record must be a JSON object, got " + RecordParser::typeName(j));
    Record r;
    switch (format) {
    case Format::Messages: r = parseChat(j, p, kMessagesLayout); break;
    case Format::ShareGpt: r = parseChat(j, p, kShareGptLayout); break;
    case Format::Alpaca: r = parseAlpaca(j, p); break;
    case Format::Ichikara: r = parseIchikara(j, p); break;
    case Format::Text: r = parseText(j, p, textTemplate); break;
    case Format::TrlPreference: r = parseTrlPreference(j, p); break;
    case Format::TrlKto: r = parseTrlKto(j, p); break;
    case Format::Oasst: r = parseOasst(j, p); break;
    case Format::Tree: r = parseTree(j, p); break;
    }
    if (auto error = structureError(r)) p.fail(*error);
    return r;
}

struct FastRecordParser::Impl {
    // The DOM API dispatches to the best kernel for this CPU at run time.
    simdjson::dom::parser parser;
    std::string buffer;  // the line plus simdjson's padding

    // Each helper returns false when the line is not the plain common shape.
    static bool text(simdjson::dom::element value, std::string& out, bool allowEmpty)
    {
        std::string_view view;
        if (value.get_string().get(view)) return false;
        if (view.empty() && !allowEmpty) return false;
        out.assign(view);
        return true;
    }

    static bool chat(simdjson::dom::object object, Record& r, const ChatLayout& layout)
    {
        if (object.size() != 1) return false;
        simdjson::dom::array array;
        if (object.at_key(layout.list).get_array().get(array)) return false;
        for (simdjson::dom::element element : array) {
            simdjson::dom::object m;
            if (element.get_object().get(m) || m.size() != 2) return false;
            RecordNode n;
            std::string role;
            if (!text(m.at_key(layout.role), role, false) || !text(m.at_key(layout.text), n.text, false)) return false;
            if (role == layout.user) n.role = MessageRole::User;
            else if (role == layout.assistant) n.role = MessageRole::Assistant;
            else if (role == layout.system) n.role = MessageRole::System;
            else return false;  // unknown, or an alias whose name the full parser keeps
            n.parent = static_cast<int>(r.nodes.size()) - 1;
            n.key = std::to_string(r.nodes.size());
            r.nodes.push_back(std::move(n));
        }
        return !r.nodes.empty();
    }

    static bool alpaca(simdjson::dom::object object, Record& r)
    {
        std::string instruction, input, output;
        bool seenInput = false, inputNull = false;
        size_t known = 2;
        if (!text(object.at_key("instruction"), instruction, false) || !text(object.at_key("output"), output, false))
            return false;
        simdjson::dom::element value;
        if (!object.at_key("input").get(value)) {
            seenInput = true;
            ++known;
            if (value.is_null()) inputNull = true;
            else if (!text(value, input, true)) return false;
        }
        if (object.size() != known) return false;  // extra or repeated fields: the full parser keeps them
        r = alpacaNodes(instruction, input,
                        inputNull ? AlpacaInput::Null : seenInput ? AlpacaInput::Given : AlpacaInput::Absent,
                        std::move(output));
        return true;
    }
};

FastRecordParser::FastRecordParser() : m_impl(new Impl) {}
FastRecordParser::~FastRecordParser() { delete m_impl; }

std::optional<Record> FastRecordParser::parse(Format format, std::string_view lineText)
{
    if (format != Format::Messages && format != Format::ShareGpt && format != Format::Alpaca) return std::nullopt;
    std::string& buffer = m_impl->buffer;
    buffer.assign(lineText);
    buffer.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::dom::element doc;
    if (m_impl->parser.parse(buffer.data(), lineText.size(), false).get(doc)) return std::nullopt;
    simdjson::dom::object object;
    if (doc.get_object().get(object)) return std::nullopt;
    Record r;
    const bool ok = format == Format::Messages   ? Impl::chat(object, r, kMessagesLayout)
                    : format == Format::ShareGpt ? Impl::chat(object, r, kShareGptLayout)
                                                 : Impl::alpaca(object, r);
    if (!ok || structureError(r)) return std::nullopt;
    return r;
}

void appendJsonString(std::string& out, std::string_view s)
{
    out += '"';
    size_t run = 0;  // start of the current stretch that needs no escaping
    for (size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.substr(run, i - run));
        run = i + 1;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
            out += buffer;
        }
        }
    }
    out.append(s.substr(run));
    out += '"';
}

std::string messagesLine(const std::vector<const RecordNode*>& path)
{
    for (const RecordNode* n : path)
        if (n->meta.contains("_tsumugi") &&
            (n->meta["_tsumugi"].contains("fields") || n->meta["_tsumugi"].contains("record")))
            return messagesRecord(path).dump();
    std::string out = "{\"messages\":[";
    for (size_t i = 0; i < path.size(); ++i) {
        out += i ? ",{\"role\":\"" : "{\"role\":\"";
        out += messageRoleName(path[i]->role);
        out += "\",\"content\":";
        appendJsonString(out, path[i]->text);
        out += '}';
    }
    out += "]}";
    return out;
}

namespace {

// The record-level fields kept from the source, written after the format's own.
void writeRecordFields(ojson& out, const RecordNode& root, std::initializer_list<std::string_view> skip = {})
{
    if (const ojson* record = own(root, "record"))
        for (auto& [k, v] : record->items())
            if (std::find(skip.begin(), skip.end(), k) == skip.end()) out[k] = v;
}

ojson chatList(const ChatLayout& layout, const RecordPath& path)
{
    ojson list = ojson::array();
    for (const RecordNode* n : path) {
        const ojson* from = layout.aliases ? own(*n, "from") : nullptr;
        ojson m = ojson::object();
        m[std::string(layout.role)] = from ? from->get<std::string>() : std::string(roleWord(layout, n->role));
        m[std::string(layout.text)] = n->text;
        if (const ojson* fields = own(*n, "fields"))
            for (auto& [k, v] : fields->items()) m[k] = v;
        list.push_back(std::move(m));
    }
    return list;
}

ojson chatRecord(const ChatLayout& layout, const RecordPath& path)
{
    ojson out = ojson::object();
    out[std::string(layout.list)] = chatList(layout, path);
    writeRecordFields(out, *path.front());
    return out;
}

}  // namespace

ojson messagesRecord(const std::vector<const RecordNode*>& path) { return chatRecord(kMessagesLayout, path); }

ojson sharegptRecord(const RecordPath& path) { return chatRecord(kShareGptLayout, path); }

std::optional<ojson> alpacaRecord(const std::vector<const RecordNode*>& path)
{
    if (path.size() != 2 || path[0]->role != MessageRole::User || path[1]->role != MessageRole::Assistant)
        return std::nullopt;
    const RecordNode& user = *path[0];
    std::string instruction = user.text;
    std::string input;
    const ojson own = user.meta.contains("_tsumugi") ? user.meta["_tsumugi"] : ojson::object();
    if (own.contains("alpaca_instruction_bytes")) {
        const size_t n = own["alpaca_instruction_bytes"].get<size_t>();
        // Split back only when the text still has the shape import gave it.
        if (n + 2 <= user.text.size() && user.text.compare(n, 2, "\n\n") == 0) {
            instruction = user.text.substr(0, n);
            input = user.text.substr(n + 2);
        }
    }
    ojson out = ojson::object();
    out["instruction"] = instruction;
    if (own.contains("alpaca_input_null") && input.empty()) out["input"] = nullptr;
    else if (!(own.contains("alpaca_input_absent") && input.empty())) out["input"] = input;
    out["output"] = path[1]->text;
    if (own.contains("record"))
        for (auto& [k, v] : own["record"].items()) out[k] = v;
    return out;
}

ojson treeRecord(const Record& record, const std::string& treeName)
{
    ojson out = ojson::object();
    out["tree"] = treeName;
    if (!record.tags.empty()) out["tags"] = record.tags;
    ojson messages = ojson::array();
    for (const RecordNode& n : record.nodes) {
        ojson m = ojson::object();
        m["key"] = n.key;
        if (n.parent >= 0) m["parent"] = record.nodes[static_cast<size_t>(n.parent)].key;
        m["role"] = messageRoleName(n.role);
        m["text"] = n.text;
        if (n.author) m["author"] = *n.author;
        if (n.status) m["status"] = statusName(*n.status);
        if (n.origin && *n.origin != Origin::Human) m["origin"] = originName(*n.origin);
        ojson meta = n.meta;
        meta.erase("_tsumugi");
        if (!meta.empty()) m["meta"] = meta;
        messages.push_back(std::move(m));
    }
    out["messages"] = std::move(messages);
    auto keyOf = [&](int index) { return record.nodes[static_cast<size_t>(index)].key; };
    if (!record.rankings.empty()) {
        ojson rankings = ojson::array();
        for (const RecordRanking& r : record.rankings) {
            ojson x = {{"parent", keyOf(r.parent)}, {"annotator", r.annotator}};
            if (r.verdict == RankingVerdict::Ranked) {
                ojson order = ojson::array();
                for (const auto& g : r.groups) {
                    ojson group = ojson::array();
                    for (int k : g) group.push_back(keyOf(k));
                    order.push_back(std::move(group));
                }
                x["order"] = std::move(order);
            } else {
                x["verdict"] = rankingVerdictName(r.verdict);
            }
            if (r.reason) x["reason"] = *r.reason;
            rankings.push_back(std::move(x));
        }
        out["rankings"] = std::move(rankings);
    }
    if (!record.reviews.empty()) {
        ojson reviews = ojson::array();
        for (const RecordReview& r : record.reviews) {
            ojson x = {{"message", keyOf(r.message)}, {"reviewer", r.reviewer}, {"verdict", reviewVerdictName(r.verdict)}};
            if (r.comment) x["comment"] = *r.comment;
            reviews.push_back(std::move(x));
        }
        out["reviews"] = std::move(reviews);
    }
    if (!record.labels.empty()) {
        ojson labels = ojson::array();
        for (const RecordLabel& l : record.labels)
            labels.push_back({{"message", keyOf(l.message)}, {"annotator", l.annotator}, {"name", l.name}, {"value", l.value}});
        out["labels"] = std::move(labels);
    }
    return out;
}


std::optional<ojson> ichikaraRecord(const RecordPath& path, const std::string& id)
{
    if (path.size() != 2 || path[0]->role != MessageRole::User || path[1]->role != MessageRole::Assistant)
        return std::nullopt;
    ojson out = ojson::object();
    const ojson* record = own(*path[0], "record");
    out["ID"] = record && record->contains("ID") ? (*record)["ID"] : ojson(id);
    out["text"] = path[0]->text;
    out["output"] = path[1]->text;
    writeRecordFields(out, *path[0], {"ID"});
    return out;
}

ojson textRecord(const RecordPath& path, const TextTemplate& textTemplate)
{
    std::vector<TextTurn> turns;
    for (const RecordNode* n : path) turns.push_back({n->role, n->text});
    ojson out = ojson::object();
    out["text"] = textTemplate.render(turns);
    writeRecordFields(out, *path.front());
    return out;
}

namespace {

RecordPath pathTo(const Record& record, int node)
{
    RecordPath path;
    for (int i = node; i >= 0; i = record.nodes[static_cast<size_t>(i)].parent)
        path.insert(path.begin(), &record.nodes[static_cast<size_t>(i)]);
    return path;
}

// The consensus order (ranked pairs) of each ranked parent's candidates, by parent node.
std::map<int, Groups> consensusByParent(const Record& record)
{
    std::map<int, std::vector<Groups>> rankings;
    for (const RecordRanking& r : record.rankings) {
        if (r.verdict != RankingVerdict::Ranked || r.groups.empty()) continue;
        Groups g;
        for (const auto& group : r.groups) g.emplace_back(group.begin(), group.end());
        rankings[r.parent].push_back(std::move(g));
    }
    std::map<int, Groups> out;
    for (auto& [parent, list] : rankings) out[parent] = rankedPairs(list);
    return out;
}

bool trlStandard(const Record& record, const RecordPath& prompt)
{
    const ojson* form = own(record.nodes[0], "trl_form");
    return form && *form == "standard" && prompt.size() == 1 && prompt[0]->role == MessageRole::User;
}

ojson trlPrompt(const RecordPath& prompt, bool standard)
{
    return standard ? ojson(prompt[0]->text) : chatList(kMessagesLayout, prompt);
}

ojson trlCompletion(const RecordNode& n, bool standard)
{
    return standard ? ojson(n.text) : chatList(kMessagesLayout, {&n});
}

}  // namespace

std::vector<ojson> trlPreferenceRecords(const Record& record)
{
    std::vector<ojson> out;
    for (const auto& [parent, consensus] : consensusByParent(record)) {
        const RecordPath prompt = pathTo(record, parent);
        const bool standard = trlStandard(record, prompt);
        for (const Preference& pref : pairwisePreferences(consensus)) {
            ojson line = ojson::object();
            line["prompt"] = trlPrompt(prompt, standard);
            line["chosen"] = trlCompletion(record.nodes[static_cast<size_t>(pref.winner)], standard);
            line["rejected"] = trlCompletion(record.nodes[static_cast<size_t>(pref.loser)], standard);
            writeRecordFields(line, record.nodes[0]);
            out.push_back(std::move(line));
        }
    }
    return out;
}

std::vector<ojson> trlKtoRecords(const Record& record, int64_t& unknown)
{
    std::map<int, int> votes;  // node → desirable labels minus undesirable ones
    std::map<int, bool> labelled;
    for (const RecordLabel& l : record.labels)
        if (l.name == kDesirableLabel) {
            votes[l.message] += l.value > 0 ? 1 : -1;
            labelled[l.message] = true;
        }
    std::map<int, bool> byRanking;
    for (const auto& [parent, consensus] : consensusByParent(record)) {
        if (consensus.size() < 2) continue;
        for (int64_t n : consensus.front()) byRanking[static_cast<int>(n)] = true;
        for (int64_t n : consensus.back()) byRanking[static_cast<int>(n)] = false;
    }
    std::vector<ojson> out;
    for (size_t i = 0; i < record.nodes.size(); ++i) {
        const RecordNode& n = record.nodes[i];
        if (n.role != MessageRole::Assistant) continue;
        const int node = static_cast<int>(i);
        std::optional<bool> label;
        if (labelled.count(node)) {
            if (votes[node] != 0) label = votes[node] > 0;
        } else if (auto it = byRanking.find(node); it != byRanking.end()) {
            label = it->second;
        }
        if (!label) {
            ++unknown;
            continue;
        }
        const RecordPath prompt = pathTo(record, n.parent);
        const bool standard = trlStandard(record, prompt);
        ojson line = ojson::object();
        line["prompt"] = trlPrompt(prompt, standard);
        line["completion"] = trlCompletion(n, standard);
        line["label"] = *label;
        writeRecordFields(line, record.nodes[0]);
        out.push_back(std::move(line));
    }
    return out;
}

namespace {

// A stable id in the UUID layout oasst uses, for messages that came without one.
std::string oasstId(const std::string& treeName, const std::string& key)
{
    const std::string h = sha256Hex("tsumugi:" + treeName + "/" + key);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

// Flags average to the share of annotators who set them; 1–5 scales map onto oasst's 0–1.
bool isFlag(const std::string& name)
{
    static const std::set<std::string> flags = {"pii",          "factual_error",   "unsafe",        "spam",
                                                "fails_task",   "lang_mismatch",   "not_appropriate", "hate_speech",
                                                "sexual_content", "moral_judgement", "political_content",
                                                std::string(kDesirableLabel)};
    return flags.count(name) > 0;
}

}  // namespace

std::optional<ojson> oasstRecord(const Record& record, const std::string& treeName)
{
    if (record.nodes.empty() || record.nodes[0].role != MessageRole::User) return std::nullopt;
    const size_t count = record.nodes.size();
    std::vector<std::vector<int>> children(count);
    for (size_t i = 1; i < count; ++i)
        if (record.nodes[i].parent >= 0) children[static_cast<size_t>(record.nodes[i].parent)].push_back(static_cast<int>(i));
    std::map<int, int64_t> rank;
    for (const auto& [parent, consensus] : consensusByParent(record))
        for (size_t g = 0; g < consensus.size(); ++g)
            for (int64_t n : consensus[g]) rank[static_cast<int>(n)] = static_cast<int64_t>(g);
    std::vector<int64_t> reviews(count, 0);
    for (const RecordReview& r : record.reviews) ++reviews[static_cast<size_t>(r.message)];
    std::vector<std::map<std::string, std::vector<int64_t>>> labels(count);
    for (const RecordLabel& l : record.labels) labels[static_cast<size_t>(l.message)][l.name].push_back(l.value);
    std::vector<std::string> ids(count);
    for (size_t i = 0; i < count; ++i) {
        const ojson& meta = record.nodes[i].meta;
        ids[i] = meta.contains("message_id") && meta["message_id"].is_string() ? meta["message_id"].get<std::string>()
                                                                               : oasstId(treeName, record.nodes[i].key);
    }

    std::function<ojson(int)> node = [&](int index) {
        const size_t i = static_cast<size_t>(index);
        const RecordNode& n = record.nodes[i];
        const ojson& meta = n.meta;
        const ojson* absentList = own(n, "oasst_absent");
        auto absent = [&](std::string_view key) {
            return absentList && std::find(absentList->begin(), absentList->end(), key) != absentList->end();
        };
        auto metaOr = [&](const char* key, ojson fallback) { return meta.contains(key) ? meta[key] : fallback; };
        const Status status = n.status.value_or(Status::Approved);
        const bool metaDeleted = meta.contains("deleted") && meta["deleted"].is_boolean() && meta["deleted"].get<bool>();
        const ojson* metaResult = meta.contains("review_result") ? &meta["review_result"] : nullptr;
        // The source's review state stands while the status is the one it gave.
        const bool unchanged = meta.contains("message_id") && status == oasstStatus(metaDeleted, metaResult);

        ojson v = ojson::object();
        auto put = [&](const char* key, ojson value) {
            if (absent(key) && (value.is_null() || (value.is_array() && value.empty()))) return;
            v[key] = std::move(value);
        };
        v["message_id"] = ids[i];
        put("parent_id", n.parent >= 0 ? ojson(ids[static_cast<size_t>(n.parent)]) : ojson(nullptr));
        for (const char* key : {"user_id", "created_date"})
            if (meta.contains(key)) v[key] = meta[key];
        v["text"] = n.text;
        v["role"] = n.role == MessageRole::User ? "prompter" : "assistant";
        put("lang", metaOr("lang", nullptr));
        const ojson sourceReviews = metaOr("review_count", nullptr);
        put("review_count", sourceReviews.is_number_integer() ? ojson(sourceReviews.get<int64_t>() + reviews[i])
                            : reviews[i] > 0 || !meta.contains("message_id") ? ojson(reviews[i])
                                                                               : sourceReviews);
        if (unchanged) {
            put("review_result", metaResult ? *metaResult : ojson(nullptr));
            put("deleted", metaOr("deleted", nullptr));
        } else {
            put("review_result", status == Status::Approved   ? ojson(true)
                                 : status == Status::Rejected ? ojson(false)
                                                              : ojson(nullptr));
            put("deleted", status == Status::Deleted);
        }
        if (meta.contains("rank")) v["rank"] = meta["rank"];
        else put("rank", rank.count(index) ? ojson(rank[index]) : ojson(nullptr));
        put("synthetic", meta.contains("synthetic") ? meta["synthetic"]
                         : absent("synthetic")      ? ojson(nullptr)
                                                    : ojson(n.origin == Origin::Model));
        put("model_name", metaOr("model_name", nullptr));
        for (const char* key : {"detoxify", "message_tree_id", "tree_state"})
            if (meta.contains(key)) v[key] = meta[key];
        put("emojis", metaOr("emojis", nullptr));
        ojson replies = ojson::array();
        for (int c : children[i]) replies.push_back(node(c));
        put("replies", std::move(replies));
        // Labels: the source's averages merged with those given in Tsumugi.
        ojson merged = meta.contains("labels") && meta["labels"].is_object() ? meta["labels"] : ojson::object();
        for (const auto& [name, values] : labels[i]) {
            double sum = 0;
            for (int64_t x : values) sum += isFlag(name) ? double(x > 0) : std::clamp(double(x - 1) / 4.0, 0.0, 1.0);
            double total = sum;
            int64_t seen = static_cast<int64_t>(values.size());
            if (merged.contains(name) && merged[name]["value"].is_number()) {
                const int64_t c = merged[name]["count"].get<int64_t>();
                total += merged[name]["value"].get<double>() * double(c);
                seen += c;
            }
            merged[name] = {{"value", total / double(seen)}, {"count", seen}};
        }
        put("labels", merged.empty() ? ojson(nullptr) : merged);
        for (auto it = meta.begin(); it != meta.end(); ++it)
            if (it.key() != "_tsumugi" && !v.contains(it.key())) v[it.key()] = it.value();
        return v;
    };

    ojson out = ojson::object();
    const ojson* tree = own(record.nodes[0], "tree");
    out["message_tree_id"] = tree ? *tree : ojson(ids[0]);
    const ojson* fields = own(record.nodes[0], "record");
    out["tree_state"] = fields && fields->contains("tree_state") ? (*fields)["tree_state"] : ojson("ready_for_export");
    out["prompt"] = node(0);
    writeRecordFields(out, record.nodes[0], {"tree_state"});
    return out;
}

}  // namespace tsumugi
