#include "export/exporter.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "core/error.h"
#include "datastore/rankings.h"
#include "datastore/reviews.h"
#include "datastore/snapshots.h"
#include "datastore/workspace.h"
#include "export/dataset_card.h"
#include "export/jsonl.h"
#include "export/text_template.h"
#include "tokenizer/chat.h"

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

std::vector<const SourceUse*> SnapshotProvenance::restricted() const
{
    std::vector<const SourceUse*> out;
    for (const SourceUse& s : sources)
        if (!s.redistributable) out.push_back(&s);
    return out;
}

SnapshotProvenance snapshotProvenance(Workspace& ws, int64_t snapshotId)
{
    SnapshotProvenance p;
    auto st = ws.db().prepare(
        "SELECT s.name, s.licence, s.redistributable, s.url, count(*) FROM snapshot_items si "
        "JOIN messages m ON m.id = si.message_id JOIN sources s ON s.id = m.source_id "
        "WHERE si.snapshot_id = ? GROUP BY s.id ORDER BY s.name");
    st.bind(1, snapshotId);
    while (st.step()) p.sources.push_back({st.text(0), st.text(1), st.int64(2) != 0, st.optText(3), st.int64(4)});
    auto own = ws.db().prepare(
        "SELECT count(*) FROM snapshot_items si JOIN messages m ON m.id = si.message_id "
        "WHERE si.snapshot_id = ? AND m.source_id IS NULL");
    own.bind(1, snapshotId);
    if (own.step()) p.workspaceMessages = own.int64(0);
    return p;
}

namespace {

// Refuses a snapshot that holds messages of sources that may not be redistributed.
void checkRedistribution(const SnapshotProvenance& provenance, const std::string& snapshot, bool allowRestricted,
                         ExportReport& report)
{
    const auto restricted = provenance.restricted();
    for (const SourceUse* s : restricted) report.restrictedMessages += s->messages;
    if (restricted.empty() || allowRestricted) return;
    std::string list;
    for (const SourceUse* s : restricted)
        list += (list.empty() ? "" : "; ") + std::string("'") + s->name + "' (licence '" + s->licence + "', " +
                std::to_string(s->messages) + " messages)";
    throw PermissionError("snapshot '" + snapshot + "' holds messages from sources not marked redistributable: " +
                          list +
                          ". Nothing was written. Export them only where their licence allows, with "
                          "--allow-restricted (the dataset card then says so), or make a snapshot without them");
}

void writeTextFile(const std::string& path, const std::string& content)
{
    const std::string temp = path + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(temp, std::ios::binary);
        out << content;
        out.flush();
        if (!out) throw Error(temp + ": write failed (disk full?)");
    }
    std::filesystem::rename(temp, path);
}

}  // namespace

ExportReport exportSnapshot(Workspace& ws, const ExportOptions& options)
{
    const Snapshot snapshot = snapshotByName(ws, options.snapshot);
    std::optional<TextTemplate> textTemplate;
    if (options.format == Format::Text) {
        if (!options.textTemplate) {
            std::string names;
            for (const std::string& n : tok::ChatTemplate::namedTemplates()) names += (names.empty() ? "" : ", ") + n;
            throw Error("the text format renders each conversation with a chat template: give --template NAME (" +
                        names + ")");
        }
        textTemplate.emplace(*options.textTemplate);
    }
    ExportReport report;
    report.provenance = snapshotProvenance(ws, snapshot.id);
    checkRedistribution(report.provenance, snapshot.name, options.allowRestricted, report);

    std::filesystem::create_directories(options.outDir);
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
        auto write = [&](const std::string& line) {
            out.writeLine(line);
            ++report.recordsPerSplit[split];
            if (options.progress && ++written % 10000 == 0) options.progress(written);
        };
        switch (options.format) {
        case Format::Tree: write(treeRecord(record, treeName).dump()); return;
        case Format::Oasst: {
            const std::optional<ojson> tree = oasstRecord(record, treeName);
            if (tree) write(tree->dump());
            else ++report.skippedPaths;
            return;
        }
        case Format::TrlPreference: {
            const std::vector<ojson> pairs = trlPreferenceRecords(record);
            if (pairs.empty()) ++report.skippedPaths;
            for (const ojson& line : pairs) write(line.dump());
            return;
        }
        case Format::TrlKto:
            for (const ojson& line : trlKtoRecords(record, report.skippedPaths)) write(line.dump());
            return;
        default: break;
        }
        // One record per root-to-leaf path that ends with an answer.
        std::vector<bool> hasChild(record.nodes.size(), false);
        for (const RecordNode& n : record.nodes)
            if (n.parent >= 0) hasChild[static_cast<size_t>(n.parent)] = true;
        const auto leaves = std::count(hasChild.begin(), hasChild.end(), false);
        int pathIndex = 0;
        for (size_t leaf = 0; leaf < record.nodes.size(); ++leaf) {
            if (hasChild[leaf]) continue;
            ++pathIndex;
            std::vector<const RecordNode*> path;
            for (int i = static_cast<int>(leaf); i >= 0; i = record.nodes[static_cast<size_t>(i)].parent)
                path.insert(path.begin(), &record.nodes[static_cast<size_t>(i)]);
            if (path.back()->role != MessageRole::Assistant) {
                ++report.skippedPaths;  // a conversation that ends without an answer
                continue;
            }
            std::optional<ojson> line;
            switch (options.format) {
            case Format::Messages: write(messagesLine(path)); continue;
            case Format::ShareGpt: line = sharegptRecord(path); break;
            case Format::Alpaca: line = alpacaRecord(path); break;
            case Format::Ichikara:
                line = ichikaraRecord(path, leaves > 1 ? treeName + "-" + std::to_string(pathIndex) : treeName);
                break;
            case Format::Text:
                try {
                    line = textRecord(path, *textTemplate);
                } catch (const Error&) {
                    line.reset();  // the template refuses this conversation (e.g. roles it cannot place)
                }
                break;
            default: break;
            }
            if (line) write(line->dump());
            else ++report.skippedPaths;
        }
    });
    for (auto& [split, writer] : writers) writer->commit();
    if (options.hfDataset) {
        report.cardPath = (std::filesystem::path(options.outDir) / "README.md").string();
        writeTextFile(report.cardPath, renderDatasetCard(datasetCardFacts(ws, snapshot, options, report)));
    }
    return report;
}

}  // namespace tsumugi
