// Snapshots: a filter over the workspace frozen into a content-hashed set. Each item is a
// message with the revision and text hash it had; the rankings of its parents are listed;
// the split (train/test/…) is decided per conversation tree when the snapshot is made, so a
// tree never straddles two splits. Later edits and rankings never change a snapshot:
// exporters and trainers read exactly the revisions it froze.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "datastore/messages.h"

namespace tsumugi {

struct SnapshotFilter {
    // A message is in when its status is one of these and its parent is in (paths stay
    // whole). Default: approved.
    std::vector<Status> statuses{Status::Approved};
    std::vector<std::string> tags;           // trees whose root carries any of these
    std::optional<std::string> createdFrom;  // root created at or after (ISO-8601)
    std::optional<std::string> createdTo;    // root created before
    // Trees in which some parent with two or more included replies has fewer rankings
    // (distinct annotators, verdict 'ranked') than this are left out.
    int minRankings = 0;
    // Near duplicates: keep one tree per cluster of trees whose texts (the included
    // messages, joined in id order) have character 5-gram Jaccard similarity ≥ this; the
    // oldest tree (smallest root id) stays. Unset: no deduplication.
    std::optional<double> dedupThreshold;
    // Contamination: leave out messages (with what hangs below them) that share a run of
    // contaminationNgram non-whitespace characters with a text of these evaluation files
    // (datastore/quality/contamination.h reads their layouts).
    std::vector<std::string> excludeContaminated;
    size_t contaminationNgram = 50;
};

struct SplitSpec {
    std::vector<std::pair<std::string, double>> parts{{"train", 1.0}};
    std::string seed;  // empty: the snapshot's name
};

// "train=0.9,test=0.1" → parts; throws Error on bad syntax or fractions that do not sum to 1.
SplitSpec parseSplitSpec(const std::string& text);
// "status=approved,submitted;tag=要約;from=2026-01-01;to=2026-12-01;min_rankings=2"
// also "dedup=0.8;exclude_contaminated=elyza-tasks-100.jsonl,mt-bench-ja.jsonl;contamination_ngram=50"
SnapshotFilter parseSnapshotFilter(const std::string& text);

struct Snapshot {
    int64_t id = 0;
    std::string name;
    std::string contentHash;
    std::string filterJson;
    std::string splitJson;
    std::string createdAt;
};

struct SnapshotItem {
    int64_t messageId = 0;
    int64_t revision = 0;
    std::string textHash;
    std::string split;
};

// What a snapshot holds, with the text of the frozen revision.
struct SnapshotMessage {
    int64_t id = 0;
    std::optional<int64_t> parentId;
    int64_t treeId = 0;
    MessageRole role = MessageRole::User;
    std::string text;
    int64_t revision = 0;
    int64_t authorId = 0;
    Status status = Status::Approved;  // the status now (statuses are not frozen)
    Origin origin = Origin::Human;
    std::optional<std::string> metaJson;
    std::string split;
};

struct SnapshotCounts {
    std::vector<std::pair<std::string, int64_t>> treesPerSplit;
    std::vector<std::pair<std::string, int64_t>> messagesPerSplit;
    int64_t rankings = 0;
};

// Admin or service. Throws ConflictError when the name is taken, Error when nothing matches.
Snapshot createSnapshot(Workspace& ws, const Account& actor, const std::string& name, const SnapshotFilter& filter,
                        const SplitSpec& split);
std::vector<Snapshot> listSnapshots(Workspace& ws);
Snapshot snapshotByName(Workspace& ws, const std::string& name);
std::vector<SnapshotItem> snapshotItems(Workspace& ws, int64_t snapshotId);
std::vector<int64_t> snapshotRankingIds(Workspace& ws, int64_t snapshotId);
SnapshotCounts snapshotCounts(Workspace& ws, int64_t snapshotId);
// Streams the snapshot's messages by tree, parents before children.
void forEachSnapshotMessage(Workspace& ws, int64_t snapshotId, const std::function<void(const SnapshotMessage&)>& fn);

std::string sha256Hex(std::string_view data);

}  // namespace tsumugi
