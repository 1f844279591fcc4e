// Labels on messages: 1–5 scales (helpful, honest, harmless, …) and 0/1 flags (pii,
// factual_error, unsafe, spam). One value per (message, annotator, name); setting it again
// replaces the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datastore/accounts.h"

namespace tsumugi {

struct Label {
    int64_t messageId = 0;
    int64_t annotatorId = 0;
    std::string name;
    int64_t value = 0;
    std::string createdAt;
};

// value in 0..5; name in [a-z][a-z0-9_]*. annotatorId: admin and service only (imports).
void setLabel(Workspace& ws, const Account& actor, int64_t messageId, const std::string& name, int64_t value,
              std::optional<int64_t> annotatorId = std::nullopt);
std::vector<Label> labelsOf(Workspace& ws, int64_t messageId);

}  // namespace tsumugi
