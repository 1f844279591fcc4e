// Workspace statistics: counts by status, role and tag; lengths in characters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tsumugi {

class Workspace;

struct LengthStats {
    std::string role;
    int64_t count = 0;
    int64_t min = 0;
    int64_t median = 0;
    double mean = 0;
    int64_t max = 0;
};

struct WorkspaceStats {
    int64_t messages = 0;  // not deleted
    int64_t trees = 0;
    int64_t rankings = 0;
    int64_t reviews = 0;
    int64_t labels = 0;
    int64_t accounts = 0;
    int64_t snapshots = 0;
    std::vector<std::pair<std::string, int64_t>> byStatus;
    std::vector<std::pair<std::string, int64_t>> byRole;
    std::vector<std::pair<std::string, int64_t>> byTag;
    std::vector<LengthStats> lengths;  // per role, characters (code points), deleted excluded
};

WorkspaceStats workspaceStats(Workspace& ws);

}  // namespace tsumugi
