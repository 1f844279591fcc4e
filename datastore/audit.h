// The audit log: every write leaves one row saying who did what to which row, with the
// revision before and after where a text changed. Called inside the write's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tsumugi {

class Workspace;
struct Account;

struct AuditEntry {
    std::string_view action;
    std::string_view targetKind;
    std::optional<int64_t> targetId;
    std::optional<int64_t> beforeRevision;
    std::optional<int64_t> afterRevision;
};

void audit(Workspace& ws, const Account& actor, const AuditEntry& entry);
void audit(Workspace& ws, const Account& actor, const AuditEntry& entry, const nlohmann::json& detail);

}  // namespace tsumugi
