#include "datastore/snapshots.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/quality/contamination.h"
#include "datastore/quality/near_duplicates.h"
#include "datastore/workspace.h"

namespace tsumugi {

std::string sha256Hex(std::string_view data)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

namespace {

std::vector<std::string> splitOn(const std::string& text, char sep)
{
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string part;
    while (std::getline(ss, part, sep))
        if (!part.empty()) out.push_back(part);
    return out;
}

nlohmann::json filterToJson(const SnapshotFilter& f)
{
    nlohmann::json j;
    j["status"] = nlohmann::json::array();
    for (Status s : f.statuses) j["status"].push_back(statusName(s));
    j["tags"] = f.tags;
    if (f.createdFrom) j["from"] = *f.createdFrom;
    if (f.createdTo) j["to"] = *f.createdTo;
    j["min_rankings"] = f.minRankings;
    // Written only when used, so filters made before these options keep their JSON.
    if (f.dedupThreshold) j["dedup"] = *f.dedupThreshold;
    if (!f.excludeContaminated.empty()) {
        j["exclude_contaminated"] = nlohmann::json::array();
        for (const auto& file : f.excludeContaminated) {
            std::ifstream in(file, std::ios::binary);
            const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            j["exclude_contaminated"].push_back({{"file", file}, {"sha256", sha256Hex(content)}});
        }
        j["contamination_ngram"] = f.contaminationNgram;
    }
    return j;
}

struct Candidate {
    int64_t id;
    std::optional<int64_t> parent;
    int64_t tree;
    std::string role;
    int64_t revision;
    std::string text;
};

// Contamination first (a contaminated tree must not stand for its cluster), then one tree
// per near-duplicate cluster.
void applyQualityFilters(const SnapshotFilter& filter, std::map<int64_t, std::vector<Candidate>>& kept)
{
    if (!filter.excludeContaminated.empty()) {
        std::vector<quality::EvalText> evals;
        for (const auto& file : filter.excludeContaminated)
            for (auto& t : quality::readTextFields(file)) evals.push_back(std::move(t));
        const quality::ContaminationIndex index(std::move(evals), filter.contaminationNgram);
        for (auto it = kept.begin(); it != kept.end();) {
            std::set<int64_t> dropped;
            std::vector<Candidate> list;
            for (Candidate& c : it->second) {  // parents come before children
                if ((c.parent && dropped.count(*c.parent)) || !index.find(c.text).empty()) {
                    dropped.insert(c.id);
                    continue;
                }
                list.push_back(std::move(c));
            }
            if (list.empty()) {
                it = kept.erase(it);
            } else {
                it->second = std::move(list);
                ++it;
            }
        }
    }
    if (filter.dedupThreshold) {
        quality::NearDuplicateParams params;
        params.threshold = *filter.dedupThreshold;
        quality::NearDuplicateFinder finder(params);
        std::vector<int64_t> trees;
        std::vector<std::string> texts;
        for (const auto& [tree, list] : kept) {
            std::string joined;
            for (const Candidate& c : list) joined += c.text + "\n";
            trees.push_back(tree);
            finder.add(joined);
            texts.push_back(std::move(joined));
        }
        const auto result = finder.run([&](uint32_t d) { return std::string_view(texts[d]); });
        for (const auto& cluster : result.clusters)
            for (size_t k = 1; k < cluster.size(); ++k) kept.erase(trees[cluster[k]]);  // trees ascend: [0] is oldest
    }
}

}  // namespace

SplitSpec parseSplitSpec(const std::string& text)
{
    SplitSpec spec;
    spec.parts.clear();
    double sum = 0;
    for (const std::string& part : splitOn(text, ',')) {
        const auto eq = part.find('=');
        if (eq == std::string::npos || eq == 0)
            throw Error("split '" + text + "': expected name=fraction pairs like train=0.9,test=0.1");
        const std::string name = part.substr(0, eq);
        double fraction = 0;
        try {
            size_t used = 0;
            fraction = std::stod(part.substr(eq + 1), &used);
            if (used != part.size() - eq - 1) throw std::invalid_argument(part);
        } catch (const std::exception&) {
            throw Error("split '" + text + "': '" + part.substr(eq + 1) + "' is not a number");
        }
        if (fraction < 0 || fraction > 1) throw Error("split '" + text + "': fractions lie between 0 and 1");
        for (const auto& [existing, _] : spec.parts)
            if (existing == name) throw Error("split '" + text + "': '" + name + "' appears twice");
        spec.parts.emplace_back(name, fraction);
        sum += fraction;
    }
    if (spec.parts.empty()) throw Error("split is empty; give name=fraction pairs like train=0.9,test=0.1");
    if (std::fabs(sum - 1.0) > 1e-6)
        throw Error("split '" + text + "': fractions add up to " + std::to_string(sum) + ", not 1");
    return spec;
}

SnapshotFilter parseSnapshotFilter(const std::string& text)
{
    SnapshotFilter f;
    for (const std::string& clause : splitOn(text, ';')) {
        const auto eq = clause.find('=');
        if (eq == std::string::npos)
            throw Error("filter clause '" + clause + "': expected key=value (status, tag, from, to, min_rankings, "
                        "dedup, exclude_contaminated, contamination_ngram)");
        const std::string key = clause.substr(0, eq);
        const std::string value = clause.substr(eq + 1);
        if (key == "status") {
            f.statuses.clear();
            for (const auto& s : splitOn(value, ',')) f.statuses.push_back(parseStatus(s));
        } else if (key == "tag" || key == "tags") {
            for (const auto& t : splitOn(value, ',')) f.tags.push_back(t);
        } else if (key == "from") {
            f.createdFrom = value;
        } else if (key == "to") {
            f.createdTo = value;
        } else if (key == "min_rankings") {
            try {
                f.minRankings = std::stoi(value);
            } catch (const std::exception&) {
                throw Error("filter min_rankings='" + value + "' is not a whole number");
            }
        } else if (key == "dedup") {
            double t = 0;
            try {
                size_t used = 0;
                t = std::stod(value, &used);
                if (used != value.size()) throw std::invalid_argument(value);
            } catch (const std::exception&) {
                throw Error("filter dedup='" + value + "' is not a number; give a Jaccard threshold like dedup=0.8");
            }
            if (t < 0.5 || t > 1) throw Error("filter dedup=" + value + ": the threshold lies from 0.5 to 1");
            f.dedupThreshold = t;
        } else if (key == "exclude_contaminated") {
            for (const auto& file : splitOn(value, ',')) f.excludeContaminated.push_back(file);
            if (f.excludeContaminated.empty())
                throw Error("filter exclude_contaminated= names no file; give evaluation JSONL files");
        } else if (key == "contamination_ngram") {
            try {
                size_t used = 0;
                const long n = std::stol(value, &used);
                if (used != value.size() || n < 8) throw std::invalid_argument(value);
                f.contaminationNgram = size_t(n);
            } catch (const std::exception&) {
                throw Error("filter contamination_ngram='" + value + "' must be a whole number of at least 8");
            }
        } else {
            throw Error("unknown filter key '" + key + "'; expected status, tag, from, to, min_rankings, dedup, "
                        "exclude_contaminated or contamination_ngram");
        }
    }
    if (f.statuses.empty()) throw Error("filter status= lists no status");
    return f;
}

Snapshot createSnapshot(Workspace& ws, const Account& actor, const std::string& name, const SnapshotFilter& filter,
                        const SplitSpec& split)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin, Role::Service}, "create snapshots");
    validateText(name, "the snapshot name");
    db::Transaction tx(ws.db());
    {
        auto exists = ws.db().prepare("SELECT 1 FROM snapshots WHERE name = ?");
        exists.bind(1, name);
        if (exists.step()) throw ConflictError("a snapshot named '" + name + "' already exists; snapshots never change, "
                                               "so choose a new name");
    }

    // Roots that pass the tree-level filters.
    std::string rootSql = "SELECT m.id FROM messages m WHERE m.parent_id IS NULL";
    if (filter.createdFrom) rootSql += " AND m.created_at >= :from";
    if (filter.createdTo) rootSql += " AND m.created_at < :to";
    if (!filter.tags.empty()) {
        rootSql += " AND EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag_id "
                   "WHERE mt.message_id = m.id AND t.name IN (";
        for (size_t i = 0; i < filter.tags.size(); ++i) rootSql += i ? ", ?" : "?";
        rootSql += "))";
    }
    auto roots = ws.db().prepare(rootSql + " ORDER BY m.id");
    if (filter.createdFrom) roots.bind(roots.parameterIndex(":from"), *filter.createdFrom);
    if (filter.createdTo) roots.bind(roots.parameterIndex(":to"), *filter.createdTo);
    {
        int index = 1 + (filter.createdFrom ? 1 : 0) + (filter.createdTo ? 1 : 0);
        for (const auto& t : filter.tags) roots.bind(index++, t);
    }
    std::set<int64_t> trees;
    while (roots.step()) trees.insert(roots.int64(0));

    std::set<std::string> statuses;
    for (Status s : filter.statuses) statuses.insert(std::string(statusName(s)));

    // Walk each tree, parents before children; keep messages whose status passes and whose
    // parent was kept.
    auto messages = ws.db().prepare(
        "SELECT id, parent_id, tree_id, role, revision, text, status FROM messages WHERE tree_id = ? ORDER BY id");
    auto rankingCount = ws.db().prepare(
        "SELECT count(DISTINCT annotator_id) FROM rankings WHERE parent_id = ? AND verdict = 'ranked'");
    std::map<int64_t, std::vector<Candidate>> kept;  // tree → messages
    for (int64_t tree : trees) {
        messages.reset();
        messages.bind(1, tree);
        std::set<int64_t> in;
        std::map<int64_t, int> replies;
        std::vector<Candidate> list;
        while (messages.step()) {
            const auto parent = messages.optInt64(1);
            if (!statuses.count(messages.text(6))) continue;
            if (parent && !in.count(*parent)) continue;
            in.insert(messages.int64(0));
            list.push_back({messages.int64(0), parent, messages.int64(2), messages.text(3), messages.int64(4),
                            messages.text(5)});
            if (parent && list.back().role == "assistant") ++replies[*parent];
        }
        if (list.empty()) continue;
        bool enough = true;
        for (const auto& [parent, count] : replies) {
            if (count < 2 || filter.minRankings <= 0) continue;
            rankingCount.reset();
            rankingCount.bind(1, parent);
            rankingCount.step();
            if (rankingCount.int64(0) < filter.minRankings) enough = false;
        }
        if (enough) kept.emplace(tree, std::move(list));
    }
    applyQualityFilters(filter, kept);
    if (kept.empty())
        throw Error("the filter " + filterToJson(filter).dump() + " matches no conversation; nothing to snapshot");

    // Deterministic split by tree: order trees by a hash of (seed, tree id), cut by fraction.
    const std::string seed = split.seed.empty() ? name : split.seed;
    std::vector<std::pair<std::string, int64_t>> order;
    for (const auto& [tree, _] : kept) order.emplace_back(sha256Hex(seed + ":" + std::to_string(tree)), tree);
    std::sort(order.begin(), order.end());
    std::map<int64_t, std::string> splitOf;
    double cumulative = 0;
    size_t start = 0;
    for (size_t p = 0; p < split.parts.size(); ++p) {
        cumulative += split.parts[p].second;
        const size_t end = p + 1 == split.parts.size()
                               ? order.size()
                               : std::min(order.size(), static_cast<size_t>(std::llround(cumulative * order.size())));
        for (size_t i = start; i < end; ++i) splitOf[order[i].second] = split.parts[p].first;
        start = std::max(start, end);
    }

    nlohmann::json splitJson = {{"seed", seed}, {"parts", nlohmann::json::object()}};
    for (const auto& [part, fraction] : split.parts) splitJson["parts"][part] = fraction;
    const std::string now = ws.now();
    ws.db()
        .prepare("INSERT INTO snapshots(name, content_hash, filter_json, split_json, created_by, created_at) "
                 "VALUES (?, '', ?, ?, ?, ?)")
        .bindAll(name, filterToJson(filter).dump(), splitJson.dump(), actor.id, now)
        .run();
    const int64_t id = ws.db().lastInsertId();

    // Items and the content hash over them, in message id order.
    std::vector<std::tuple<int64_t, int64_t, std::string, std::string>> items;
    std::set<int64_t> parents;
    for (const auto& [tree, list] : kept)
        for (const Candidate& c : list) {
            items.emplace_back(c.id, c.revision, sha256Hex(c.text), splitOf.at(tree));
            if (c.parent) parents.insert(*c.parent);
        }
    std::sort(items.begin(), items.end());
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    auto feed = [&state](const std::string& line) {
        crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(line.data()), line.size());
    };
    auto insertItem = ws.db().prepare(
        "INSERT INTO snapshot_items(snapshot_id, message_id, revision, text_hash, split) VALUES (?, ?, ?, ?, ?)");
    for (const auto& [message, revision, hash, part] : items) {
        insertItem.reset();
        insertItem.bindAll(id, message, revision, hash, part).run();
        feed("item " + std::to_string(message) + " " + std::to_string(revision) + " " + hash + " " + part + "\n");
    }
    auto rankings = ws.db().prepare("SELECT id FROM rankings WHERE parent_id = ? ORDER BY id");
    auto insertRanking = ws.db().prepare("INSERT INTO snapshot_rankings(snapshot_id, ranking_id) VALUES (?, ?)");
    int64_t rankingTotal = 0;
    for (int64_t parent : parents) {
        rankings.reset();
        rankings.bind(1, parent);
        while (rankings.step()) {
            insertRanking.reset();
            insertRanking.bindAll(id, rankings.int64(0)).run();
            feed("ranking " + std::to_string(rankings.int64(0)) + "\n");
            ++rankingTotal;
        }
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state, digest);
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    ws.db().prepare("UPDATE snapshots SET content_hash = ? WHERE id = ?").bindAll(std::string(hex), id).run();
    audit(ws, actor, {"snapshot.create", "snapshot", id, {}, {}},
          {{"name", name}, {"items", items.size()}, {"trees", kept.size()}, {"rankings", rankingTotal},
           {"content_hash", hex}});
    tx.commit();
    return snapshotByName(ws, name);
}

