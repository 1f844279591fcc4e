// Workspace settings: JSON values under keys. Typed accessors for what the datastore uses.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "datastore/accounts.h"

namespace tsumugi {

std::optional<nlohmann::json> getSetting(Workspace& ws, const std::string& key);
void setSetting(Workspace& ws, const Account& actor, const std::string& key, const nlohmann::json& value);  // admin

// How much work each target needs before the queue stops handing it out (key "queue").
struct QueueTargets {
    int repliesPerPrompt = 2;
    int rankingsPerParent = 3;
    int reviewsPerMessage = 1;
    int labelsPerMessage = 1;
    int leaseSeconds = 30 * 60;
};

QueueTargets queueTargets(Workspace& ws);
void setQueueTargets(Workspace& ws, const Account& actor, const QueueTargets& targets);  // admin; rebuilds the queue

}  // namespace tsumugi
