// Chat templates: the named ones (resources/templates/*.jinja: llama2-ja, calm, llm-jp,
// alpaca-ja, chatml) and a model's own Jinja `chat_template`, rendered by our Jinja
// interpreter (jinja.h) to text, and to token ids with a loss mask over the assistant turns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace tsumugi::tok {

struct ChatMessage {
    std::string role;  // system, user, assistant
    std::string content;
};

class ChatTemplate {
public:
    // A model's own template (tokenizer_config.json "chat_template"); parse errors name `origin`.
    static ChatTemplate fromJinja(std::string source, std::string origin);
    // llama2-ja, calm, llm-jp, alpaca-ja, chatml; throws Error listing the names otherwise.
    static ChatTemplate named(std::string_view name);
    static std::vector<std::string> namedTemplates();

    // bos_token / eos_token come from the tokenizer's SpecialTokens.
    std::string render(const std::vector<ChatMessage>& messages, const SpecialTokens& special,
                       bool addGenerationPrompt) const;
    const std::string& source() const { return m_source; }
    const std::string& name() const { return m_origin; }

private:
    std::string m_source;
    std::string m_origin;
    std::shared_ptr<const void> m_program;  // the parsed template (jinja.h)
};

struct ChatEncoding {
    std::vector<int32_t> ids;
    std::vector<uint8_t> lossMask;  // 1 for assistant tokens and the EOS / end-of-turn after them
};

// Renders and tokenizes a conversation. BOS comes from the template when it writes one,
// otherwise once when the tokenizer adds BOS by default — never twice. Every assistant turn,
// with the end-of-turn token the template puts after it, is 1 in the mask (also when
// pad == eos).
ChatEncoding encodeChat(const ChatTemplate& chatTemplate, const std::vector<ChatMessage>& messages,
                        const Tokenizer& tokenizer, const SpecialTokens& special, bool addGenerationPrompt = false);

// Writes `chat_template` into DIR/tokenizer_config.json (created when missing, other keys
// kept), so transformers and vLLM format prompts the way the model was trained.
void writeChatTemplate(const std::string& directory, const ChatTemplate& chatTemplate);

}  // namespace tsumugi::tok
