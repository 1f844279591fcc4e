#include "datastore/queue.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/messages.h"
#include "datastore/settings.h"
#include "datastore/workspace.h"

namespace tsumugi {

std::string_view taskKindName(TaskKind kind)
{
    switch (kind) {
    case TaskKind::WritePrompt: return "prompt";
    case TaskKind::WriteReply: return "reply";
    case TaskKind::Rank: return "rank";
    case TaskKind::Review: return "review";
    case TaskKind::Label: return "label";
    }
    return "prompt";
}

TaskKind parseTaskKind(std::string_view name)
{
    for (TaskKind k : {TaskKind::WritePrompt, TaskKind::WriteReply, TaskKind::Rank, TaskKind::Review, TaskKind::Label})
        if (taskKindName(k) == name) return k;
    throw Error("unknown task kind '" + std::string(name) + "'; expected prompt, reply, rank, review or label");
}

namespace {

// Exact "does this target still need work" conditions, over a target row `o.target_id`,
// with :target the per-kind target, :now and :me. Leases held by others count as work
// in progress; the actor's own lease does not.
constexpr std::string_view kOthersLeases =
    "(SELECT count(*) FROM task_leases l WHERE l.task_kind = o.task_kind AND l.target_id = o.target_id "
    "AND l.expires_at > :now AND l.account_id <> :me)";

std::string neededCondition(TaskKind kind)
{
    const std::string leases(kOthersLeases);
    switch (kind) {
    case TaskKind::WriteReply:
        return "t.role = 'user' AND t.status IN ('submitted', 'approved') AND "
               "(SELECT count(*) FROM messages c WHERE c.parent_id = t.id AND c.role = 'assistant' "
               "AND c.status NOT IN ('deleted', 'rejected')) + " +
               leases + " < :target";
    case TaskKind::Rank:
        return "t.status IN ('submitted', 'approved') AND "
               "(SELECT count(*) FROM messages c WHERE c.parent_id = t.id AND c.role = 'assistant' "
               "AND c.status IN ('submitted', 'approved')) >= 2 AND "
               "(SELECT count(DISTINCT r.annotator_id) FROM rankings r WHERE r.parent_id = t.id) + " +
               leases + " < :target";
    case TaskKind::Review:
        return "t.status = 'submitted' AND "
               "(SELECT count(*) FROM reviews r WHERE r.message_id = t.id AND r.revision = t.revision) + " +
               leases + " < :target";
    case TaskKind::Label:
        return "t.role = 'assistant' AND t.status = 'approved' AND "
               "(SELECT count(DISTINCT lb.annotator_id) FROM labels lb WHERE lb.message_id = t.id) + " +
               leases + " < :target";
    case TaskKind::WritePrompt: break;
    }
    return "0";
}

// What keeps a target away from this actor. "+c.author_id" keeps SQLite on the parent_id
// index: through the author index it would walk all of an annotator's messages per candidate.
std::string eligibleCondition(TaskKind kind)
{
    std::string skip =
        "NOT EXISTS (SELECT 1 FROM skips s WHERE s.account_id = :me AND s.task_kind = o.task_kind "
        "AND s.target_id = o.target_id)";
    switch (kind) {
    case TaskKind::WriteReply:
        return skip + " AND t.author_id <> :me AND NOT EXISTS (SELECT 1 FROM messages c WHERE c.parent_id = t.id "
                      "AND +c.author_id = :me AND c.status <> 'deleted')";
    case TaskKind::Rank:
        return skip + " AND NOT EXISTS (SELECT 1 FROM rankings r WHERE r.parent_id = t.id AND r.annotator_id = :me)"
                      " AND NOT EXISTS (SELECT 1 FROM messages c WHERE c.parent_id = t.id AND c.role = 'assistant' "
                      "AND +c.author_id = :me)";
    case TaskKind::Review:
        return skip + " AND t.author_id <> :me AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.message_id = t.id "
                      "AND r.revision = t.revision AND r.reviewer_id = :me)";
    case TaskKind::Label:
        return skip + " AND t.author_id <> :me AND NOT EXISTS (SELECT 1 FROM labels lb WHERE lb.message_id = t.id "
                      "AND lb.annotator_id = :me)";
    case TaskKind::WritePrompt: break;
    }
    return "0";
}

int targetFor(TaskKind kind, const QueueTargets& t)
{
    switch (kind) {
    case TaskKind::WriteReply: return t.repliesPerPrompt;
    case TaskKind::Rank: return t.rankingsPerParent;
    case TaskKind::Review: return t.reviewsPerMessage;
    case TaskKind::Label: return t.labelsPerMessage;
    case TaskKind::WritePrompt: break;
    }
    return 0;
}

void bindCommon(db::Statement& st, TaskKind kind, int target, int64_t now, int64_t me)
{
    if (int i = st.parameterIndex(":kind")) st.bind(i, taskKindName(kind));
    if (int i = st.parameterIndex(":target")) st.bind(i, static_cast<int64_t>(target));
    if (int i = st.parameterIndex(":now")) st.bind(i, now);
    if (int i = st.parameterIndex(":me")) st.bind(i, me);
}

// First target of `kind` that the actor may take now, or only `only` when given.
std::optional<int64_t> findTarget(Workspace& ws, const Account& actor, TaskKind kind, const QueueTargets& targets,
                                  std::optional<int64_t> only)
{
    const int target = targetFor(kind, targets);
    if (target <= 0) return std::nullopt;
    std::string sql = "SELECT o.target_id FROM open_tasks o JOIN messages t ON t.id = o.target_id "
                      "WHERE o.task_kind = :kind";
    if (only) sql += " AND o.target_id = :only";
    sql += " AND " + neededCondition(kind) + " AND " + eligibleCondition(kind) + " ORDER BY o.target_id LIMIT 1";
    auto st = ws.db().prepare(sql);
    bindCommon(st, kind, target, ws.nowMillis(), actor.id);
    if (only) st.bind(st.parameterIndex(":only"), *only);
    if (!st.step()) return std::nullopt;
    return st.int64(0);
}

bool stillNeeded(Workspace& ws, TaskKind kind, int64_t targetId, const QueueTargets& targets)
{
    const int target = targetFor(kind, targets);
    if (target <= 0) return false;
    // Bookkeeping ignores leases (a now past every expiry): a lease that lapses must find
    // its target still open.
    auto st = ws.db().prepare("SELECT 1 FROM messages t JOIN (SELECT :kind AS task_kind, :id AS target_id) o "
                              "ON t.id = o.target_id WHERE " +
                              neededCondition(kind));
    bindCommon(st, kind, target, std::numeric_limits<int64_t>::max(), -1);
    st.bind(st.parameterIndex(":id"), targetId);
    return st.step();
}

void setOpen(Workspace& ws, TaskKind kind, int64_t targetId, bool open)
{
    auto st = ws.db().prepare(open ? "INSERT OR IGNORE INTO open_tasks(task_kind, target_id) VALUES (?, ?)"
                                   : "DELETE FROM open_tasks WHERE task_kind = ? AND target_id = ?");
    st.bindAll(taskKindName(kind), targetId).run();
}

int64_t takeLease(Workspace& ws, const Account& actor, TaskKind kind, int64_t targetId, const QueueTargets& targets)
{
    const int64_t expires = ws.nowMillis() + int64_t(targets.leaseSeconds) * 1000;
    ws.db()
        .prepare("INSERT OR REPLACE INTO task_leases(task_kind, target_id, account_id, expires_at) VALUES (?, ?, ?, ?)")
        .bindAll(taskKindName(kind), targetId, actor.id, expires)
        .run();
    return expires;
}

}  // namespace

std::optional<Task> nextTask(Workspace& ws, const Account& actor, const std::vector<TaskKind>& kinds)
{
    ws.requireWritable();
    if (actor.role == Role::Service) return std::nullopt;
    const bool canReview = actor.role == Role::Reviewer || actor.role == Role::Admin;
    std::vector<TaskKind> order;
    for (TaskKind k : {TaskKind::Review, TaskKind::Rank, TaskKind::WriteReply, TaskKind::Label, TaskKind::WritePrompt}) {
        if (k == TaskKind::Review && !canReview) continue;
        if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), k) == kinds.end()) continue;
        order.push_back(k);
    }
    if (order.empty() && !kinds.empty() && !canReview)
        requireRole(actor, {Role::Reviewer, Role::Admin}, "take review tasks");

    const QueueTargets targets = queueTargets(ws);
    db::Transaction tx(ws.db());
    ws.db().prepare("DELETE FROM task_leases WHERE expires_at <= ?").bind(1, ws.nowMillis()).run();

    // A lease still held comes back first (the annotator closed the app mid-task).
    auto held = ws.db().prepare("SELECT task_kind, target_id FROM task_leases WHERE account_id = ? ORDER BY expires_at");
    held.bind(1, actor.id);
    std::vector<std::pair<TaskKind, int64_t>> leases;
    while (held.step()) leases.emplace_back(parseTaskKind(held.textView(0)), held.int64(1));
    for (auto [kind, target] : leases) {
        if (std::find(order.begin(), order.end(), kind) != order.end() &&
            findTarget(ws, actor, kind, targets, target)) {
            const int64_t expires = takeLease(ws, actor, kind, target, targets);
            tx.commit();
            return Task{kind, target, expires};
        }
        finishLease(ws, actor, kind, target);
    }

    for (TaskKind kind : order) {
        if (kind == TaskKind::WritePrompt) {
            tx.commit();
            return Task{kind, std::nullopt, 0};
        }
        if (auto target = findTarget(ws, actor, kind, targets, std::nullopt)) {
            const int64_t expires = takeLease(ws, actor, kind, *target, targets);
            tx.commit();
            return Task{kind, *target, expires};
        }
    }
    tx.commit();
    return std::nullopt;
}

