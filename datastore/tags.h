// Tags: categories (ichikara-style task categories), batches, sources.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datastore/accounts.h"

namespace tsumugi {

// The tag's id, created when missing (inside the caller's transaction).
int64_t ensureTag(Workspace& ws, const std::string& name);
void tagMessage(Workspace& ws, const Account& actor, int64_t messageId, const std::string& name);
void untagMessage(Workspace& ws, const Account& actor, int64_t messageId, const std::string& name);
std::vector<std::string> tagsOf(Workspace& ws, int64_t messageId);

}  // namespace tsumugi
