// Training runs, their metrics and checkpoints; the trainers write these (rank 0 only),
// the annotator and `tsumugi eval` read them. Lineage is never guessed: a run names its
// snapshot, a checkpoint its run, a generated message its checkpoint.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datastore/accounts.h"

namespace tsumugi {

struct Run {
    int64_t id = 0;
    std::string kind;  // sft, dpo, rm, grpo, ppo, eval …
    std::string configJson;
    std::optional<int64_t> snapshotId;
    std::optional<std::string> baseModel;
    std::string status;  // running, finished, failed, cancelled
    std::optional<std::string> outputDir;
    std::string startedAt;
    std::optional<std::string> finishedAt;
};

struct Metric {
    int64_t step = 0;
    std::string name;
    double value = 0;
};

struct Checkpoint {
    int64_t id = 0;
    int64_t runId = 0;
    int64_t step = 0;
    std::string path;
    std::string metricsJson;
    std::string createdAt;
};

// Writers: admin or service accounts.
int64_t createRun(Workspace& ws, const Account& actor, const std::string& kind, const std::string& configJson,
                  std::optional<int64_t> snapshotId, const std::optional<std::string>& baseModel,
                  const std::optional<std::string>& outputDir);
void finishRun(Workspace& ws, const Account& actor, int64_t runId, const std::string& status);
// A run continued from its checkpoint (tsumugi sft --resume): running again, whatever it ended as.
void resumeRun(Workspace& ws, const Account& actor, int64_t runId);
void addMetrics(Workspace& ws, const Account& actor, int64_t runId, const std::vector<Metric>& metrics);
int64_t addCheckpoint(Workspace& ws, const Account& actor, int64_t runId, int64_t step, const std::string& path,
                      const std::string& metricsJson);

std::vector<Run> listRuns(Workspace& ws);
Run runById(Workspace& ws, int64_t id);
std::vector<Metric> runMetrics(Workspace& ws, int64_t runId, const std::optional<std::string>& name = {});
std::vector<Checkpoint> runCheckpoints(Workspace& ws, int64_t runId);

}  // namespace tsumugi
