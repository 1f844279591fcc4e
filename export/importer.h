// Importing JSONL files into a workspace (every format of formats.h). An import is one transaction: on a bad record
// nothing is written, unless skipInvalid, which writes the valid records and puts each
// rejected line, with its reason, into a .rejects.jsonl file. Text is stored byte for byte.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "datastore/accounts.h"
#include "datastore/messages.h"
#include "export/formats.h"

namespace tsumugi {

struct ImportOptions {
    Format format = Format::Messages;
    std::vector<std::string> tags;
    // Provenance. Every import records a source; without a name it is named after the file,
    // with licence "unspecified", and counts as redistributable only when redistributable is
    // set. Preferences and labels the file states (trl-preference, trl-kto, oasst ranks) are
    // recorded as the judgements of the account "source:NAME".
    std::optional<std::string> sourceName;
    std::optional<std::string> licence;
    std::optional<std::string> sourceUrl;
    bool redistributable = false;
    Status status = Status::Approved;  // approved (a curated set trains as it is) or submitted (review first)
    bool skipInvalid = false;
    std::optional<std::string> textTemplate;  // the text format: the named chat template its texts use
    std::string rejectsPath;  // default: FILE.rejects.jsonl
    size_t maxLineBytes = 4 << 20;
    // Called now and then with (records so far, bytes read so far).
    std::function<void(int64_t, uint64_t)> progress;
};

struct ImportReport {
    int64_t records = 0;
    int64_t messages = 0;
    int64_t rejected = 0;
    int64_t rankings = 0;
    int64_t reviews = 0;
    int64_t labels = 0;
    int64_t firstMessageId = 0;
    std::string sourceName;    // the source recorded for the imported messages
    std::string rejectsPath;   // set when lines were rejected
    double insertSeconds = 0;  // parsing and writing rows
    double indexSeconds = 0;   // search index and task queue after the rows are in
};

// The licence recorded for an import that names none.
inline constexpr std::string_view kUnspecifiedLicence = "unspecified";

// The account whose rankings and labels are those a data set states ("source:NAME").
std::string sourceJudgeName(const std::string& sourceName);

ImportReport importFile(Workspace& ws, const Account& actor, const std::string& path, const ImportOptions& options);

}  // namespace tsumugi
