#include "datastore/tags.h"

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/messages.h"
#include "datastore/workspace.h"

namespace tsumugi {

int64_t ensureTag(Workspace& ws, const std::string& name)
{
    validateText(name, "the tag name");
    if (name.size() > 200) throw Error("tag name '" + name.substr(0, 40) + "…' is longer than 200 bytes");
    auto find = ws.db().prepare("SELECT id FROM tags WHERE name = ?");
    find.bind(1, name);
    if (find.step()) return find.int64(0);
    ws.db().prepare("INSERT INTO tags(name) VALUES (?)").bind(1, name).run();
    return ws.db().lastInsertId();
}

void tagMessage(Workspace& ws, const Account& actor, int64_t messageId, const std::string& name)
{
    ws.requireWritable();
    requireRole(actor, {Role::Annotator, Role::Reviewer, Role::Admin, Role::Service}, "tag messages");
    db::Transaction tx(ws.db());
    const Message m = getMessage(ws, messageId);
    const int64_t tag = ensureTag(ws, name);
    ws.db().prepare("INSERT OR IGNORE INTO message_tags(message_id, tag_id) VALUES (?, ?)").bindAll(m.id, tag).run();
    audit(ws, actor, {"tag.add", "message", m.id, {}, {}}, {{"tag", name}});
    tx.commit();
}

void untagMessage(Workspace& ws, const Account& actor, int64_t messageId, const std::string& name)
{
    ws.requireWritable();
    requireRole(actor, {Role::Annotator, Role::Reviewer, Role::Admin, Role::Service}, "untag messages");
    db::Transaction tx(ws.db());
    ws.db()
        .prepare("DELETE FROM message_tags WHERE message_id = ? AND tag_id = (SELECT id FROM tags WHERE name = ?)")
        .bindAll(messageId, name)
        .run();
    audit(ws, actor, {"tag.remove", "message", messageId, {}, {}}, {{"tag", name}});
    tx.commit();
}

std::vector<std::string> tagsOf(Workspace& ws, int64_t messageId)
{
    auto st = ws.db().prepare(
        "SELECT t.name FROM message_tags mt JOIN tags t ON t.id = mt.tag_id WHERE mt.message_id = ? ORDER BY t.name");
    st.bind(1, messageId);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

}  // namespace tsumugi
