#include "datastore/labels.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/messages.h"
#include "datastore/queue.h"
#include "datastore/workspace.h"

namespace tsumugi {

void setLabel(Workspace& ws, const Account& actor, int64_t messageId, const std::string& name, int64_t value,
              std::optional<int64_t> annotatorId)
{
    ws.requireWritable();
    if (annotatorId && *annotatorId != actor.id)
        requireRole(actor, {Role::Admin, Role::Service}, "record labels on behalf of another account");
    else
        requireRole(actor, {Role::Annotator, Role::Reviewer, Role::Admin}, "label messages");
    const int64_t annotator = annotatorId.value_or(actor.id);
    bool validName = !name.empty() && name.size() <= 64 && name[0] >= 'a' && name[0] <= 'z';
    for (char c : name) validName = validName && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (!validName)
        throw Error("label name '" + name + "' must be lower-case ASCII letters, digits and '_' (e.g. helpful)");
    if (value < 0 || value > 5)
        throw Error("label '" + name + "' value " + std::to_string(value) + " is out of range (scales 1–5, flags 0/1)");

    db::Transaction tx(ws.db());
    const Message m = getMessage(ws, messageId);
    if (m.authorId == annotator)
        throw PermissionError("nobody labels their own message (message " + std::to_string(m.id) + ")");
    if (m.status == Status::Deleted) throw Error("message " + std::to_string(m.id) + " is deleted");
    ws.db()
        .prepare("INSERT INTO labels(message_id, annotator_id, name, value, created_at) VALUES (?, ?, ?, ?, ?) "
                 "ON CONFLICT(message_id, annotator_id, name) DO UPDATE SET value = excluded.value, "
                 "created_at = excluded.created_at")
        .bindAll(m.id, annotator, name, value, ws.now())
        .run();
    finishLease(ws, actor, TaskKind::Label, m.id);
    refreshOpenTasks(ws, m.id);
    audit(ws, actor, {"label.set", "message", m.id, m.revision, m.revision},
          {{"name", name}, {"value", value}, {"annotator_id", annotator}});
    tx.commit();
}

std::vector<Label> labelsOf(Workspace& ws, int64_t messageId)
{
    auto st = ws.db().prepare("SELECT message_id, annotator_id, name, value, created_at FROM labels "
                              "WHERE message_id = ? ORDER BY annotator_id, name");
    st.bind(1, messageId);
    std::vector<Label> out;
    while (st.step()) out.push_back({st.int64(0), st.int64(1), st.text(2), st.int64(3), st.text(4)});
    return out;
}

}  // namespace tsumugi
