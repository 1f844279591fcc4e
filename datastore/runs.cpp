#include "datastore/runs.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/workspace.h"

namespace tsumugi {

namespace {
void requireJsonObject(const std::string& text, const std::string& what)
{
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) throw Error(what + " must be a JSON object");
}

constexpr std::string_view kSelect = "SELECT id, kind, config_json, snapshot_id, base_model, status, output_dir, "
                                     "started_at, finished_at FROM runs ";

Run readRun(db::Statement& st)
{
    return {st.int64(0),   st.text(1),    st.text(2),    st.optInt64(3), st.optText(4),
            st.text(5),    st.optText(6), st.text(7),    st.optText(8)};
}
}  // namespace

int64_t createRun(Workspace& ws, const Account& actor, const std::string& kind, const std::string& configJson,
                  std::optional<int64_t> snapshotId, const std::optional<std::string>& baseModel,
                  const std::optional<std::string>& outputDir)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin, Role::Service}, "record training runs");
    requireJsonObject(configJson, "the run config");
    if (kind.empty()) throw Error("a run needs a kind (sft, dpo, …)");
    db::Transaction tx(ws.db());
    ws.db()
        .prepare("INSERT INTO runs(kind, config_json, snapshot_id, base_model, status, output_dir, started_at) "
                 "VALUES (?, ?, ?, ?, 'running', ?, ?)")
        .bindAll(kind, configJson, snapshotId, baseModel, outputDir, ws.now())
        .run();
    const int64_t id = ws.db().lastInsertId();
    audit(ws, actor, {"run.create", "run", id, {}, {}}, {{"kind", kind}});
    tx.commit();
    return id;
}

void finishRun(Workspace& ws, const Account& actor, int64_t runId, const std::string& status)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin, Role::Service}, "record training runs");
    if (status != "finished" && status != "failed" && status != "cancelled")
        throw Error("run status '" + status + "' must be finished, failed or cancelled");
    db::Transaction tx(ws.db());
    ws.db()
        .prepare("UPDATE runs SET status = ?, finished_at = ? WHERE id = ? AND status = 'running'")
        .bindAll(status, ws.now(), runId)
        .run();
    if (ws.db().changes() != 1) throw Error("run " + std::to_string(runId) + " is not running");
    audit(ws, actor, {"run.finish", "run", runId, {}, {}}, {{"status", status}});
    tx.commit();
}

void resumeRun(Workspace& ws, const Account& actor, int64_t runId)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin, Role::Service}, "record training runs");
    db::Transaction tx(ws.db());
    ws.db().prepare("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?").bindAll(runId).run();
    if (ws.db().changes() != 1) throw NotFoundError("run " + std::to_string(runId) + " does not exist");
    audit(ws, actor, {"run.resume", "run", runId, {}, {}}, {});
    tx.commit();
}

void addMetrics(Workspace& ws, const Account& actor, int64_t runId, const std::vector<Metric>& metrics)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin, Role::Service}, "record training metrics");
    db::Transaction tx(ws.db());
    runById(ws, runId);
    auto st = ws.db().prepare("INSERT OR REPLACE INTO run_metrics(run_id, step, name, value) VALUES (?, ?, ?, ?)");
    for (const Metric& m : metrics) {
        st.reset();
        st.bindAll(runId, m.step, m.name, m.value).run();
    }
    tx.commit();
}

int64_t addCheckpoint(Workspace& ws, const Account& actor, int64_t runId, int64_t step, const std::string& path,
                      const std::string& metricsJson)
{
    ws.requireWritable();
    requireRole(actor, {Role::Admin, Role::Service}, "record checkpoints");
    requireJsonObject(metricsJson, "the checkpoint metrics");
    db::Transaction tx(ws.db());
    runById(ws, runId);
    ws.db()
        .prepare("INSERT INTO checkpoints(run_id, step, path, metrics_json, created_at) VALUES (?, ?, ?, ?, ?)")
        .bindAll(runId, step, path, metricsJson, ws.now())
        .run();
    const int64_t id = ws.db().lastInsertId();
    audit(ws, actor, {"checkpoint.create", "checkpoint", id, {}, {}}, {{"run_id", runId}, {"step", step}});
    tx.commit();
    return id;
}

std::vector<Run> listRuns(Workspace& ws)
{
    auto st = ws.db().prepare(std::string(kSelect) + "ORDER BY id");
    std::vector<Run> out;
    while (st.step()) out.push_back(readRun(st));
    return out;
}

Run runById(Workspace& ws, int64_t id)
{
    auto st = ws.db().prepare(std::string(kSelect) + "WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw NotFoundError("no run with id " + std::to_string(id));
    return readRun(st);
}

std::vector<Metric> runMetrics(Workspace& ws, int64_t runId, const std::optional<std::string>& name)
{
    auto st = ws.db().prepare(name ? "SELECT step, name, value FROM run_metrics WHERE run_id = ? AND name = ? "
                                     "ORDER BY step"
                                   : "SELECT step, name, value FROM run_metrics WHERE run_id = ? ORDER BY name, step");
    st.bind(1, runId);
    if (name) st.bind(2, *name);
    std::vector<Metric> out;
    while (st.step()) out.push_back({st.int64(0), st.text(1), st.real(2)});
    return out;
}

std::vector<Checkpoint> runCheckpoints(Workspace& ws, int64_t runId)
{
    auto st = ws.db().prepare("SELECT id, run_id, step, path, metrics_json, created_at FROM checkpoints "
                              "WHERE run_id = ? ORDER BY step");
    st.bind(1, runId);
    std::vector<Checkpoint> out;
    while (st.step()) out.push_back({st.int64(0), st.int64(1), st.int64(2), st.text(3), st.text(4), st.text(5)});
    return out;
}

}  // namespace tsumugi
