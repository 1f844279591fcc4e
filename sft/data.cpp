#include "sft/data.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "core/error.h"
#include "datastore/consensus.h"
#include "datastore/rankings.h"
#include "datastore/snapshots.h"

namespace tsumugi::sft {

PathSelection parsePathSelection(const std::string& name)
{
    if (name == "consensus") return PathSelection::Consensus;
    if (name == "all") return PathSelection::All;
    if (name == "best") return PathSelection::Best;
    throw Error("unknown path selection \"" + name + "\"; use consensus, all or best");
}

Overlong parseOverlong(const std::string& name)
{
    if (name == "drop") return Overlong::Drop;
    if (name == "truncate") return Overlong::Truncate;
    throw Error("unknown over-long handling \"" + name + "\"; use drop or truncate");
}

namespace {

// The consensus order of each ranked parent's replies, restricted to replies in the snapshot.
std::map<int64_t, Groups> snapshotConsensus(Workspace& ws, int64_t snapshotId, const std::set<int64_t>& inSnapshot)
{
    std::map<std::pair<int64_t, int64_t>, Ranking> latest;  // (parent, annotator) → newest ranking
    for (int64_t id : snapshotRankingIds(ws, snapshotId)) {
        Ranking r = rankingById(ws, id);
        if (r.verdict != RankingVerdict::Ranked) continue;
        auto key = std::make_pair(r.parentId, r.annotatorId);
        if (auto it = latest.find(key); it == latest.end() || it->second.id < r.id) latest[key] = std::move(r);
    }
    std::map<int64_t, std::vector<Groups>> byParent;
    for (auto& [key, r] : latest) {
        Groups kept;
        for (const auto& group : r.groups) {
            std::vector<int64_t> g;
            for (int64_t c : group)
                if (inSnapshot.count(c)) g.push_back(c);
            if (!g.empty()) kept.push_back(g);
        }
        if (!kept.empty()) byParent[key.first].push_back(kept);
    }
    std::map<int64_t, Groups> out;
    for (auto& [parent, rankings] : byParent) out[parent] = rankedPairs(rankings);
    return out;
}

}  // namespace

std::vector<ConversationPath> snapshotPaths(Workspace& ws, int64_t snapshotId, PathSelection selection,
                                            PathReport* report)
{
    std::vector<SnapshotMessage> messages;
    forEachSnapshotMessage(ws, snapshotId, [&](const SnapshotMessage& m) { messages.push_back(m); });
    std::map<int64_t, size_t> index;
    std::set<int64_t> ids;
    for (size_t i = 0; i < messages.size(); ++i) {
        index[messages[i].id] = i;
        ids.insert(messages[i].id);
    }
    std::map<int64_t, std::vector<int64_t>> children;  // parent → children, by id
    std::vector<int64_t> roots;
    for (const auto& m : messages) {
        if (m.parentId && ids.count(*m.parentId))
            children[*m.parentId].push_back(m.id);
        else if (!m.parentId)
            roots.push_back(m.id);
    }
    for (auto& [p, c] : children) std::sort(c.begin(), c.end());
    const std::map<int64_t, Groups> consensus = snapshotConsensus(ws, snapshotId, ids);

    PathReport r;
    std::vector<ConversationPath> paths;
    // Which children of `parent` to follow.
    auto follow = [&](int64_t parent) -> std::vector<int64_t> {
        const auto& c = children[parent];
        if (c.size() < 2 || selection == PathSelection::All) return c;
        auto it = consensus.find(parent);
        if (it == consensus.end() || it->second.empty()) {
            ++r.unrankedBranches;
            return selection == PathSelection::Best ? std::vector<int64_t>{c.front()} : c;
        }
        ++r.rankedBranches;
        std::vector<int64_t> best = it->second.front();
        std::sort(best.begin(), best.end());
        if (selection == PathSelection::Best) best.resize(1);
        return best;
    };
    for (int64_t root : roots) {
        ++r.trees;
        const size_t before = paths.size();
        std::vector<int64_t> stack{root};
        std::vector<std::vector<int64_t>> prefixes{{root}};
        // Depth first over the followed children; a leaf closes a path.
        while (!prefixes.empty()) {
            std::vector<int64_t> prefix = std::move(prefixes.back());
            prefixes.pop_back();
            const std::vector<int64_t> next = follow(prefix.back());
            if (!next.empty()) {
                for (auto it = next.rbegin(); it != next.rend(); ++it) {
                    std::vector<int64_t> p = prefix;
                    p.push_back(*it);
                    prefixes.push_back(std::move(p));
                }
                continue;
            }
            while (!prefix.empty() && messages[index[prefix.back()]].role != MessageRole::Assistant) prefix.pop_back();
            if (prefix.empty()) continue;
            ConversationPath path;
            path.treeId = messages[index[root]].treeId;
            path.split = messages[index[root]].split;
            for (int64_t id : prefix) {
                const SnapshotMessage& m = messages[index[id]];
                path.messageIds.push_back(id);
                path.messages.push_back({std::string(messageRoleName(m.role)), m.text});
            }
            // The same prefix can close twice (a user leaf after the assistant); keep it once.
            if (paths.size() > before && paths.back().messageIds == path.messageIds) continue;
            paths.push_back(std::move(path));
        }
        if (paths.size() == before) ++r.treesWithoutAssistant;
    }
    r.paths = int64_t(paths.size());
    if (report) *report = r;
    return paths;
}

std::vector<Example> encodePaths(const std::vector<ConversationPath>& paths, const tok::ChatTemplate& chatTemplate,
                                 const tok::Tokenizer& tokenizer, const tok::SpecialTokens& special, int64_t seqLen,
                                 Overlong overlong, bool allTokens, EncodeReport* report)
{
    EncodeReport r;
    std::vector<Example> out;
    for (const auto& path : paths) {
        tok::ChatEncoding enc = tok::encodeChat(chatTemplate, path.messages, tokenizer, special);
        Example e{std::move(enc.ids), std::move(enc.lossMask), path.treeId};
        if (allTokens) std::fill(e.lossMask.begin(), e.lossMask.end(), uint8_t(1));
        if (int64_t(e.ids.size()) > seqLen) {
            if (overlong == Overlong::Drop) {
                ++r.dropped;
                continue;
            }
            e.ids.resize(size_t(seqLen));
            e.lossMask.resize(size_t(seqLen));
            ++r.truncated;
        }
        // The first token is never a target (nothing comes before it).
        const int64_t targets = std::accumulate(e.lossMask.begin() + 1, e.lossMask.end(), int64_t(0));
        if (targets == 0) {
            ++r.droppedNoLossTokens;
            continue;
        }
        r.tokens += int64_t(e.ids.size());
        r.lossTokens += targets;
        out.push_back(std::move(e));
    }
    r.examples = int64_t(out.size());
    if (report) *report = r;
    return out;
}

int64_t Row::lossTokens() const
{
    return std::count_if(labels.begin(), labels.end(), [](int64_t l) { return l != -100; });
}

namespace {

void appendDocument(Row& row, const Example& e)
{
    const size_t n = e.ids.size();
    for (size_t t = 0; t < n; ++t) {
        row.ids.push_back(e.ids[t]);
        row.positions.push_back(int64_t(t));
        row.labels.push_back(t + 1 < n && e.lossMask[t + 1] ? int64_t(e.ids[t + 1]) : int64_t(-100));
        row.attention.push_back(1);
    }
    ++row.documents;
}

void padRow(Row& row, int64_t length, int64_t padId)
{
    int64_t position = 0;
    while (int64_t(row.ids.size()) < length) {
        row.ids.push_back(padId);
        row.positions.push_back(position++);
        row.labels.push_back(-100);
        row.attention.push_back(0);
    }
}

}  // namespace

std::vector<Row> packExamples(const std::vector<Example>& examples, int64_t seqLen, int64_t padId, double* efficiency)
{
    std::vector<size_t> order(examples.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return examples[a].ids.size() > examples[b].ids.size(); });
    // Best fit: the row with the least room that still fits (a multimap from room to row).
    std::multimap<int64_t, size_t> room;
    std::vector<std::vector<size_t>> bins;
    for (size_t i : order) {
        const int64_t n = int64_t(examples[i].ids.size());
        if (n > seqLen) throw Error("packing: an example of " + std::to_string(n) + " tokens exceeds the row length " +
                                    std::to_string(seqLen));
        auto it = room.lower_bound(n);
        size_t bin;
        int64_t left;
        if (it == room.end()) {
            bin = bins.size();
            bins.emplace_back();
            left = seqLen;
        } else {
            bin = it->second;
            left = it->first;
            room.erase(it);
        }
        bins[bin].push_back(i);
        left -= n;
        if (left > 0) room.emplace(left, bin);
    }
    std::vector<Row> rows;
    int64_t used = 0;
    for (auto& bin : bins) {
        std::sort(bin.begin(), bin.end());  // documents in their original order within a row
        Row row;
        for (size_t i : bin) appendDocument(row, examples[i]);
        used += int64_t(row.ids.size());
        padRow(row, seqLen, padId);
        rows.push_back(std::move(row));
    }
    if (efficiency) *efficiency = rows.empty() ? 1.0 : double(used) / double(int64_t(rows.size()) * seqLen);
    return rows;
}

