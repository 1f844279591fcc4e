// Record formats of JSONL files, parsed into one neutral shape (a conversation tree with
// its rankings, reviews and labels) and written back from it.
//
//   messages  {"messages": [{"role": "user", "content": "…"}, …]}      (chat, one path)
//   alpaca    {"instruction": "…", "input": "…", "output": "…"}
//   tree      Tsumugi's own lossless tree format (docs/tree-format.md)
//
// Fields a format does not know are kept (in meta_json under "_tsumugi") and written back,
// so import → export gives the same records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "datastore/messages.h"
#include "datastore/rankings.h"
#include "datastore/reviews.h"

namespace tsumugi {

enum class Format { Messages, Alpaca, Tree };

std::string_view formatName(Format format);
Format parseFormat(std::string_view name);  // lists the known formats on error

using ojson = nlohmann::ordered_json;

struct RecordNode {
    std::string key;
    int parent = -1;  // index into nodes
    MessageRole role = MessageRole::User;
    std::string text;
    std::optional<std::string> author;
    std::optional<Status> status;
    std::optional<Origin> origin;
    ojson meta = ojson::object();  // stored as meta_json (with "_tsumugi" for our own keys)
};

struct RecordRanking {
    int parent = -1;
    std::string annotator;
    RankingVerdict verdict = RankingVerdict::Ranked;
    std::vector<std::vector<int>> groups;
    std::optional<std::string> reason;
};

struct RecordReview {
    int message = -1;
    std::string reviewer;
    ReviewVerdict verdict = ReviewVerdict::Approve;
    std::optional<std::string> comment;
};

struct RecordLabel {
    int message = -1;
    std::string annotator;
    std::string name;
    int64_t value = 0;
};

struct Record {
    std::vector<RecordNode> nodes;  // parents before children; nodes[0] is the root
    std::vector<std::string> tags;
    std::vector<RecordRanking> rankings;
    std::vector<RecordReview> reviews;
    std::vector<RecordLabel> labels;
};

// Parses one line. Throws ParseError(file, line, column, "what, and what was expected").
Record parseRecord(Format format, std::string_view lineText, const std::string& file, int64_t line);

// A fast parser for the flat formats (messages, alpaca) on simdjson. It handles the common
// shape only — known fields, valid values — and returns nullopt for anything else, which the
// caller then gives to parseRecord for the full treatment (extra fields, precise errors).
// Both produce the same Record for the lines both accept (tested).
class FastRecordParser {
public:
    FastRecordParser();
    ~FastRecordParser();
    FastRecordParser(const FastRecordParser&) = delete;
    FastRecordParser& operator=(const FastRecordParser&) = delete;
    std::optional<Record> parse(Format format, std::string_view lineText);

private:
    struct Impl;
    Impl* m_impl;
};

// Writers: one record per conversation path (messages, alpaca) or per tree (tree).
ojson messagesRecord(const std::vector<const RecordNode*>& path);
// The same record as one JSON line, written directly when no kept fields need merging
// (byte for byte what messagesRecord(path).dump() gives).
std::string messagesLine(const std::vector<const RecordNode*>& path);
// Appends s as a JSON string literal, escaped as nlohmann::json::dump escapes (s is UTF-8).
void appendJsonString(std::string& out, std::string_view s);
// nullopt when the path is not one instruction and one answer (alpaca cannot hold it).
std::optional<ojson> alpacaRecord(const std::vector<const RecordNode*>& path);
ojson treeRecord(const Record& record, const std::string& treeName);

}  // namespace tsumugi
