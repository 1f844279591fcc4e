#include "datastore/settings.h"

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/queue.h"
#include "datastore/workspace.h"

namespace tsumugi {

std::optional<nlohmann::json> getSetting(Workspace& ws, const std::string& key)
{
    auto st = ws.db().prepare("SELECT value_json FROM settings WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    auto value = nlohmann::json::parse(st.text(0), nullptr, false);
    if (value.is_discarded())
        throw SchemaError(ws.path() + ": setting '" + key + "' holds invalid JSON; set it again");
    return value;
}

void setSetting(Workspace& ws, const Account& actor, const std::string& key, const nlohmann::json& value)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin}, "change workspace settings");
    db::Transaction tx(ws.db());
    ws.db()
        .prepare("INSERT INTO settings(key, value_json) VALUES (?, ?) "
                 "ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json")
        .bindAll(key, value.dump())
        .run();
    audit(ws, actor, {"settings.set", "setting", {}, {}, {}}, {{"key", key}, {"value", value}});
    tx.commit();
}

QueueTargets queueTargets(Workspace& ws)
{
    QueueTargets t;
    const auto value = getSetting(ws, "queue");
    if (!value) return t;
    auto read = [&](const char* name, int& field, int minimum) {
        if (!value->contains(name)) return;
        const auto& v = (*value)[name];
        if (!v.is_number_integer() || v.get<int>() < minimum)
            throw Error(ws.path() + ": setting queue." + name + " must be an integer ≥ " + std::to_string(minimum));
        field = v.get<int>();
    };
    read("replies_per_prompt", t.repliesPerPrompt, 0);
    read("rankings_per_parent", t.rankingsPerParent, 0);
    read("reviews_per_message", t.reviewsPerMessage, 0);
    read("labels_per_message", t.labelsPerMessage, 0);
    read("lease_seconds", t.leaseSeconds, 1);
    return t;
}

void setQueueTargets(Workspace& ws, const Account& actor, const QueueTargets& t)
{
    setSetting(ws, actor, "queue",
               {{"replies_per_prompt", t.repliesPerPrompt},
                {"rankings_per_parent", t.rankingsPerParent},
                {"reviews_per_message", t.reviewsPerMessage},
                {"labels_per_message", t.labelsPerMessage},
                {"lease_seconds", t.leaseSeconds}});
    db::Transaction tx(ws.db());
    ws.db().exec("DELETE FROM open_tasks");
    rebuildOpenTasks(ws, 0);
    tx.commit();
}

}  // namespace tsumugi
