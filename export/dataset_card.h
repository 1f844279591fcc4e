// The dataset card (README.md) of a Hugging Face dataset folder: the YAML header the Hub reads
// (license, language, task_categories, size_categories, configs with the split files,
// pretty_name) and a body written from the snapshot — how the data was collected, who wrote,
// ranked, reviewed and labelled it, agreement between annotators, sources and licences, and
// the snapshot's hash. Facts are gathered first (datasetCardFacts) and rendered apart
// (renderDatasetCard), so the rendering is tested on facts written by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "export/exporter.h"

namespace tsumugi {

struct Snapshot;

struct CardAgreement {
    std::string between;  // "sato ~ suzuki", or a label name
    int64_t items = 0;    // parents both ranked, or messages with two or more values
    std::optional<double> value;
};

struct DatasetCardFacts {
    std::string prettyName;
    std::string licenceId;  // the Hub's id: cc-by-sa-4.0, other, unknown, …
    Format format = Format::Messages;
    std::optional<std::string> textTemplate;
    std::string snapshotName;
    std::string snapshotHash;
    std::string snapshotCreatedAt;
    std::vector<std::pair<std::string, std::string>> splitFiles;  // split → file name in the folder
    std::vector<std::pair<std::string, int64_t>> recordsPerSplit;
    int64_t trees = 0;
    int64_t messages = 0;
    int64_t skipped = 0;
    std::vector<std::pair<std::string, int64_t>> byOrigin;  // human, model, import
    std::vector<std::pair<std::string, int64_t>> byRole;
    std::vector<std::pair<std::string, int64_t>> byStatus;
    int64_t authors = 0;  // accounts that wrote messages (the service account excluded)
    int64_t rankings = 0, rankers = 0;
    int64_t reviews = 0, reviewers = 0;
    int64_t labels = 0, labellers = 0;
    std::vector<CardAgreement> rankingAgreement;  // Kendall's τ-b per pair of rankers
    std::vector<CardAgreement> labelAgreement;    // Krippendorff's α per label (the snapshot's messages)
    SnapshotProvenance provenance;
    bool restrictedIncluded = false;
    std::vector<std::pair<std::string, std::string>> extraSections;
};

DatasetCardFacts datasetCardFacts(Workspace& ws, const Snapshot& snapshot, const ExportOptions& options,
                                  const ExportReport& report);
std::string renderDatasetCard(const DatasetCardFacts& facts);

// The Hub's licence id for the sources' licences: the one licence they share when the Hub
// knows it, "other" when they differ or it is not a Hub id, "unknown" when none was given.
std::string hubLicenceId(const SnapshotProvenance& provenance);
// The Hub's size category: "n<1K", "1K<n<10K", … "n>1T".
std::string sizeCategory(int64_t records);

}  // namespace tsumugi
