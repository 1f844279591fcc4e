// Exporting a snapshot: one file per split (OUT/train.jsonl, OUT/test.jsonl, …), each
// written to a temporary file and renamed into place, so a failed export leaves no
// half-written file behind. Reads exactly the revisions the snapshot froze.
//
// Licences: a snapshot holding messages from a source not marked redistributable is refused
// before anything is written, unless allowRestricted; the dataset card then says so.
// With hfDataset the folder is a Hugging Face dataset: the split files plus README.md, a
// dataset card written from the data (export/dataset_card.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "datastore/accounts.h"
#include "export/formats.h"

namespace tsumugi {

struct ExportOptions {
    Format format = Format::Messages;
    std::string snapshot;
    std::string outDir;
    std::string extension = ".jsonl";  // ".jsonl.gz" and ".jsonl.zst" compress
    std::optional<std::string> textTemplate;  // the text format: a named chat template
    bool allowRestricted = false;  // export messages of sources that may not be redistributed
    bool hfDataset = false;        // also write README.md, the dataset card
    std::string prettyName;        // the card's title; default "Tsumugi snapshot NAME"
    std::string cardLicence;       // the card's `license:` (a Hub id); default from the sources
    // Sections added to the dataset card (title, Markdown body), after those written from the
    // snapshot: other components (quality filters, evaluations) put their results here.
    std::vector<std::pair<std::string, std::string>> extraCardSections;
    std::function<void(int64_t)> progress;  // records written so far
};

// Where the snapshot's messages came from: one entry per source, plus those written in the
// workspace itself (no source).
struct SourceUse {
    std::string name;
    std::string licence;
    bool redistributable = false;
    std::optional<std::string> url;
    int64_t messages = 0;
};
struct SnapshotProvenance {
    std::vector<SourceUse> sources;
    int64_t workspaceMessages = 0;
    std::vector<const SourceUse*> restricted() const;
};
SnapshotProvenance snapshotProvenance(Workspace& ws, int64_t snapshotId);

struct ExportReport {
    std::map<std::string, int64_t> recordsPerSplit;
    std::map<std::string, std::string> files;
    int64_t trees = 0;
    // What the format cannot hold: multi-turn paths (alpaca, ichikara), paths the template
    // refuses (text), trees without a ranked pair (trl-preference), completions of unknown
    // desirability (trl-kto), trees that start with a system message (oasst).
    int64_t skippedPaths = 0;
    SnapshotProvenance provenance;
    int64_t restrictedMessages = 0;  // exported under allowRestricted
    std::string cardPath;            // README.md with hfDataset
};

ExportReport exportSnapshot(Workspace& ws, const ExportOptions& options);

// The snapshot's trees as records (with rankings, reviews of the frozen revisions, labels
// and tags), one call per tree, in tree order. Used by the exporter and by tests.
void forEachSnapshotTree(Workspace& ws, int64_t snapshotId,
                         const std::function<void(const Record&, const std::string& treeName, const std::string& split)>& fn);

}  // namespace tsumugi
