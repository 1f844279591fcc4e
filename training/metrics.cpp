#include "training/metrics.h"

#include <filesystem>
#include <vector>

#include "core/error.h"
#include "datastore/runs.h"

namespace tsumugi::training {

using nlohmann::ordered_json;

MetricsSink::MetricsSink(MetricsOptions options) : m_options(std::move(options))
{
    if (!m_options.enabled || m_options.runDir.empty()) return;
    std::filesystem::create_directories(m_options.runDir);
    const std::string path = (std::filesystem::path(m_options.runDir) / "metrics.jsonl").string();
    m_file.open(path, std::ios::app | std::ios::binary);
    if (!m_file) throw Error(path + ": cannot open for writing");
}

void MetricsSink::write(const ordered_json& line)
{
    if (!m_file.is_open()) return;
    m_file << line.dump() << '\n';
    m_file.flush();
}

void MetricsSink::step(int64_t step, const std::map<std::string, double>& values)
{
    if (!m_options.enabled) return;
    ordered_json line = {{"step", step}};
    for (const auto& [k, v] : values) line[k] = v;
    write(line);
    if (m_options.workspace && m_options.actor && m_options.runId) {
        std::vector<Metric> metrics;
        for (const auto& [k, v] : values) metrics.push_back({step, k, v});
        addMetrics(*m_options.workspace, *m_options.actor, m_options.runId, metrics);
    }
    if (m_options.emit) m_options.emit(line);
}

void MetricsSink::event(int64_t step, const std::string& name, ordered_json fields, const std::string& human)
{
    if (!m_options.enabled) return;
    ordered_json line = {{"event", name}, {"step", step}};
    for (auto& [k, v] : fields.items()) line[k] = v;
    write(line);
    if (m_options.workspace && m_options.actor && m_options.runId)
        addMetrics(*m_options.workspace, *m_options.actor, m_options.runId, {{step, "event." + name, 1.0}});
    if (m_options.emit) m_options.emit(line);
    if (!human.empty()) say(human);
}

void MetricsSink::say(const std::string& line) const
{
    if (m_options.enabled && m_options.say) m_options.say(line);
}

void MetricsSink::progress(const std::string& line) const
{
    if (m_options.enabled && m_options.progress) m_options.progress(line);
}

int64_t ingestMetrics(Workspace& ws, const Account& actor, int64_t runId, const std::string& metricsFile)
{
    std::ifstream in(metricsFile, std::ios::binary);
    if (!in) throw NotFoundError(metricsFile + ": cannot read");
    std::string text;
    int64_t lineNo = 0;
    std::vector<Metric> metrics;
    while (std::getline(in, text)) {
        ++lineNo;
        if (text.empty()) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            throw ParseError(metricsFile, lineNo, 1, std::string("not a JSON object: ") + e.what());
        }
        if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer())
            throw ParseError(metricsFile, lineNo, 1, "a metrics line needs an integer \"step\"");
        const int64_t step = j["step"].get<int64_t>();
        if (j.contains("event")) {
            metrics.push_back({step, "event." + j["event"].get<std::string>(), 1.0});
            continue;
        }
        for (const auto& [k, v] : j.items())
            if (k != "step" && v.is_number()) metrics.push_back({step, k, v.get<double>()});
    }
    addMetrics(ws, actor, runId, metrics);
    return lineNo;
}

}  // namespace tsumugi::training
