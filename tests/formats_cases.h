// Lines for test_formats: malformed records of each format with the error each must give.
// Kept out of the test's .cpp because moc (Qt 6.4) loses its place in some raw strings.
#pragma once

#include <QByteArray>
#include <QString>

#include <vector>

#include "export/formats.h"

struct FormatMalformedCase {
    const char* name;
    tsumugi::Format format;
    QByteArray content;
    QString expected;  // after "FILE:"
};

inline std::vector<FormatMalformedCase> formatMalformedCases()
{
    using tsumugi::Format;
    const QByteArray goodShareGpt = R"({"conversations":[{"from":"human","value":"質問"},{"from":"gpt","value":"答え"}]})";
    return {
        {"sharegpt unknown from", Format::ShareGpt,
         goodShareGpt + "\n" + R"({"conversations":[{"from":"bot","value":"a"}]})",
         "2: field 'conversations[0].from' is 'bot'; expected system, human or gpt"},
        {"sharegpt value not a string", Format::ShareGpt,
         R"({"conversations":[{"from":"human","value":["a"]}]})",
         "1: field 'conversations[0].value' must be a string, got an array"},
        {"sharegpt lone surrogate", Format::ShareGpt,
         goodShareGpt + "\r\n" + R"({"conversations":[{"from":"human","value":"\ud83d"}]})", "2:"},
        {"ichikara missing output", Format::Ichikara, R"({"ID":"1","text":"質問"})", "1: field 'output' is missing"},
        {"ichikara ID object", Format::Ichikara, R"({"ID":{},"text":"q","output":"a"})",
         "1: field 'ID' must be a string or an integer"},
        {"trl-preference implicit prompt", Format::TrlPreference,
         R"({"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"rejected":[]})",
         "1: field 'prompt' is missing; Tsumugi reads TRL's explicit-prompt form"},
        {"trl-preference mixed forms", Format::TrlPreference,
         R"({"prompt":"q","chosen":[{"role":"assistant","content":"a"}],"rejected":"b"})",
         "1: field 'chosen' must be a string like 'prompt' (standard form)"},
        {"trl-preference two chosen messages", Format::TrlPreference,
         R"({"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"},{"role":"user","content":"b"}],"rejected":[{"role":"assistant","content":"c"}]})",
         "1: field 'chosen' must be an array holding one {\"role\": \"assistant\", \"content\"} message"},
        {"trl-preference prompt ends with assistant", Format::TrlPreference,
         R"({"prompt":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"chosen":[{"role":"assistant","content":"b"}],"rejected":[{"role":"assistant","content":"c"}]})",
         "1: field 'prompt' must end with a user message"},
        {"trl-kto label string", Format::TrlKto, R"({"prompt":"q","completion":"a","label":"true"})",
         "1: field 'label' must be true (a desirable completion) or false, got a string"},
        {"trl-kto empty completion", Format::TrlKto, R"({"prompt":"q","completion":"","label":true})",
         "1: field 'completion' is empty"},
        {"oasst system role", Format::Oasst,
         R"({"message_tree_id":"t","prompt":{"message_id":"t","text":"q","role":"system"}})",
         "1: field 'prompt.role' is 'system'; expected prompter or assistant"},
        {"oasst wrong parent_id", Format::Oasst,
         R"({"message_tree_id":"t","prompt":{"message_id":"t","text":"q","role":"prompter","replies":[{"message_id":"a","parent_id":"x","text":"b","role":"assistant"}]}})",
         "1: field 'prompt.replies[0].parent_id' is 'x' but the message sits in the replies of 't'"},
        {"oasst bad rank", Format::Oasst,
         R"({"prompt":{"message_id":"t","text":"q","role":"prompter","replies":[{"message_id":"a","text":"b","role":"assistant","rank":-1}]}})",
         "1: field 'prompt.replies[0].rank' must be a whole number from 0 (best) or null"},
        {"oasst assistant answers assistant", Format::Oasst,
         R"({"prompt":{"message_id":"t","text":"q","role":"prompter","replies":[{"message_id":"a","text":"b","role":"assistant","replies":[{"message_id":"c","text":"d","role":"assistant"}]}]}})",
         "1: message 3 (assistant) follows a assistant message"},
        {"oasst duplicate id", Format::Oasst,
         R"({"prompt":{"message_id":"t","text":"q","role":"prompter","replies":[{"message_id":"t","text":"b","role":"assistant"}]}})",
         "1: field 'prompt.replies[0].message_id': 't' is used twice"},
        {"text without the template's markers", Format::Text, R"({"text":"ただの文章です。"})",
         "1: field 'text' cannot be split into turns with the llm-jp template"},
        {"text without an answer", Format::Text,
         R"({"text":"以下は、タスクを説明する指示です。要求を適切に満たす応答を書きなさい。\n\n### 指示:\n質問だけで応答がありません。"})",
         "1: field 'text' cannot be split into turns with the llm-jp template: the user turn is not followed by the "
         "template's marker '\\n\\n### 応答:\\n'"},
    };
}
