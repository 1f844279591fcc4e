#include "datastore/rankings.h"

#include <map>
#include <set>

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/messages.h"
#include "datastore/queue.h"
#include "datastore/workspace.h"

namespace tsumugi {

std::string_view rankingVerdictName(RankingVerdict verdict)
{
    switch (verdict) {
    case RankingVerdict::Ranked: return "ranked";
    case RankingVerdict::AllFlawed: return "all_flawed";
    case RankingVerdict::CannotRank: return "cannot_rank";
    }
    return "ranked";
}

RankingVerdict parseRankingVerdict(std::string_view name)
{
    if (name == "ranked") return RankingVerdict::Ranked;
    if (name == "all_flawed") return RankingVerdict::AllFlawed;
    if (name == "cannot_rank") return RankingVerdict::CannotRank;
    throw Error("unknown ranking verdict '" + std::string(name) + "'; expected ranked, all_flawed or cannot_rank");
}

namespace {

std::vector<Ranking> readRankings(Workspace& ws, db::Statement& st)
{
    std::vector<Ranking> out;
    while (st.step()) {
        Ranking r;
        r.id = st.int64(0);
        r.parentId = st.int64(1);
        r.annotatorId = st.int64(2);
        r.verdict = parseRankingVerdict(st.textView(3));
        r.reason = st.optText(4);
        r.createdAt = st.text(5);
        out.push_back(std::move(r));
    }
    auto entries = ws.db().prepare(
        "SELECT message_id, position FROM ranking_entries WHERE ranking_id = ? ORDER BY position, message_id");
    for (Ranking& r : out) {
        entries.reset();
        entries.bind(1, r.id);
        int64_t lastPosition = -1;
        while (entries.step()) {
            if (entries.int64(1) != lastPosition) r.groups.emplace_back();
            lastPosition = entries.int64(1);
            r.groups.back().push_back(entries.int64(0));
        }
    }
    return out;
}

constexpr std::string_view kSelect = "SELECT id, parent_id, annotator_id, verdict, reason, created_at FROM rankings ";

}  // namespace

int64_t submitRanking(Workspace& ws, const Account& actor, const NewRanking& ranking)
{
    ws.requireWritable();
    if (ranking.annotatorId && *ranking.annotatorId != actor.id)
        requireRole(actor, {Role::Admin, Role::Service}, "record rankings on behalf of another account");
    else
        requireRole(actor, {Role::Annotator, Role::Reviewer, Role::Admin}, "rank replies");
    const int64_t annotator = ranking.annotatorId.value_or(actor.id);

    db::Transaction tx(ws.db());
    const Message parent = getMessage(ws, ranking.parentId);
    std::map<int64_t, Message> candidates;
    for (Message& c : childrenOf(ws, parent.id))
        if (c.role == MessageRole::Assistant && c.status != Status::Deleted) candidates.emplace(c.id, std::move(c));

    const std::string where = "ranking of message " + std::to_string(parent.id) + ": ";
    if (ranking.verdict == RankingVerdict::Ranked) {
        std::set<int64_t> seen;
        for (const auto& group : ranking.groups) {
            if (group.empty()) throw Error(where + "a rank position holds no reply");
            for (int64_t id : group) {
                if (!candidates.count(id))
                    throw Error(where + "message " + std::to_string(id) +
                                " is not one of its (non-deleted) assistant replies");
                if (!seen.insert(id).second) throw Error(where + "message " + std::to_string(id) + " appears twice");
                if (candidates.at(id).authorId == annotator)
                    throw PermissionError(where + "account cannot rank its own reply (message " + std::to_string(id) +
                                          ")");
            }
        }
        if (seen.size() < 2) throw Error(where + "rank at least two replies");
        if (ranking.reason && ranking.reason->empty()) throw Error(where + "the reason is empty");
    } else {
        if (!ranking.groups.empty())
            throw Error(where + "a '" + std::string(rankingVerdictName(ranking.verdict)) + "' verdict has no order");
        if (!ranking.reason || ranking.reason->empty())
            throw Error(where + "say why ('" + std::string(rankingVerdictName(ranking.verdict)) +
                        "' needs a reason)");
    }
    if (ranking.reason) validateText(*ranking.reason, where + "the reason");

    ws.db()
        .prepare("INSERT INTO rankings(parent_id, annotator_id, verdict, reason, created_at) VALUES (?, ?, ?, ?, ?)")
        .bindAll(parent.id, annotator, rankingVerdictName(ranking.verdict), ranking.reason, ws.now())
        .run();
    const int64_t id = ws.db().lastInsertId();
    auto entry = ws.db().prepare("INSERT INTO ranking_entries(ranking_id, message_id, position) VALUES (?, ?, ?)");
    for (size_t position = 0; position < ranking.groups.size(); ++position)
        for (int64_t message : ranking.groups[position]) {
            entry.reset();
            entry.bindAll(id, message, static_cast<int64_t>(position)).run();
        }
    finishLease(ws, actor, TaskKind::Rank, parent.id);
    refreshOpenTasks(ws, parent.id);
    audit(ws, actor, {"ranking.create", "ranking", id, {}, {}},
          {{"parent_id", parent.id}, {"annotator_id", annotator}, {"verdict", rankingVerdictName(ranking.verdict)}});
    tx.commit();
    return id;
}

std::vector<Ranking> rankingsOf(Workspace& ws, int64_t parentId)
{
    auto st = ws.db().prepare(std::string(kSelect) + "WHERE parent_id = ? ORDER BY id");
    st.bind(1, parentId);
    return readRankings(ws, st);
}

std::vector<Ranking> latestRankings(Workspace& ws, int64_t parentId)
{
    auto st = ws.db().prepare(std::string(kSelect) +
                              "WHERE id IN (SELECT max(id) FROM rankings WHERE parent_id = ? GROUP BY annotator_id) "
                              "ORDER BY id");
    st.bind(1, parentId);
    return readRankings(ws, st);
}

Ranking rankingById(Workspace& ws, int64_t id)
{
    auto st = ws.db().prepare(std::string(kSelect) + "WHERE id = ?");
    st.bind(1, id);
    auto found = readRankings(ws, st);
    if (found.empty()) throw NotFoundError("no ranking with id " + std::to_string(id));
    return found.front();
}

}  // namespace tsumugi
