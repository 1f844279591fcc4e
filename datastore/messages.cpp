#include "datastore/messages.h"

#include <array>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"
#include "datastore/audit.h"
#include "datastore/queue.h"
#include "datastore/search.h"
#include "datastore/workspace.h"

namespace tsumugi {

std::string_view messageRoleName(MessageRole role)
{
    switch (role) {
    case MessageRole::System: return "system";
    case MessageRole::User: return "user";
    case MessageRole::Assistant: return "assistant";
    }
    return "user";
}

MessageRole parseMessageRole(std::string_view name)
{
    if (name == "system") return MessageRole::System;
    if (name == "user") return MessageRole::User;
    if (name == "assistant") return MessageRole::Assistant;
    throw Error("unknown role '" + std::string(name) + "'; expected system, user or assistant");
}

std::string_view statusName(Status status)
{
    switch (status) {
    case Status::Draft: return "draft";
    case Status::Submitted: return "submitted";
    case Status::Approved: return "approved";
    case Status::NeedsFix: return "needs_fix";
    case Status::Rejected: return "rejected";
    case Status::Deleted: return "deleted";
    }
    return "draft";
}

Status parseStatus(std::string_view name)
{
    for (Status s : {Status::Draft, Status::Submitted, Status::Approved, Status::NeedsFix, Status::Rejected,
                     Status::Deleted})
        if (statusName(s) == name) return s;
    throw Error("unknown status '" + std::string(name) +
                "'; expected draft, submitted, approved, needs_fix, rejected or deleted");
}

std::string_view originName(Origin origin)
{
    switch (origin) {
    case Origin::Human: return "human";
    case Origin::Model: return "model";
    case Origin::Import: return "import";
    }
    return "human";
}

Origin parseOrigin(std::string_view name)
{
    if (name == "human") return Origin::Human;
    if (name == "model") return Origin::Model;
    if (name == "import") return Origin::Import;
    throw Error("unknown origin '" + std::string(name) + "'; expected human, model or import");
}

void validateText(std::string_view text, std::string_view what)
{
    if (text.empty()) throw Error(std::string(what) + " is empty; write some text");
    if (auto bad = utf8::firstInvalid(text))
        throw Error(std::string(what) + " is not valid UTF-8 at byte " + std::to_string(*bad) +
                    " (character " + std::to_string(utf8::length(text.substr(0, *bad)) + 1) +
                    "); convert the file to UTF-8");
}

namespace {

constexpr std::string_view kSelect =
    "SELECT id, parent_id, tree_id, role, text, author_id, origin, origin_checkpoint_id, source_id, meta_json, "
    "status, revision, created_at, updated_at FROM messages ";

Message readMessage(db::Statement& st)
{
    Message m;
    m.id = st.int64(0);
    m.parentId = st.optInt64(1);
    m.treeId = st.int64(2);
    m.role = parseMessageRole(st.textView(3));
    m.text = st.text(4);
    m.authorId = st.int64(5);
    m.origin = parseOrigin(st.textView(6));
    m.originCheckpointId = st.optInt64(7);
    m.sourceId = st.optInt64(8);
    m.metaJson = st.optText(9);
    m.status = parseStatus(st.textView(10));
    m.revision = st.int64(11);
    m.createdAt = st.text(12);
    m.updatedAt = st.text(13);
    return m;
}

std::vector<Message> readAll(db::Statement& st)
{
    std::vector<Message> out;
    while (st.step()) out.push_back(readMessage(st));
    return out;
}

bool isPrivileged(const Account& actor) { return actor.role == Role::Admin || actor.role == Role::Service; }

void requireAuthorOrAdmin(const Account& actor, const Message& m, std::string_view action)
{
    if (m.authorId == actor.id || actor.role == Role::Admin) return;
    throw PermissionError("account '" + actor.name + "' may not " + std::string(action) + " message " +
                          std::to_string(m.id) + ": only its author or an admin may");
}

void requireRevision(const Message& m, int64_t baseRevision)
{
    if (m.revision != baseRevision)
        throw ConflictError("message " + std::to_string(m.id) + " was changed by someone else (now at revision " +
                            std::to_string(m.revision) + ", your edit was based on revision " +
                            std::to_string(baseRevision) + "); reload it and apply your change again");
}

void validateStructure(const std::optional<Message>& parent, MessageRole role)
{
    if (!parent) {
        if (role == MessageRole::Assistant)
            throw Error("a conversation cannot start with an assistant message; start with a user (or system) message");
        return;
    }
    if (parent->status == Status::Deleted)
        throw Error("message " + std::to_string(parent->id) + " is deleted; it cannot get replies");
    if (role == MessageRole::System) throw Error("a system message can only start a conversation");
    const bool ok = (parent->role == MessageRole::System && role == MessageRole::User) ||
                    (parent->role == MessageRole::User && role == MessageRole::Assistant) ||
                    (parent->role == MessageRole::Assistant && role == MessageRole::User);
    if (!ok)
        throw Error("a " + std::string(messageRoleName(role)) + " message cannot follow a " +
                    std::string(messageRoleName(parent->role)) + " message (turns alternate user → assistant)");
}

void validateMeta(const std::optional<std::string>& meta)
{
    if (!meta) return;
    const auto parsed = nlohmann::json::parse(*meta, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) throw Error("message metadata must be a JSON object");
}

int64_t nextMessageId(Workspace& ws) { return ws.db().queryInt("SELECT coalesce(max(id), 0) + 1 FROM messages"); }

}  // namespace

Message getMessage(Workspace& ws, int64_t id)
{
    auto st = ws.db().prepare(std::string(kSelect) + "WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw NotFoundError("no message with id " + std::to_string(id));
    return readMessage(st);
}

std::vector<Message> childrenOf(Workspace& ws, int64_t parentId)
{
    auto st = ws.db().prepare(std::string(kSelect) + "WHERE parent_id = ? ORDER BY id");
    st.bind(1, parentId);
    return readAll(st);
}

std::vector<Message> treeMessages(Workspace& ws, int64_t treeId)
{
    // Ids grow with creation and a child is always created after its parent.
    auto st = ws.db().prepare(std::string(kSelect) + "WHERE tree_id = ? ORDER BY id");
    st.bind(1, treeId);
    return readAll(st);
}

std::vector<Message> pathToRoot(Workspace& ws, int64_t id)
{
    std::vector<Message> path;
    std::optional<int64_t> next = id;
    while (next) {
        path.push_back(getMessage(ws, *next));
        next = path.back().parentId;
    }
    return {path.rbegin(), path.rend()};
}

std::vector<Revision> revisionsOf(Workspace& ws, int64_t id)
{
    const Message current = getMessage(ws, id);
    auto st = ws.db().prepare(
        "SELECT revision, text, author_id, created_at FROM message_revisions WHERE message_id = ? ORDER BY revision");
    st.bind(1, id);
    std::vector<Revision> out;
    while (st.step()) out.push_back({st.int64(0), st.text(1), st.int64(2), st.text(3)});
    auto last = ws.db().prepare("SELECT coalesce(revised_by, author_id) FROM messages WHERE id = ?");
    last.bind(1, id);
    last.step();
    out.push_back({current.revision, current.text, last.int64(0), current.updatedAt});
    return out;
}

std::string textAtRevision(Workspace& ws, int64_t id, int64_t revision)
{
    auto st = ws.db().prepare(
        "SELECT text FROM messages WHERE id = ?1 AND revision = ?2 "
        "UNION ALL SELECT text FROM message_revisions WHERE message_id = ?1 AND revision = ?2");
    st.bindAll(id, revision);
    if (!st.step())
        throw NotFoundError("message " + std::to_string(id) + " has no revision " + std::to_string(revision));
    return st.text(0);
}

int64_t createMessage(Workspace& ws, const Account& actor, const NewMessage& message)
{
    ws.requireWritable();
    validateText(message.text, "the message text");
    validateMeta(message.metaJson);
    if (!isPrivileged(actor)) {
        if (message.status != Status::Draft && message.status != Status::Submitted)
            throw PermissionError("account '" + actor.name + "' may only create drafts or submitted messages; " +
                                  "status '" + std::string(statusName(message.status)) + "' comes from review");
        if (message.authorId && *message.authorId != actor.id)
            throw PermissionError("account '" + actor.name + "' may not write on behalf of another account");
        if (message.origin != Origin::Human)
            throw PermissionError("only admin and service accounts may add messages of origin '" +
                                  std::string(originName(message.origin)) + "'");
    }
    if (message.status == Status::Deleted) throw Error("a new message cannot be created deleted");

    db::Transaction tx(ws.db());
    std::optional<Message> parent;
    if (message.parentId) parent = getMessage(ws, *message.parentId);
    validateStructure(parent, message.role);

    const int64_t id = nextMessageId(ws);
    const int64_t treeId = parent ? parent->treeId : id;
    const std::string now = ws.now();
    ws.db()
        .prepare("INSERT INTO messages(id, parent_id, tree_id, role, text, author_id, origin, origin_checkpoint_id, "
                 "source_id, meta_json, status, revision, created_at, updated_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)")
        .bindAll(id, message.parentId, treeId, messageRoleName(message.role), message.text,
                 message.authorId.value_or(actor.id), originName(message.origin), message.originCheckpointId,
                 message.sourceId, message.metaJson, statusName(message.status), now, now)
        .run();
    indexMessageText(ws, id, message.text);
    if (parent) finishLease(ws, actor, TaskKind::WriteReply, parent->id);
    refreshOpenTasks(ws, id);
    audit(ws, actor, {"message.create", "message", id, {}, 1});
    tx.commit();
    return id;
}

int64_t editMessage(Workspace& ws, const Account& actor, int64_t id, int64_t baseRevision, const std::string& text)
{
    ws.requireWritable();
    validateText(text, "the message text");
    db::Transaction tx(ws.db());
    const Message m = getMessage(ws, id);
    requireAuthorOrAdmin(actor, m, "edit");
    requireRevision(m, baseRevision);
    if (m.status == Status::Deleted) throw Error("message " + std::to_string(id) + " is deleted; it cannot be edited");
    if (text == m.text) {
        tx.commit();
        return m.revision;
    }
    auto prev = ws.db().prepare("SELECT coalesce(revised_by, author_id) FROM messages WHERE id = ?");
    prev.bind(1, id);
    prev.step();
    ws.db()
        .prepare("INSERT INTO message_revisions(message_id, revision, text, author_id, created_at) "
                 "VALUES (?, ?, ?, ?, ?)")
        .bindAll(id, m.revision, m.text, prev.int64(0), m.updatedAt)
        .run();
    // An approved text that changes needs review again.
    const Status status = m.status == Status::Approved ? Status::Submitted : m.status;
    auto update = ws.db().prepare(
        "UPDATE messages SET text = ?, revision = revision + 1, revised_by = ?, status = ?, updated_at = ? "
        "WHERE id = ? AND revision = ?");
    update.bindAll(text, actor.id, statusName(status), ws.now(), id, baseRevision).run();
    if (ws.db().changes() != 1) requireRevision(getMessage(ws, id), baseRevision);
    unindexMessageText(ws, id, m.text);
    indexMessageText(ws, id, text);
    refreshOpenTasks(ws, id);
    audit(ws, actor, {"message.edit", "message", id, m.revision, m.revision + 1});
    tx.commit();
    return m.revision + 1;
}

void submitMessage(Workspace& ws, const Account& actor, int64_t id, int64_t baseRevision)
{
    ws.requireWritable();
    db::Transaction tx(ws.db());
    const Message m = getMessage(ws, id);
    requireAuthorOrAdmin(actor, m, "submit");
    requireRevision(m, baseRevision);
    if (m.status != Status::Draft && m.status != Status::NeedsFix && m.status != Status::Rejected)
        throw Error("message " + std::to_string(id) + " is " + std::string(statusName(m.status)) +
                    "; only drafts and messages sent back for a fix (needs_fix, rejected) can be submitted");
    ws.db()
        .prepare("UPDATE messages SET status = 'submitted', updated_at = ? WHERE id = ?")
        .bindAll(ws.now(), id)
        .run();
    refreshOpenTasks(ws, id);
    audit(ws, actor, {"message.submit", "message", id, m.revision, m.revision}, {{"from", statusName(m.status)}});
    tx.commit();
}

void deleteMessage(Workspace& ws, const Account& actor, int64_t id, int64_t baseRevision)
{
    ws.requireWritable();
    db::Transaction tx(ws.db());
    const Message m = getMessage(ws, id);
    requireAuthorOrAdmin(actor, m, "delete");
    requireRevision(m, baseRevision);
    if (m.status == Status::Deleted) {
        tx.commit();
        return;
    }
    ws.db().prepare("UPDATE messages SET status = 'deleted', updated_at = ? WHERE id = ?").bindAll(ws.now(), id).run();
    refreshOpenTasks(ws, id);
    audit(ws, actor, {"message.delete", "message", id, m.revision, m.revision}, {{"from", statusName(m.status)}});
    tx.commit();
}

struct BulkInsert::Impl {
    db::Statement insert;
    db::Statement tag;
};

namespace {
// The secondary indexes of messages, as schema 1 creates them; BulkInsert drops and
// rebuilds exactly these.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kMessageIndexes{{
    {"messages_parent", "messages(parent_id)"},
    {"messages_tree", "messages(tree_id)"},
    {"messages_author", "messages(author_id)"},
    {"messages_status", "messages(status)"},
}};
}  // namespace

