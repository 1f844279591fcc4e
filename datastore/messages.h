// Messages as conversation trees (system → user → assistant → user …). Edits carry the
// revision they were based on; a stale edit throws ConflictError and overwrites nothing.
// Every superseded text stays in message_revisions; deletes are soft; status moves only
// along the allowed transitions:
//   draft → submitted;  submitted → approved | rejected | needs_fix (by review);
//   needs_fix | rejected → submitted;  approved → submitted (when its text is edited);
//   anything → deleted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datastore/accounts.h"

namespace tsumugi {

enum class MessageRole { System, User, Assistant };
enum class Status { Draft, Submitted, Approved, NeedsFix, Rejected, Deleted };
enum class Origin { Human, Model, Import };

std::string_view messageRoleName(MessageRole role);
MessageRole parseMessageRole(std::string_view name);
std::string_view statusName(Status status);
Status parseStatus(std::string_view name);
std::string_view originName(Origin origin);
Origin parseOrigin(std::string_view name);

struct Message {
    int64_t id = 0;
    std::optional<int64_t> parentId;
    int64_t treeId = 0;
    MessageRole role = MessageRole::User;
    std::string text;
    int64_t authorId = 0;
    Origin origin = Origin::Human;
    std::optional<int64_t> originCheckpointId;
    std::optional<int64_t> sourceId;
    std::optional<std::string> metaJson;
    Status status = Status::Submitted;
    int64_t revision = 1;
    std::string createdAt;
    std::string updatedAt;
};

struct NewMessage {
    std::optional<int64_t> parentId;
    MessageRole role = MessageRole::User;
    std::string text;
    Status status = Status::Submitted;  // annotators: draft or submitted
    Origin origin = Origin::Human;
    std::optional<int64_t> authorId;  // admin and service only: write on behalf of another account
    std::optional<int64_t> originCheckpointId;
    std::optional<int64_t> sourceId;
    std::optional<std::string> metaJson;  // a JSON object
};

struct Revision {
    int64_t revision = 0;
    std::string text;
    int64_t authorId = 0;
    std::string createdAt;
};

int64_t createMessage(Workspace& ws, const Account& actor, const NewMessage& message);
// Returns the new revision. Throws ConflictError when baseRevision is not the current one.
int64_t editMessage(Workspace& ws, const Account& actor, int64_t id, int64_t baseRevision, const std::string& text);
void submitMessage(Workspace& ws, const Account& actor, int64_t id, int64_t baseRevision);
void deleteMessage(Workspace& ws, const Account& actor, int64_t id, int64_t baseRevision);

Message getMessage(Workspace& ws, int64_t id);
std::vector<Message> childrenOf(Workspace& ws, int64_t parentId);
std::vector<Message> treeMessages(Workspace& ws, int64_t treeId);  // parents before children
std::vector<Message> pathToRoot(Workspace& ws, int64_t id);        // root first
std::vector<Revision> revisionsOf(Workspace& ws, int64_t id);     // oldest first, current last
std::string textAtRevision(Workspace& ws, int64_t id, int64_t revision);

// Throws Error naming the byte where UTF-8 breaks, or an empty text.
void validateText(std::string_view text, std::string_view what);

// Fast insertion of many new trees in the caller's transaction (imports). The caller has
// validated structure and text; this assigns ids, and finish() indexes the new rows for
// search, opens their tasks and writes one audit row. When the insert will at least double
// the table (expectedRows ≥ rows already there), the secondary indexes of messages are
// dropped first and rebuilt by finish(): one sort beats a million B-tree inserts.
struct BulkRow {
    std::optional<int64_t> parentId;
    int64_t treeId = 0;  // 0: the row is the root of a new tree (its own id)
    MessageRole role = MessageRole::User;
    std::string_view text;
    int64_t authorId = 0;
    Origin origin = Origin::Import;
    std::optional<int64_t> sourceId;
    std::string_view metaJson;  // empty: none
    Status status = Status::Approved;
};

class BulkInsert {
public:
    BulkInsert(Workspace& ws, const Account& actor, int64_t expectedRows = 0);
    ~BulkInsert();
    BulkInsert(const BulkInsert&) = delete;
    BulkInsert& operator=(const BulkInsert&) = delete;

    int64_t add(const BulkRow& row, std::string_view createdAt);
    void tag(int64_t messageId, int64_t tagId);
    int64_t count() const { return m_count; }
    int64_t firstId() const { return m_firstId; }
    void finish(std::string_view action, const std::string& detailJson);

private:
    struct Impl;
    Impl* m_impl;
    Workspace& m_ws;
    const Account& m_actor;
    int64_t m_nextId;
    int64_t m_firstId;
    int64_t m_count = 0;
    bool m_indexesDropped = false;
};

}  // namespace tsumugi
