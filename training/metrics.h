// Where a run's numbers go: RUN_DIR/metrics.jsonl (one JSON object per line, flushed as written:
// {"step", "loss", "lr", …} for steps, {"event", …} for guard events, checkpoints, evaluations),
// the workspace's run_metrics rows (when the run has a workspace), and the terminal through the
// callbacks the command line gives. Only rank 0 writes; other ranks get a sink that drops all.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace tsumugi {
class Workspace;
struct Account;
}  // namespace tsumugi

namespace tsumugi::training {

struct MetricsOptions {
    std::string runDir;
    bool enabled = true;  // false on ranks other than 0
    Workspace* workspace = nullptr;
    const Account* actor = nullptr;
    int64_t runId = 0;
    std::function<void(const nlohmann::ordered_json&)> emit;  // one object per line (--json)
    std::function<void(const std::string&)> say;              // a human line
    std::function<void(const std::string&)> progress;         // an updating progress line
};

class MetricsSink {
public:
    explicit MetricsSink(MetricsOptions options);

    // A step's numbers: metrics.jsonl, the workspace, and the --json stream.
    void step(int64_t step, const std::map<std::string, double>& values);
    // An event ({"event": name, …}): metrics.jsonl, the workspace (as a metric "event.<name>" = 1),
    // the --json stream and a human line.
    void event(int64_t step, const std::string& name, nlohmann::ordered_json fields, const std::string& human);
    void say(const std::string& line) const;
    void progress(const std::string& line) const;
    bool enabled() const { return m_options.enabled; }

private:
    void write(const nlohmann::ordered_json& line);
    MetricsOptions m_options;
    std::ofstream m_file;
};

// Loads RUN_DIR/metrics.jsonl into the workspace's run (`tsumugi runs ingest`): step lines
// become metrics, event lines metrics named "event.<name>". → lines read. Throws ParseError
// with the line number for a malformed line.
int64_t ingestMetrics(Workspace& ws, const Account& actor, int64_t runId, const std::string& metricsFile);

}  // namespace tsumugi::training
