// Record formats of JSONL files, parsed into one neutral shape (a conversation tree with
// its rankings, reviews and labels) and written back from it. docs/formats.md shows each.
//
//   messages        {"messages": [{"role": "user", "content": "…"}, …]}        (chat, one path)
//   sharegpt        {"conversations": [{"from": "human", "value": "…"}, …]}   (chat, one path)
//   alpaca          {"instruction": "…", "input": "…", "output": "…"}
//   ichikara        {"ID": "…", "text": "…", "output": "…"}
//   text            {"text": "<one conversation rendered with a named chat template>"}
//   trl-preference  {"prompt": …, "chosen": …, "rejected": …}   strings, or lists of messages
//   trl-kto         {"prompt": …, "completion": …, "label": true}
//   oasst           OpenAssistant's message-tree export (one tree per line, ranks, labels, reviews)
//   tree            Tsumugi's own lossless tree format (docs/tree-format.md)
//
// Fields a format does not know are kept (in meta_json under "_tsumugi", or for oasst as the
// message's own meta fields) and written back, so import → export gives the same records.
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

enum class Format { Messages, Alpaca, Tree, ShareGpt, Oasst, TrlPreference, TrlKto, Text, Ichikara };

std::string_view formatName(Format format);
Format parseFormat(std::string_view name);  // lists the known formats on error
const std::vector<Format>& allFormats();
// Formats whose records carry judgements (rankings, labels, reviews) that go through the
// datastore's checks one record at a time.
bool formatHasJudgements(Format format);

class TextTemplate;

// The label a trl-kto file's "label" becomes: 1 for a desirable completion, 0 for not.
inline constexpr std::string_view kDesirableLabel = "desirable";

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

// An empty annotator (rankings, labels) is the data set itself: a preference or label its
// file states. The importer records those as the account "source:NAME" of the import's source.
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
// The text format needs the chat template its texts were rendered with.
Record parseRecord(Format format, std::string_view lineText, const std::string& file, int64_t line,
                   const TextTemplate* textTemplate = nullptr);

// A fast parser for the flat formats (messages, sharegpt, alpaca) on simdjson. It handles the common
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

// Writers: one record per conversation path (messages, sharegpt, alpaca, ichikara, text),
// per preference pair or completion (trl-preference, trl-kto) or per tree (oasst, tree).
using RecordPath = std::vector<const RecordNode*>;
ojson messagesRecord(const std::vector<const RecordNode*>& path);
ojson sharegptRecord(const RecordPath& path);
// The same record as one JSON line, written directly when no kept fields need merging
// (byte for byte what messagesRecord(path).dump() gives).
std::string messagesLine(const std::vector<const RecordNode*>& path);
// Appends s as a JSON string literal, escaped as nlohmann::json::dump escapes (s is UTF-8).
void appendJsonString(std::string& out, std::string_view s);
// nullopt when the path is not one instruction and one answer (alpaca cannot hold it).
std::optional<ojson> alpacaRecord(const std::vector<const RecordNode*>& path);
// nullopt when the path is not one instruction and one answer. `id` is the ID written when
// the record did not come with one.
std::optional<ojson> ichikaraRecord(const RecordPath& path, const std::string& id);
// Throws Error when the template refuses the conversation.
ojson textRecord(const RecordPath& path, const TextTemplate& textTemplate);
ojson treeRecord(const Record& record, const std::string& treeName);
// One record per strict preference of the consensus (ranked pairs) over each ranked parent's
// rankings, best first.
std::vector<ojson> trlPreferenceRecords(const Record& record);
// One record per assistant message whose desirability is known: the majority of its
// "desirable" labels, else the consensus ranking of its siblings (best group true, worst
// false). `unknown` counts the assistant messages left out.
std::vector<ojson> trlKtoRecords(const Record& record, int64_t& unknown);
// nullopt when the tree does not start with a user message (oasst has no system role).
std::optional<ojson> oasstRecord(const Record& record, const std::string& treeName);

}  // namespace tsumugi
