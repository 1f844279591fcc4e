// The checks run over a workspace or a snapshot: what `tsumugi check` and `tsumugi
// contamination` print. Reads the messages once, then calls the pure checks.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datastore/messages.h"
#include "datastore/quality/check.h"
#include "datastore/quality/contamination.h"
#include "datastore/quality/near_duplicates.h"

namespace tsumugi::quality {

struct Item {
    int64_t id = 0;
    int64_t treeId = 0;
    std::optional<int64_t> parentId;
    MessageRole role = MessageRole::User;
    std::string text;
};

// Messages not deleted, or a snapshot's frozen revisions; by tree, parents first.
std::vector<Item> loadItems(Workspace& ws, const std::optional<std::string>& snapshot = std::nullopt);

struct ItemReport {
    const Item* item = nullptr;
    TextReport report;
    std::optional<LanguageMismatch> language;  // assistant replies, against their prompt
    bool warns() const { return !report.clean() || (language && language->mismatch); }
};

struct DuplicateCluster {
    MessageRole role = MessageRole::User;
    std::vector<int64_t> ids;  // ascending
    bool exact = false;        // every member has the same text
    double minJaccard = 1.0;   // over the verified pairs that joined it
};

struct CheckSummary {
    size_t items = 0;
    ClassCounts totals;  // over every item's prose
    std::map<std::string, size_t> failures;  // rule → items failing it
    std::map<std::string, size_t> pii;       // kind → findings
    size_t ngWordItems = 0, bracketItems = 0, widthItems = 0, nfkcItems = 0, languageMismatches = 0;
    size_t itemsWithWarnings = 0;
    std::vector<DuplicateCluster> clusters;
};

// Checks every item (onItem sees each report as it is made) and clusters near duplicates
// among messages of the same role.
CheckSummary checkItems(const std::vector<Item>& items, const QualityConfig& config,
                        const std::function<void(const ItemReport&)>& onItem = {});

std::vector<DuplicateCluster> duplicateClusters(const std::vector<Item>& items, double threshold);

// Texts of an incoming file (readTextFields) that duplicate or nearly duplicate a message.
// An exact copy of several identical messages is reported once, against the oldest.
struct IncomingDuplicate {
    size_t incoming = 0;  // index into the incoming texts
    int64_t messageId = 0;
    double jaccard = 0;
};
std::vector<IncomingDuplicate> incomingDuplicates(const std::vector<Item>& items, const std::vector<EvalText>& incoming,
                                                  double threshold);

struct ContaminatedItem {
    int64_t id = 0;
    ContaminationHit hit;
    std::string shared;  // the item's text over the shared span
};
std::vector<ContaminatedItem> findContamination(const std::vector<Item>& items, const ContaminationIndex& index);

}  // namespace tsumugi::quality
