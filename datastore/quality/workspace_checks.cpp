#include "datastore/quality/workspace_checks.h"

#include <algorithm>
#include <unordered_map>

#include "datastore/snapshots.h"
#include "datastore/workspace.h"

namespace tsumugi::quality {

std::vector<Item> loadItems(Workspace& ws, const std::optional<std::string>& snapshot)
{
    std::vector<Item> items;
    if (snapshot) {
        const Snapshot s = snapshotByName(ws, *snapshot);
        forEachSnapshotMessage(ws, s.id, [&](const SnapshotMessage& m) {
            items.push_back({m.id, m.treeId, m.parentId, m.role, m.text});
        });
        return items;
    }
    auto st = ws.db().prepare(
        "SELECT id, tree_id, parent_id, role, text FROM messages WHERE status <> 'deleted' ORDER BY tree_id, id");
    while (st.step())
        items.push_back({st.int64(0), st.int64(1), st.optInt64(2), parseMessageRole(st.textView(3)), st.text(4)});
    return items;
}

CheckSummary checkItems(const std::vector<Item>& items, const QualityConfig& config,
                        const std::function<void(const ItemReport&)>& onItem)
{
    CheckSummary summary;
    const NgWordMatcher ng(config.ngWords);
    std::unordered_map<int64_t, const Item*> byId;
    for (const Item& item : items) byId.emplace(item.id, &item);
    for (const Item& item : items) {
        ItemReport r;
        r.item = &item;
        r.report = checkText(item.text, config.thresholds, ng);
        if (item.role == MessageRole::Assistant && item.parentId) {
            const auto parent = byId.find(*item.parentId);
            if (parent != byId.end() && parent->second->role == MessageRole::User)
                r.language = checkLanguageMismatch(parent->second->text, item.text);
        }
        ++summary.items;
        const ClassCounts& c = r.report.counts;
        summary.totals.chars += c.chars;
        for (size_t k = 0; k < kCharClassCount; ++k) summary.totals.byClass[k] += c.byClass[k];
        summary.totals.kutenToten += c.kutenToten;
        for (const auto& f : r.report.failures) ++summary.failures[f.rule];
        for (const auto& p : r.report.pii) ++summary.pii[std::string(piiKindName(p.kind))];
        summary.ngWordItems += !r.report.ngWords.empty();
        summary.bracketItems += !r.report.brackets.empty();
        summary.widthItems += !r.report.width.empty();
        summary.nfkcItems += !r.report.nfkc.empty();
        summary.languageMismatches += r.language && r.language->mismatch;
        summary.itemsWithWarnings += r.warns();
        if (onItem) onItem(r);
    }
    summary.clusters = duplicateClusters(items, config.thresholds.nearDuplicateThreshold);
    return summary;
}

std::vector<DuplicateCluster> duplicateClusters(const std::vector<Item>& items, double threshold)
{
    std::vector<DuplicateCluster> out;
    for (MessageRole role : {MessageRole::System, MessageRole::User, MessageRole::Assistant}) {
        NearDuplicateParams params;
        params.threshold = threshold;
        NearDuplicateFinder finder(params);
        std::vector<const Item*> docs;
        for (const Item& item : items)
            if (item.role == role) docs.push_back(&item), finder.add(item.text);
        if (docs.size() < 2) continue;
        const NearDuplicateResult r = finder.run([&](uint32_t d) { return std::string_view(docs[d]->text); });
        for (const auto& members : r.clusters) {
            DuplicateCluster c;
            c.role = role;
            for (uint32_t d : members) c.ids.push_back(docs[d]->id);
            std::sort(c.ids.begin(), c.ids.end());
            c.exact = true;
            for (const auto& p : r.pairs)
                if (std::binary_search(members.begin(), members.end(), p.a)) {
                    c.minJaccard = std::min(c.minJaccard, p.jaccard);
                    c.exact = c.exact && p.exact;
                }
            out.push_back(std::move(c));
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ids.front() < b.ids.front(); });
    return out;
}

std::vector<IncomingDuplicate> incomingDuplicates(const std::vector<Item>& items, const std::vector<EvalText>& incoming,
                                                  double threshold)
{
    NearDuplicateParams params;
    params.threshold = threshold;
    NearDuplicateFinder finder(params);
    for (const Item& item : items) finder.add(item.text, 0);
    for (const EvalText& t : incoming) finder.add(t.text, 1);
    const size_t base = items.size();
    auto text = [&](uint32_t d) {
        return d < base ? std::string_view(items[d].text) : std::string_view(incoming[d - base].text);
    };
    const NearDuplicateResult r = finder.run(text, true);
    std::vector<IncomingDuplicate> out;
    for (const auto& p : r.pairs) {
        const uint32_t message = p.a < base ? p.a : p.b, other = p.a < base ? p.b : p.a;
        if (message >= base || other < base) continue;
        out.push_back({other - base, items[message].id, p.jaccard});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.incoming != b.incoming ? a.incoming < b.incoming : a.messageId < b.messageId;
    });
    return out;
}

std::vector<ContaminatedItem> findContamination(const std::vector<Item>& items, const ContaminationIndex& index)
{
    std::vector<ContaminatedItem> out;
    for (const Item& item : items)
        for (const ContaminationHit& hit : index.find(item.text))
            out.push_back({item.id, hit, item.text.substr(hit.itemSpan.begin, hit.itemSpan.end - hit.itemSpan.begin)});
    return out;
}

}  // namespace tsumugi::quality
