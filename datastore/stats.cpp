#include "datastore/stats.h"

#include "datastore/workspace.h"

namespace tsumugi {

namespace {
std::vector<std::pair<std::string, int64_t>> counts(Workspace& ws, const std::string& sql)
{
    auto st = ws.db().prepare(sql);
    std::vector<std::pair<std::string, int64_t>> out;
    while (st.step()) out.emplace_back(st.text(0), st.int64(1));
    return out;
}
}  // namespace

WorkspaceStats workspaceStats(Workspace& ws)
{
    auto& db = ws.db();
    WorkspaceStats s;
    s.messages = db.queryInt("SELECT count(*) FROM messages WHERE status <> 'deleted'");
    s.trees = db.queryInt("SELECT count(*) FROM messages WHERE parent_id IS NULL AND status <> 'deleted'");
    s.rankings = db.queryInt("SELECT count(*) FROM rankings");
    s.reviews = db.queryInt("SELECT count(*) FROM reviews");
    s.labels = db.queryInt("SELECT count(*) FROM labels");
    s.accounts = db.queryInt("SELECT count(*) FROM accounts");
    s.snapshots = db.queryInt("SELECT count(*) FROM snapshots");
    s.byStatus = counts(ws, "SELECT status, count(*) FROM messages GROUP BY status ORDER BY count(*) DESC, status");
    s.byRole = counts(ws, "SELECT role, count(*) FROM messages WHERE status <> 'deleted' GROUP BY role ORDER BY role");
    s.byTag = counts(ws, "SELECT t.name, count(*) FROM message_tags mt JOIN tags t ON t.id = mt.tag_id "
                         "JOIN messages m ON m.id = mt.message_id WHERE m.status <> 'deleted' "
                         "GROUP BY t.name ORDER BY count(*) DESC, t.name");
    // length() counts characters of UTF-8 text.
    auto st = db.prepare("SELECT role, count(*), min(length(text)), avg(length(text)), max(length(text)) "
                         "FROM messages WHERE status <> 'deleted' GROUP BY role ORDER BY role");
    auto median = db.prepare("SELECT length(text) AS n FROM messages WHERE status <> 'deleted' AND role = ? "
                             "ORDER BY n LIMIT 1 OFFSET ?");
    while (st.step()) {
        LengthStats l{st.text(0), st.int64(1), st.int64(2), 0, st.real(3), st.int64(4)};
        median.reset();
        median.bindAll(l.role, l.count / 2);
        if (median.step()) l.median = median.int64(0);
        s.lengths.push_back(l);
    }
    return s;
}

}  // namespace tsumugi
