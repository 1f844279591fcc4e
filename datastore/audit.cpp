#include "datastore/audit.h"

#include <nlohmann/json.hpp>

#include "datastore/accounts.h"
#include "datastore/workspace.h"

namespace tsumugi {

namespace {
void insert(Workspace& ws, const Account& actor, const AuditEntry& entry, const std::optional<std::string>& detail)
{
    ws.db()
        .prepare("INSERT INTO audit_log(account_id, action, target_kind, target_id, before_revision, "
                 "after_revision, detail_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bindAll(actor.id, entry.action, entry.targetKind, entry.targetId, entry.beforeRevision, entry.afterRevision,
                 detail, ws.now())
        .run();
}
}  // namespace

void audit(Workspace& ws, const Account& actor, const AuditEntry& entry) { insert(ws, actor, entry, std::nullopt); }

void audit(Workspace& ws, const Account& actor, const AuditEntry& entry, const nlohmann::json& detail)
{
    insert(ws, actor, entry, detail.dump());
}

}  // namespace tsumugi