namespace {
constexpr std::string_view kSnapshotSelect =
    "SELECT id, name, content_hash, filter_json, split_json, created_at FROM snapshots ";

Snapshot readSnapshot(db::Statement& st)
{
    return {st.int64(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5)};
}
}  // namespace

std::vector<Snapshot> listSnapshots(Workspace& ws)
{
    auto st = ws.db().prepare(std::string(kSnapshotSelect) + "ORDER BY id");
    std::vector<Snapshot> out;
    while (st.step()) out.push_back(readSnapshot(st));
    return out;
}

Snapshot snapshotByName(Workspace& ws, const std::string& name)
{
    auto st = ws.db().prepare(std::string(kSnapshotSelect) + "WHERE name = ?");
    st.bind(1, name);
    if (!st.step())
        throw NotFoundError("no snapshot named '" + name + "'; see `tsumugi snapshot list` or create one with "
                            "`tsumugi snapshot create`");
    return readSnapshot(st);
}

std::vector<SnapshotItem> snapshotItems(Workspace& ws, int64_t snapshotId)
{
    auto st = ws.db().prepare("SELECT message_id, revision, text_hash, split FROM snapshot_items "
                              "WHERE snapshot_id = ? ORDER BY message_id");
    st.bind(1, snapshotId);
    std::vector<SnapshotItem> out;
    while (st.step()) out.push_back({st.int64(0), st.int64(1), st.text(2), st.text(3)});
    return out;
}

