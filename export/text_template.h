// The `text` format's chat template: renders a conversation path to one string with a named
// template (tokenizer/chat.h) and splits such a string back into its turns.
//
// The markers are not written down per template: they are read off the template itself by
// rendering probe conversations whose turns are unique sentinels, so what the template writes
// before, between and after the turns is known exactly (with and without a system message,
// first turn and later turns). Splitting a text cuts at those markers and then renders the
// turns again: only a split that gives the text back byte for byte is accepted, so a turn that
// happens to contain a marker is reported instead of being cut in the wrong place.
//
// Datasets in this layout (llm-jp's SFT sets) carry no BOS/EOS tokens in the text; the
// tokenizer adds them at training time, so bos_token and eos_token render empty here.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "datastore/messages.h"
#include "tokenizer/chat.h"

namespace tsumugi {

struct TextTurn {
    MessageRole role = MessageRole::User;
    std::string text;
};

class TextTemplate {
public:
    // A named template (llm-jp, alpaca-ja, llama2-ja, calm, chatml); throws Error listing them.
    explicit TextTemplate(std::string_view name);

    const std::string& name() const { return m_name; }
    // Throws Error when the template refuses the conversation (e.g. roles out of order).
    std::string render(const std::vector<TextTurn>& turns) const;
    // The turns of a rendered text, or why it cannot be split (a sentence for an error message).
    std::variant<std::vector<TextTurn>, std::string> parse(std::string_view text) const;

private:
    // What the template writes around the turns of one conversation shape: the literal before
    // each turn up to and including the first answer, then the literals that repeat.
    struct Shape {
        std::vector<std::pair<std::string, MessageRole>> head;
        std::string assistantToUser;  // between an answer and the next instruction
        std::string userToAssistant;  // between a later instruction and its answer
        std::string suffix;           // after the last answer
    };
    std::variant<std::vector<TextTurn>, std::string> parseShape(const Shape& shape, std::string_view text) const;

    std::string m_name;
    tok::ChatTemplate m_template;
    std::vector<Shape> m_shapes;  // tried in order: without a system message first
    std::string m_unparseable;    // set when the template's output cannot be split at all
};

}  // namespace tsumugi
