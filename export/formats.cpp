#include "export/formats.h"

#include <map>

#include "core/error.h"
#include "core/utf8.h"

#include <simdjson.h>

namespace tsumugi {

std::string_view formatName(Format format)
{
    switch (format) {
    case Format::Messages: return "messages";
    case Format::Alpaca: return "alpaca";
    case Format::Tree: return "tree";
    }
    return "messages";
}

Format parseFormat(std::string_view name)
{
    if (name == "messages") return Format::Messages;
    if (name == "alpaca") return Format::Alpaca;
    if (name == "tree") return Format::Tree;
    throw Error("unknown format '" + std::string(name) + "'; this build reads and writes messages, alpaca and tree");
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

Record parseMessages(const ojson& j, const RecordParser& p)
{
    Record r;
    const ojson& messages = p.field(j, "messages", "messages");
    if (!messages.is_array())
        p.fail("field 'messages' must be an array of {\"role\", \"content\"}, got " + RecordParser::typeName(messages));
    if (messages.empty()) p.fail("field 'messages' is an empty array; expected at least a user and an assistant turn");
    for (size_t i = 0; i < messages.size(); ++i) {
        const std::string path = "messages[" + std::to_string(i) + "]";
        const ojson& m = messages[i];
        if (!m.is_object()) p.fail("field '" + path + "' must be an object, got " + RecordParser::typeName(m));
        RecordNode n;
        const std::string role =
            p.string(m, "role", path + ".role", false, "; expected one of system, user, assistant");
        n.role = p.parseEnum<MessageRole>(role, path + ".role", parseMessageRole);
        n.text = p.string(m, "content", path + ".content", false);
        n.parent = static_cast<int>(i) - 1;
        n.key = std::to_string(i);
        ojson extra = ojson::object();
        for (auto it = m.begin(); it != m.end(); ++it)
            if (it.key() != "role" && it.key() != "content") extra[it.key()] = it.value();
        if (!extra.empty()) n.meta["_tsumugi"]["fields"] = extra;
        r.nodes.push_back(std::move(n));
    }
    ojson extra = ojson::object();
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "messages") extra[it.key()] = it.value();
    if (!extra.empty()) r.nodes[0].meta["_tsumugi"]["record"] = extra;
    return r;
}

// How an alpaca record's "input" field was given; export writes it back the same way.
enum class AlpacaInput { Given, Null, Absent };

// The user (instruction + blank line + input) and assistant nodes of an alpaca record,
// shared by the full and the fast parser so both produce the same Record.
Record alpacaNodes(const std::string& instruction, const std::string& input, AlpacaInput inputState,
                   std::string output, ojson extra = ojson::object())
{
    Record r;
    RecordNode user;
    user.key = "instruction";
    user.role = MessageRole::User;
    user.text = input.empty() ? instruction : instruction + "\n\n" + input;
    user.meta["_tsumugi"]["alpaca_instruction_bytes"] = instruction.size();
    if (inputState == AlpacaInput::Null) user.meta["_tsumugi"]["alpaca_input_null"] = true;
    else if (inputState == AlpacaInput::Absent) user.meta["_tsumugi"]["alpaca_input_absent"] = true;
    if (!extra.empty()) user.meta["_tsumugi"]["record"] = std::move(extra);
    RecordNode assistant;
    assistant.key = "output";
    assistant.role = MessageRole::Assistant;
    assistant.text = std::move(output);
    assistant.parent = 0;
    r.nodes.push_back(std::move(user));
    r.nodes.push_back(std::move(assistant));
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
    ojson extra = ojson::object();
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "instruction" && it.key() != "input" && it.key() != "output") extra[it.key()] = it.value();
    return alpacaNodes(instruction, input, state, output, std::move(extra));
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

}  // namespace

Record parseRecord(Format format, std::string_view lineText, const std::string& file, int64_t line)
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
    Record r = format == Format::Messages ? parseMessages(j, p) : format == Format::Alpaca ? parseAlpaca(j, p) : parseTree(j, p);
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

    static bool messages(simdjson::dom::object object, Record& r)
    {
        if (object.size() != 1) return false;
        simdjson::dom::array array;
        if (object.at_key("messages").get_array().get(array)) return false;
        for (simdjson::dom::element element : array) {
            simdjson::dom::object m;
            if (element.get_object().get(m) || m.size() != 2) return false;
            RecordNode n;
            std::string role;
            if (!text(m.at_key("role"), role, false) || !text(m.at_key("content"), n.text, false)) return false;
            if (role == "user") n.role = MessageRole::User;
            else if (role == "assistant") n.role = MessageRole::Assistant;
            else if (role == "system") n.role = MessageRole::System;
            else return false;
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
    if (format == Format::Tree) return std::nullopt;
    std::string& buffer = m_impl->buffer;
    buffer.assign(lineText);
    buffer.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::dom::element doc;
    if (m_impl->parser.parse(buffer.data(), lineText.size(), false).get(doc)) return std::nullopt;
    simdjson::dom::object object;
    if (doc.get_object().get(object)) return std::nullopt;
    Record r;
    const bool ok = format == Format::Messages ? Impl::messages(object, r) : Impl::alpaca(object, r);
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

ojson messagesRecord(const std::vector<const RecordNode*>& path)
{
    ojson out = ojson::object();
    ojson messages = ojson::array();
    for (const RecordNode* n : path) {
        ojson m = {{"role", messageRoleName(n->role)}, {"content", n->text}};
        if (n->meta.contains("_tsumugi") && n->meta["_tsumugi"].contains("fields"))
            for (auto& [k, v] : n->meta["_tsumugi"]["fields"].items()) m[k] = v;
        messages.push_back(std::move(m));
    }
    out["messages"] = std::move(messages);
    const RecordNode* root = path.front();
    if (root->meta.contains("_tsumugi") && root->meta["_tsumugi"].contains("record"))
        for (auto& [k, v] : root->meta["_tsumugi"]["record"].items()) out[k] = v;
    return out;
}

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

}  // namespace tsumugi