std::vector<int64_t> snapshotRankingIds(Workspace& ws, int64_t snapshotId)
{
    auto st = ws.db().prepare("SELECT ranking_id FROM snapshot_rankings WHERE snapshot_id = ? ORDER BY ranking_id");
    st.bind(1, snapshotId);
    std::vector<int64_t> out;
    while (st.step()) out.push_back(st.int64(0));
    return out;
}

SnapshotCounts snapshotCounts(Workspace& ws, int64_t snapshotId)
{
    SnapshotCounts c;
    auto st = ws.db().prepare(
        "SELECT si.split, count(DISTINCT m.tree_id), count(*) FROM snapshot_items si "
        "JOIN messages m ON m.id = si.message_id WHERE si.snapshot_id = ? GROUP BY si.split ORDER BY si.split");
    st.bind(1, snapshotId);
    while (st.step()) {
        c.treesPerSplit.emplace_back(st.text(0), st.int64(1));
        c.messagesPerSplit.emplace_back(st.text(0), st.int64(2));
    }
    auto r = ws.db().prepare("SELECT count(*) FROM snapshot_rankings WHERE snapshot_id = ?");
    r.bind(1, snapshotId);
    r.step();
    c.rankings = r.int64(0);
    return c;
}

void forEachSnapshotMessage(Workspace& ws, int64_t snapshotId, const std::function<void(const SnapshotMessage&)>& fn)
{
    // Walk messages in (tree, id) order through messages_tree, so rows stream without
    // sorting every text in a temporary B-tree.
    auto st = ws.db().prepare(
        "SELECT m.id, m.parent_id, m.tree_id, m.role, "
        "CASE WHEN m.revision = si.revision THEN m.text ELSE (SELECT r.text FROM message_revisions r "
        "WHERE r.message_id = si.message_id AND r.revision = si.revision) END, si.revision, m.author_id, m.status, "
        "m.origin, m.meta_json, si.split "
        "FROM messages m INDEXED BY messages_tree CROSS JOIN snapshot_items si "
        "ON si.snapshot_id = ?1 AND si.message_id = m.id "
        "ORDER BY m.tree_id, m.id");
    st.bind(1, snapshotId);
    SnapshotMessage m;
    while (st.step()) {
        m.id = st.int64(0);
        m.parentId = st.optInt64(1);
        m.treeId = st.int64(2);
        m.role = parseMessageRole(st.textView(3));
        m.text = st.text(4);
        m.revision = st.int64(5);
        m.authorId = st.int64(6);
        m.status = parseStatus(st.textView(7));
        m.origin = parseOrigin(st.textView(8));
        m.metaJson = st.optText(9);
        m.split = st.text(10);
        fn(m);
    }
}

}  // namespace tsumugi