void finishLease(Workspace& ws, const Account& actor, TaskKind kind, int64_t targetId)
{
    ws.db()
        .prepare("DELETE FROM task_leases WHERE task_kind = ? AND target_id = ? AND account_id = ?")
        .bindAll(taskKindName(kind), targetId, actor.id)
        .run();
}

void releaseTask(Workspace& ws, const Account& actor, TaskKind kind, int64_t targetId)
{
    ws.requireWritable();
    db::Transaction tx(ws.db());
    finishLease(ws, actor, kind, targetId);
    tx.commit();
}

void skipTask(Workspace& ws, const Account& actor, TaskKind kind, int64_t targetId, const std::string& reason)
{
    ws.requireWritable();
    db::Transaction tx(ws.db());
    finishLease(ws, actor, kind, targetId);
    ws.db()
        .prepare("INSERT OR REPLACE INTO skips(task_kind, target_id, account_id, reason, created_at) "
                 "VALUES (?, ?, ?, ?, ?)")
        .bindAll(taskKindName(kind), targetId, actor.id, reason, ws.now())
        .run();
    audit(ws, actor, {"task.skip", taskKindName(kind), targetId, {}, {}}, {{"reason", reason}});
    tx.commit();
}

void refreshOpenTasks(Workspace& ws, int64_t messageId)
{
    const QueueTargets targets = queueTargets(ws);
    const Message m = getMessage(ws, messageId);
    for (TaskKind kind : {TaskKind::WriteReply, TaskKind::Rank, TaskKind::Review, TaskKind::Label})
        setOpen(ws, kind, m.id, stillNeeded(ws, kind, m.id, targets));
    if (m.parentId) {
        setOpen(ws, TaskKind::WriteReply, *m.parentId, stillNeeded(ws, TaskKind::WriteReply, *m.parentId, targets));
        setOpen(ws, TaskKind::Rank, *m.parentId, stillNeeded(ws, TaskKind::Rank, *m.parentId, targets));
    }
}

void rebuildOpenTasks(Workspace& ws, int64_t firstMessageId)
{
    const QueueTargets targets = queueTargets(ws);
    // Candidates touched by the new messages: the messages themselves and their parents.
    for (TaskKind kind : {TaskKind::WriteReply, TaskKind::Rank, TaskKind::Review, TaskKind::Label}) {
        const int target = targetFor(kind, targets);
        if (target <= 0) continue;
        const std::string sql =
            "INSERT OR IGNORE INTO open_tasks(task_kind, target_id) "
            "SELECT o.task_kind, o.target_id FROM (SELECT DISTINCT :kind AS task_kind, x.id AS target_id FROM ("
            "SELECT id FROM messages WHERE id >= :first UNION "
            "SELECT parent_id FROM messages WHERE id >= :first AND parent_id IS NOT NULL) x) o "
            "JOIN messages t ON t.id = o.target_id WHERE " +
            neededCondition(kind);
        auto st = ws.db().prepare(sql);
        bindCommon(st, kind, target, std::numeric_limits<int64_t>::max(), -1);
        st.bind(st.parameterIndex(":first"), firstMessageId);
        st.run();
    }
}

}  // namespace tsumugi
