#include "export/text_template.h"

#include <algorithm>

#include "core/error.h"

namespace tsumugi {

namespace {

// Sentinels no template writes and no probe text contains: record separator + tag + unit separator.
std::string sentinel(const std::string& tag) { return "\x1e" + tag + "\x1f"; }

// A marker as a person reads it in an error message: quoted, line breaks shown as \n.
std::string shown(std::string_view s)
{
    std::string out = "'";
    for (char c : s) {
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else out += c;
    }
    return out + "'";
}

std::vector<tok::ChatMessage> chatMessages(const std::vector<TextTurn>& turns)
{
    std::vector<tok::ChatMessage> out;
    out.reserve(turns.size());
    for (const TextTurn& t : turns) out.push_back({std::string(messageRoleName(t.role)), t.text});
    return out;
}

}  // namespace

TextTemplate::TextTemplate(std::string_view name) : m_name(name), m_template(tok::ChatTemplate::named(name))
{
    // Probe conversations: (system,) instruction, answer, instruction, answer.
    for (const bool withSystem : {false, true}) {
        std::vector<TextTurn> turns;
        std::vector<std::string> tags;
        if (withSystem) turns.push_back({MessageRole::System, sentinel("S")}), tags.push_back("S");
        for (const char* tag : {"U1", "A1", "U2", "A2"}) {
            turns.push_back({tag[0] == 'U' ? MessageRole::User : MessageRole::Assistant, sentinel(tag)});
            tags.push_back(tag);
        }
        std::string out;
        try {
            out = render(turns);
        } catch (const Error&) {
            continue;  // the template refuses this shape (e.g. no system message); texts never have it
        }
        struct Slot {
            size_t at;
            size_t turn;
        };
        std::vector<Slot> slots;
        bool found = true;
        for (size_t i = 0; i < turns.size(); ++i) {
            const size_t at = out.find(turns[i].text);
            if (at == std::string::npos || out.find(turns[i].text, at + 1) != std::string::npos) found = false;
            else slots.push_back({at, i});
        }
        if (!found) continue;  // a turn is dropped or repeated: this shape cannot be read back
        std::sort(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) { return a.at < b.at; });
        // Every turn before the first answer comes first; then A1, U2, A2 in that order.
        const size_t n = slots.size();
        if (tags[slots[n - 3].turn] != "A1" || tags[slots[n - 2].turn] != "U2" || tags[slots[n - 1].turn] != "A2")
            continue;
        Shape shape;
        size_t end = 0;
        auto literal = [&](const Slot& s) {
            std::string lit = out.substr(end, s.at - end);
            end = s.at + turns[s.turn].text.size();
            return lit;
        };
        for (size_t i = 0; i + 2 < n; ++i) shape.head.emplace_back(literal(slots[i]), turns[slots[i].turn].role);
        shape.assistantToUser = literal(slots[n - 2]);
        shape.userToAssistant = literal(slots[n - 1]);
        shape.suffix = out.substr(end);
        bool separable = !shape.assistantToUser.empty() && !shape.userToAssistant.empty();
        for (size_t i = 1; i < shape.head.size(); ++i) separable = separable && !shape.head[i].first.empty();
        if (separable) m_shapes.push_back(std::move(shape));
    }
    if (m_shapes.empty())
        m_unparseable = "the template '" + m_name +
                        "' writes nothing that separates one turn from the next, so its texts cannot be split back "
                        "into turns";
}

std::string TextTemplate::render(const std::vector<TextTurn>& turns) const
{
    return m_template.render(chatMessages(turns), tok::SpecialTokens{}, false);
}

std::variant<std::vector<TextTurn>, std::string> TextTemplate::parse(std::string_view text) const
{
    if (!m_unparseable.empty()) return m_unparseable;
    std::string firstReason;
    for (const Shape& shape : m_shapes) {
        auto r = parseShape(shape, text);
        if (std::holds_alternative<std::vector<TextTurn>>(r)) return r;
        if (firstReason.empty()) firstReason = std::get<std::string>(r);
    }
    return firstReason;
}

std::variant<std::vector<TextTurn>, std::string> TextTemplate::parseShape(const Shape& shape,
                                                                           std::string_view text) const
{
    std::vector<TextTurn> turns;
    const std::string& start = shape.head.front().first;
    if (text.substr(0, start.size()) != start)
        return "it does not start with the " + m_name + " template's opening " + shown(start);
    size_t pos = start.size();
    auto take = [&](MessageRole role, size_t until) -> bool {
        if (until <= pos) return false;  // an empty turn: Tsumugi stores no empty text
        turns.push_back({role, std::string(text.substr(pos, until - pos))});
        return true;
    };
    auto roleWord = [](MessageRole r) { return std::string(messageRoleName(r)); };
    // Head: each turn runs to the literal before the next one.
    for (size_t i = 0; i + 1 < shape.head.size(); ++i) {
        const std::string& next = shape.head[i + 1].first;
        const size_t at = text.find(next, pos);
        if (at == std::string::npos)
            return "the " + roleWord(shape.head[i].second) + " turn is not followed by the template's marker " +
                   shown(next);
        if (!take(shape.head[i].second, at)) return "the " + roleWord(shape.head[i].second) + " turn is empty";
        pos = at + next.size();
    }
    // Answers and later instructions, to the suffix.
    while (true) {
        const size_t next = text.find(shape.assistantToUser, pos);
        if (next == std::string::npos) {
            if (text.size() < pos + shape.suffix.size() ||
                text.substr(text.size() - shape.suffix.size()) != shape.suffix)
                return "it does not end with the template's closing " + shown(shape.suffix) + " after the last answer";
            if (!take(MessageRole::Assistant, text.size() - shape.suffix.size())) return "an answer is empty";
            break;
        }
        if (!take(MessageRole::Assistant, next)) return "an answer is empty";
        pos = next + shape.assistantToUser.size();
        const size_t answer = text.find(shape.userToAssistant, pos);
        if (answer == std::string::npos)
            return "an instruction is not followed by the template's marker " + shown(shape.userToAssistant);
        if (!take(MessageRole::User, answer)) return "an instruction is empty";
        pos = answer + shape.userToAssistant.size();
    }
    // A template may write the system message after the first instruction (alpaca-ja's
    // context); in the conversation it is the first message.
    std::stable_partition(turns.begin(), turns.end(), [](const TextTurn& t) { return t.role == MessageRole::System; });
    std::string again;
    try {
        again = render(turns);
    } catch (const Error& e) {
        return std::string("the turns found do not fit the template: ") + e.what();
    }
    if (again != text)
        return "cutting it at the " + m_name +
               " template's markers does not give the same text back (a turn itself contains a marker such as " +
               shown(shape.userToAssistant) + ")";
    return turns;
}

}  // namespace tsumugi