std::vector<std::vector<Row>> bucketExamples(const std::vector<Example>& examples, int64_t batchSize, int64_t padId,
                                             double* efficiency)
{
    std::vector<size_t> order(examples.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return examples[a].ids.size() < examples[b].ids.size(); });
    std::vector<std::vector<Row>> batches;
    int64_t used = 0, total = 0;
    for (size_t start = 0; start < order.size(); start += size_t(batchSize)) {
        const size_t end = std::min(order.size(), start + size_t(batchSize));
        const int64_t longest = int64_t(examples[order[end - 1]].ids.size());
        std::vector<Row> batch;
        for (size_t k = start; k < end; ++k) {
            Row row;
            appendDocument(row, examples[order[k]]);
            used += int64_t(row.ids.size());
            padRow(row, longest, padId);
            total += longest;
            batch.push_back(std::move(row));
        }
        batches.push_back(std::move(batch));
    }
    if (efficiency) *efficiency = total == 0 ? 1.0 : double(used) / double(total);
    return batches;
}

std::string showMask(const Example& e, const tok::Tokenizer& tokenizer)
{
    // Decoded a span at a time (a character split over byte-fallback pieces stays whole);
    // special tokens are shown by name.
    std::string out;
    std::vector<int32_t> span;
    bool spanTarget = false;
    auto flush = [&] {
        if (span.empty()) return;
        std::string text;
        std::vector<int32_t> plain;
        for (int32_t id : span) {
            if (tokenizer.isSpecial(id)) {
                text += tokenizer.decode(plain) + tokenizer.idToToken(id);
                plain.clear();
            } else {
                plain.push_back(id);
            }
        }
        text += tokenizer.decode(plain);
        out += spanTarget ? "【" + text + "】" : text;
        span.clear();
    };
    for (size_t i = 0; i < e.ids.size(); ++i) {
        const bool target = i > 0 && e.lossMask[i];
        if (target != spanTarget) flush();
        spanTarget = target;
        span.push_back(e.ids[i]);
    }
    flush();
    return out;
}

}  // namespace tsumugi::sft
