// Accounts and roles. Every write function of the datastore takes the acting account and
// checks its role itself; the UI only reflects these rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tsumugi {

class Workspace;

enum class Role { Annotator, Reviewer, Admin, Service };

std::string_view roleName(Role role);
Role parseRole(std::string_view name);  // throws Error listing the valid names

struct Account {
    int64_t id = 0;
    std::string name;
    Role role = Role::Annotator;
    bool active = true;
    bool hasPassword = false;
    std::string createdAt;
};

// The local service account that `tsumugi init` creates for imports and trainers.
inline constexpr std::string_view kServiceAccountName = "tsumugi";

// Creates the first accounts of a new workspace: the admin and the service account.
// Only valid while the workspace has no accounts.
Account bootstrapAccounts(Workspace& ws, const std::string& adminName, const std::optional<std::string>& password);

// Admin only (service accounts may add annotators while importing authors).
Account addAccount(Workspace& ws, const Account& actor, const std::string& name, Role role,
                   const std::optional<std::string>& password);
void setAccountActive(Workspace& ws, const Account& actor, const std::string& name, bool active);
void setPassword(Workspace& ws, const Account& actor, const std::string& name, const std::string& password);

std::vector<Account> listAccounts(Workspace& ws);
std::optional<Account> findAccount(Workspace& ws, std::string_view name);
Account accountById(Workspace& ws, int64_t id);

// The account to act as: checks that it exists and is active, and the password when the
// account has one (service accounts have none). Throws PermissionError otherwise.
Account authenticate(Workspace& ws, std::string_view name, const std::optional<std::string>& password);

// Throws PermissionError unless actor's role is one of roles.
void requireRole(const Account& actor, std::initializer_list<Role> roles, std::string_view action);

// An account by name, created as an active annotator without password when missing
// (importing authors and rankers of a data set). Admin or service only.
Account ensureAccount(Workspace& ws, const Account& actor, const std::string& name, Role role = Role::Annotator);

}  // namespace tsumugi
