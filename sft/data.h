// SFT data: a snapshot's conversation trees → training paths → chat template → token ids with a
// loss mask → packed (or padded) rows. No LibTorch here: rows are plain vectors, turned into
// tensors by the recipe.
//
// Paths. Each root-to-leaf path of a tree becomes one example, cut after its last assistant
// turn. Where a parent has several assistant replies in the snapshot:
//   consensus (default): replies in the consensus best group (ranked pairs over the latest
//       ranking of each annotator in the snapshot, verdict "ranked") are followed; an unranked
//       parent's replies are all followed;
//   all: every reply is followed;
//   best: one path per tree — at each step the consensus best reply (lowest id among ties and
//       among unranked replies).
// The snapshot's filter already decided which statuses are in (approved by default).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tokenizer/chat.h"

namespace tsumugi {
class Workspace;
}

namespace tsumugi::sft {

enum class PathSelection { Consensus, All, Best };
PathSelection parsePathSelection(const std::string& name);  // consensus | all | best

struct ConversationPath {
    int64_t treeId = 0;
    std::vector<int64_t> messageIds;  // root first
    std::vector<tok::ChatMessage> messages;
    std::string split;
};

struct PathReport {
    int64_t trees = 0;
    int64_t treesWithoutAssistant = 0;  // a prompt nobody answered (in the snapshot)
    int64_t paths = 0;
    int64_t rankedBranches = 0;    // parents whose replies a consensus chose among
    int64_t unrankedBranches = 0;  // parents with several replies and no ranking
};

std::vector<ConversationPath> snapshotPaths(Workspace& ws, int64_t snapshotId, PathSelection selection,
                                            PathReport* report = nullptr);

// --- tokenized examples --------------------------------------------------------------------------

enum class Overlong { Drop, Truncate };
Overlong parseOverlong(const std::string& name);  // drop | truncate

struct Example {
    std::vector<int32_t> ids;
    std::vector<uint8_t> lossMask;  // 1: the token is a target (predicted from the one before)
    int64_t treeId = 0;
};

struct EncodeReport {
    int64_t examples = 0;
    int64_t dropped = 0;             // longer than seqLen (Overlong::Drop)
    int64_t truncated = 0;           // cut to seqLen (Overlong::Truncate)
    int64_t droppedNoLossTokens = 0;  // nothing left to learn after truncation
    int64_t tokens = 0;
    int64_t lossTokens = 0;
};

// allTokens: every token is a target (continued pretraining style), not only the assistant's.
std::vector<Example> encodePaths(const std::vector<ConversationPath>& paths, const tok::ChatTemplate& chatTemplate,
                                 const tok::Tokenizer& tokenizer, const tok::SpecialTokens& special, int64_t seqLen,
                                 Overlong overlong, bool allTokens, EncodeReport* report = nullptr);

// --- rows ------------------------------------------------------------------------------------------

// One training row of exactly seqLen positions: ids, position ids (restarting at 0 for each
// packed document, continuing through the padding at the end), labels (the next token where it is
// a target of the same document, else -100), attention (1 token, 0 padding).
struct Row {
    std::vector<int64_t> ids, positions, labels, attention;
    int64_t documents = 0;
    int64_t lossTokens() const;
};

// Packing: examples into rows of seqLen by best-fit decreasing (the fullest row that still has
// room); the order of rows is then shuffled by the recipe. → rows; `efficiency` gets the share of
// non-padding positions.
std::vector<Row> packExamples(const std::vector<Example>& examples, int64_t seqLen, int64_t padId,
                              double* efficiency = nullptr);
// Padding: one example per row, rows of one batch padded to the batch's longest (not seqLen);
// examples sorted by length into buckets of batchSize so little is padding. → batches of rows.
std::vector<std::vector<Row>> bucketExamples(const std::vector<Example>& examples, int64_t batchSize, int64_t padId,
                                             double* efficiency = nullptr);

// The example with its mask shown: target tokens in 【】, so template mistakes are seen.
std::string showMask(const Example& example, const tok::Tokenizer& tokenizer);

}  // namespace tsumugi::sft
