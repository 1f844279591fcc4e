#include "export/exporter.h"

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "core/error.h"
#include "datastore/rankings.h"
#include "datastore/reviews.h"
#include "datastore/snapshots.h"
#include "datastore/workspace.h"
#include "export/jsonl.h"

namespace tsumugi {

namespace {

class Names {
public:
    explicit Names(Workspace& ws) : m_ws(ws) {}
    const std::string& operator()(int64_t accountId)
    {
        auto it = m_names.find(accountId);
        if (it == m_names.end()) it = m_names.emplace(accountId, accountById(m_ws, accountId).name).first;
        return it->second;
    }

private:
    Workspace& m_ws;
    std::map<int64_t, std::string> m_names;
};

}  // namespace

void forEachSnapshotTree(Workspace& ws, int64_t snapshotId,
                         const std::function<void(const Record&, const std::string&, const std::string&)>& fn)
{
    // Rankings frozen with the snapshot, by parent.
    std::map<int64_t, std::vector<Ranking>> rankingsByParent;
    for (int64_t id : snapshotRankingIds(ws, snapshotId)) {
        Ranking r = rankingById(ws, id);
        rankingsByParent[r.parentId].push_back(std::move(r));
    }
    Names names(ws);
    // Prepared once for the whole export; skipped entirely when the workspace has none.
    auto reviewsAt = ws.db().prepare("SELECT reviewer_id, verdict, comment FROM reviews WHERE message_id = ? "
                                     "AND revision = ? ORDER BY id");
    auto labelsOn = ws.db().prepare("SELECT annotator_id, name, value FROM labels WHERE message_id = ? "
                                    "ORDER BY annotator_id, name");
    auto tagsOn = ws.db().prepare("SELECT t.name FROM message_tags mt JOIN tags t ON t.id = mt.tag_id "
                                  "WHERE mt.message_id = ? ORDER BY t.name");
    const bool anyReviews = ws.db().queryInt("SELECT EXISTS (SELECT 1 FROM reviews)") != 0;
    const bool anyLabels = ws.db().queryInt("SELECT EXISTS (SELECT 1 FROM labels)") != 0;
    const bool anyTags = ws.db().queryInt("SELECT EXISTS (SELECT 1 FROM message_tags)") != 0;

    Record record;
    std::map<int64_t, int> index;  // message id → node
    std::vector<int64_t> ids;
    std::string treeName, split;
    int64_t currentTree = -1;

    auto flush = [&] {
        if (record.nodes.empty()) return;
        for (size_t i = 0; i < ids.size(); ++i) {
            auto rk = rankingsByParent.find(ids[i]);
            if (rk == rankingsByParent.end()) continue;
            for (const Ranking& r : rk->second) {
                RecordRanking x;
                x.parent = static_cast<int>(i);
                x.annotator = names(r.annotatorId);
                x.verdict = r.verdict;
                x.reason = r.reason;
                bool complete = true;
                for (const auto& g : r.groups) {
                    x.groups.emplace_back();
                    for (int64_t m : g) {
                        auto it = index.find(m);
                        if (it == index.end()) complete = false;
                        else x.groups.back().push_back(it->second);
                    }
                    if (x.groups.back().empty()) x.groups.pop_back();
                }
                // A ranking over candidates the snapshot left out keeps only what it holds.
                if (!complete && x.verdict == RankingVerdict::Ranked) {
                    size_t kept = 0;
                    for (const auto& g : x.groups) kept += g.size();
                    if (kept < 2) continue;
                }
                record.rankings.push_back(std::move(x));
            }
        }
        fn(record, treeName, split);
        record = Record{};
        index.clear();
        ids.clear();
    };

    forEachSnapshotMessage(ws, snapshotId, [&](const SnapshotMessage& m) {
        if (m.treeId != currentTree) {
            flush();
            currentTree = m.treeId;
            split = m.split;
            treeName = "t" + std::to_string(m.treeId);
            if (anyTags) {
                tagsOn.reset();
                tagsOn.bind(1, m.id);
                while (tagsOn.step()) record.tags.push_back(tagsOn.text(0));
            }
        }
        RecordNode n;
        n.role = m.role;
        n.text = m.text;
        n.author = names(m.authorId);
        n.status = m.status;
        n.origin = m.origin;
        n.parent = m.parentId && index.count(*m.parentId) ? index[*m.parentId] : -1;
        if (m.metaJson) n.meta = ojson::parse(*m.metaJson);
        const ojson own = n.meta.contains("_tsumugi") ? n.meta["_tsumugi"] : ojson::object();
        n.key = own.contains("key") ? own["key"].get<std::string>() : "m" + std::to_string(m.id);
        if (!m.parentId && own.contains("tree")) treeName = own["tree"].get<std::string>();
        const int node = static_cast<int>(record.nodes.size());
        index[m.id] = node;
        ids.push_back(m.id);
        if (anyReviews) reviewsAt.reset(), reviewsAt.bindAll(m.id, m.revision);
        while (anyReviews && reviewsAt.step()) {
            RecordReview r;
            r.message = node;
            r.reviewer = names(reviewsAt.int64(0));
            r.verdict = parseReviewVerdict(reviewsAt.textView(1));
            r.comment = reviewsAt.optText(2);
            record.reviews.push_back(std::move(r));
        }
        if (anyLabels) labelsOn.reset(), labelsOn.bind(1, m.id);
        while (anyLabels && labelsOn.step())
            record.labels.push_back({node, names(labelsOn.int64(0)), labelsOn.text(1), labelsOn.int64(2)});
        record.nodes.push_back(std::move(n));
    });
    flush();
}

ExportReport exportSnapshot(Workspace& ws, const ExportOptions& options)
{
    const Snapshot snapshot = snapshotByName(ws, options.snapshot);
    std::filesystem::create_directories(options.outDir);
    ExportReport report;
    std::map<std::string, std::unique_ptr<JsonlWriter>> writers;
    auto writerFor = [&](const std::string& split) -> JsonlWriter& {
        auto& w = writers[split];
        if (!w) {
            const std::string file = (std::filesystem::path(options.outDir) / (split + options.extension)).string();
            w = std::make_unique<JsonlWriter>(file);
            report.files[split] = file;
        }
        return *w;
    };
    int64_t written = 0;
    forEachSnapshotTree(ws, snapshot.id, [&](const Record& record, const std::string& treeName, const std::string& split) {
        ++report.trees;
        JsonlWriter& out = writerFor(split);
        if (options.format == Format::Tree) {
            out.writeLine(treeRecord(record, treeName).dump());
            ++report.recordsPerSplit[split];
            ++written;
        } else {
            // One record per root-to-leaf path.
            std::vector<bool> hasChild(record.nodes.size(), false);
            for (const RecordNode& n : record.nodes)
                if (n.parent >= 0) hasChild[static_cast<size_t>(n.parent)] = true;
            for (size_t leaf = 0; leaf < record.nodes.size(); ++leaf) {
                if (hasChild[leaf]) continue;
                std::vector<const RecordNode*> path;
                for (int i = static_cast<int>(leaf); i >= 0; i = record.nodes[static_cast<size_t>(i)].parent)
                    path.insert(path.begin(), &record.nodes[static_cast<size_t>(i)]);
                if (path.back()->role != MessageRole::Assistant) {
                    ++report.skippedPaths;  // a conversation that ends without an answer
                    continue;
                }
                if (options.format == Format::Messages) {
                    out.writeLine(messagesLine(path));
                } else {
                    const std::optional<ojson> line = alpacaRecord(path);
                    if (!line) {
                        ++report.skippedPaths;
                        continue;
                    }
                    out.writeLine(line->dump());
                }
                ++report.recordsPerSplit[split];
                ++written;
            }
        }
        if (options.progress && written % 10000 == 0) options.progress(written);
    });
    for (auto& [split, writer] : writers) writer->commit();
    return report;
}

}  // namespace tsumugi
