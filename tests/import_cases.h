// JSONL lines for test_import_export. Kept out of the test's .cpp because moc (Qt 6.4)
// loses its place in some of these raw strings.
#pragma once

#include <QByteArray>
#include <QString>

#include <string>
#include <utility>
#include <vector>

#include "export/formats.h"

struct MalformedCase {
    const char* name;
    QByteArray content;
    QString expected;
};

inline std::vector<MalformedCase> malformedCases()
{
    const QByteArray good =
        R"({"messages":[{"role":"user","content":"質問"},{"role":"assistant","content":"答え"}]})";
    const QByteArray tenMegabytes(10 << 20, 'x');
    return {
        {"truncated line", good + "\n" + R"({"messages":[{"role":"user","content":"こんにち)", "in.jsonl:2:"},
        {"wrong type", good + "\n" + R"({"messages":[{"role":"user","content":123}]})",
         "in.jsonl:2: field 'messages[0].content' must be a string, got a number"},
        {"missing role", R"({"messages":[{"role":"user","content":"a"},{"content":"b"}]})",
         "in.jsonl:1: field 'messages[1].role' is missing"},
        {"unknown role", R"({"messages":[{"role":"human","content":"a"}]})", "expected system, user or assistant"},
        {"bad utf-8", good + "\n\n" + "{\"messages\":[{\"role\":\"user\",\"content\":\"\x82\xA0\"}]}",
         "in.jsonl:3:40: invalid UTF-8 at byte 40"},
        {"empty file", QByteArray(), "holds no records"},
        {"blank lines only", "\n  \n\n", "holds no records"},
        {"not an object", "[1,2]", "must be a JSON object"},
        {"assistant first", R"({"messages":[{"role":"assistant","content":"a"}]})", "starts with an assistant message"},
        {"10 MB line", good + "\n" + R"({"messages":[{"role":"user","content":")" + tenMegabytes + R"("}]})",
         "in.jsonl:2: the line is 10485803 bytes, longer than the limit"},
    };
}

// Lines for the fast (simdjson) and full (nlohmann) parsers to agree on: 6 of them have the
// plain shape the fast parser takes.
inline std::vector<std::pair<tsumugi::Format, std::string>> fastParserCases()
{
    using tsumugi::Format;
    return {
        {Format::Messages, R"({"messages":[{"role":"user","content":"猫\n\"引用\" \u3042"},{"role":"assistant","content":"はい"}]})"},
        {Format::Messages, R"({"messages":[{"content":"順番違い","role":"user"},{"role":"assistant","content":"😀"}]})"},
        {Format::Messages, R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"},{"role":"assistant","content":"a"}]})"},
        {Format::Messages, R"({"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"}],"id":1})"},
        {Format::Messages, R"({"messages":[{"role":"user","content":"u","name":"x"}]})"},
        {Format::Messages, R"({"messages":[{"role":"user","content":"u"},{"role":"user","content":"u2"}]})"},
        {Format::Messages, R"({"messages":[{"role":"user","content":"u","role":"assistant"}]})"},
        {Format::Alpaca, R"({"instruction":"訳して","input":"猫","output":"cat"})"},
        {Format::Alpaca, R"({"instruction":"i","input":null,"output":"o"})"},
        {Format::Alpaca, R"({"output":"o","instruction":"i"})"},
        {Format::Alpaca, R"({"instruction":"i","input":"","output":"o","category":"qa"})"},
        {Format::Alpaca, R"({"instruction":"i","output":""})"},
    };
}
