// The task queue: hands an account its next task across kinds, within the workspace's
// targets (replies per prompt, rankings per parent, reviews and labels per message), never
// its own message to review or rank, and with leases that expire, so that no two
// annotators hold the same single slot while a lease is valid.
//
// open_tasks is a hint table kept by the write functions (a superset of what may need
// work); every candidate is checked exactly inside the claiming transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datastore/accounts.h"

namespace tsumugi {

enum class TaskKind { WritePrompt, WriteReply, Rank, Review, Label };

std::string_view taskKindName(TaskKind kind);  // prompt, reply, rank, review, label
TaskKind parseTaskKind(std::string_view name);

struct Task {
    TaskKind kind = TaskKind::WritePrompt;
    std::optional<int64_t> targetId;  // the prompt to reply to, the parent whose replies to rank, …
    int64_t leaseExpiresAt = 0;       // Unix ms; 0 for writing a new prompt (no slot to hold)
};

// The next task for actor, in priority order review → rank → reply → label → prompt
// (review only for reviewers and admins), limited to `kinds` when not empty. An unexpired
// lease the actor already holds is handed back first. Service accounts get no tasks.
std::optional<Task> nextTask(Workspace& ws, const Account& actor, const std::vector<TaskKind>& kinds = {});

// Gives a held task back (it becomes available to others at once).
void releaseTask(Workspace& ws, const Account& actor, TaskKind kind, int64_t targetId);
// Skips a task for good (for this account), with a reason.
void skipTask(Workspace& ws, const Account& actor, TaskKind kind, int64_t targetId, const std::string& reason);

// Open-task bookkeeping for the write functions (inside their transactions).
void refreshOpenTasks(Workspace& ws, int64_t messageId);
void rebuildOpenTasks(Workspace& ws, int64_t firstMessageId);  // messages with id >= first
// Drops the actor's lease on a finished task (called inside the finishing transaction).
void finishLease(Workspace& ws, const Account& actor, TaskKind kind, int64_t targetId);

}  // namespace tsumugi