BulkInsert::BulkInsert(Workspace& ws, const Account& actor, int64_t expectedRows) : m_ws(ws), m_actor(actor)
{
    if (!ws.db().inTransaction()) throw Error("BulkInsert needs an open transaction");
    m_nextId = nextMessageId(ws);
    m_firstId = m_nextId;
    if (expectedRows > 0 && expectedRows >= ws.db().queryInt("SELECT count(*) FROM messages")) {
        for (const auto& [name, _] : kMessageIndexes) ws.db().exec("DROP INDEX IF EXISTS " + std::string(name));
        m_indexesDropped = true;
    }
    m_impl = new Impl{ws.db().prepare("INSERT INTO messages(id, parent_id, tree_id, role, text, author_id, origin, "
                                      "source_id, meta_json, status, revision, created_at, updated_at) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"),
                      ws.db().prepare("INSERT OR IGNORE INTO message_tags(message_id, tag_id) VALUES (?, ?)")};
}

BulkInsert::~BulkInsert() { delete m_impl; }

int64_t BulkInsert::add(const BulkRow& row, std::string_view createdAt)
{
    const int64_t id = m_nextId++;
    auto& st = m_impl->insert;
    st.reset();
    st.bind(1, id);
    st.bind(2, row.parentId);
    st.bind(3, row.treeId ? row.treeId : id);
    st.bindView(4, messageRoleName(row.role));
    st.bindView(5, row.text);
    st.bind(6, row.authorId);
    st.bindView(7, originName(row.origin));
    st.bind(8, row.sourceId);
    if (row.metaJson.empty()) st.bind(9, nullptr);
    else st.bindView(9, row.metaJson);
    st.bindView(10, statusName(row.status));
    st.bindView(11, createdAt);
    st.bindView(12, createdAt);
    st.run();
    ++m_count;
    return id;
}

void BulkInsert::tag(int64_t messageId, int64_t tagId)
{
    auto& st = m_impl->tag;
    st.reset();
    st.bindAll(messageId, tagId);
    st.run();
}

void BulkInsert::finish(std::string_view action, const std::string& detailJson)
{
    if (m_indexesDropped) {
        for (const auto& [name, on] : kMessageIndexes)
            m_ws.db().exec("CREATE INDEX IF NOT EXISTS " + std::string(name) + " ON " + std::string(on));
        m_indexesDropped = false;
    }
    if (m_count == 0) return;
    indexMessagesFrom(m_ws, m_firstId);
    rebuildOpenTasks(m_ws, m_firstId);
    audit(m_ws, m_actor, {action, "message", m_firstId, {}, {}}, nlohmann::json::parse(detailJson));
}

}  // namespace tsumugi
