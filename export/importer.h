// Importing JSONL files into a workspace. An import is one transaction: on a bad record
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
    std::optional<std::string> sourceName;
    std::optional<std::string> licence;
    std::optional<std::string> sourceUrl;
    bool redistributable = false;
    Status status = Status::Approved;  // approved (a curated set trains as it is) or submitted (review first)
    bool skipInvalid = false;
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
    std::string rejectsPath;   // set when lines were rejected
    double insertSeconds = 0;  // parsing and writing rows
    double indexSeconds = 0;   // search index and task queue after the rows are in
};

ImportReport importFile(Workspace& ws, const Account& actor, const std::string& path, const ImportOptions& options);

}  // namespace tsumugi
