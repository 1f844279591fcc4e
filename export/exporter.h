// Exporting a snapshot: one file per split (OUT/train.jsonl, OUT/test.jsonl, …), each
// written to a temporary file and renamed into place, so a failed export leaves no
// half-written file behind. Reads exactly the revisions the snapshot froze.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "datastore/accounts.h"
#include "export/formats.h"

namespace tsumugi {

struct ExportOptions {
    Format format = Format::Messages;
    std::string snapshot;
    std::string outDir;
    std::string extension = ".jsonl";  // ".jsonl.gz" and ".jsonl.zst" compress
    std::function<void(int64_t)> progress;  // records written so far
};

struct ExportReport {
    std::map<std::string, int64_t> recordsPerSplit;
    std::map<std::string, std::string> files;
    int64_t trees = 0;
    int64_t skippedPaths = 0;  // conversations the format cannot hold (alpaca: multi-turn)
};

ExportReport exportSnapshot(Workspace& ws, const ExportOptions& options);

// The snapshot's trees as records (with rankings, reviews of the frozen revisions, labels
// and tags), one call per tree, in tree order. Used by the exporter and by tests.
void forEachSnapshotTree(Workspace& ws, int64_t snapshotId,
                         const std::function<void(const Record&, const std::string& treeName, const std::string& split)>& fn);

}  // namespace tsumugi
