#include "training/guard.h"

#include <cmath>

namespace tsumugi::training {

const char* guardActionName(GuardAction action)
{
    switch (action) {
        case GuardAction::Accept:
            return "accept";
        case GuardAction::SkipNonFinite:
            return "skip_non_finite";
        case GuardAction::SkipSpike:
            return "skip_spike";
        case GuardAction::Rollback:
            return "rollback";
    }
    return "?";
}

double SpikeGuard::mean() const
{
    if (m_losses.empty()) return 0.0;
    double sum = 0;
    for (double v : m_losses) sum += v;
    return sum / double(m_losses.size());
}

double SpikeGuard::stddev() const
{
    if (m_losses.size() < 2) return 0.0;
    const double m = mean();
    double sum = 0;
    for (double v : m_losses) sum += (v - m) * (v - m);
    return std::sqrt(sum / double(m_losses.size() - 1));
}

GuardAction SpikeGuard::observe(int64_t step, double loss, double gradNorm)
{
    GuardAction verdict = GuardAction::Accept;
    if (!std::isfinite(loss) || !std::isfinite(gradNorm)) {
        verdict = GuardAction::SkipNonFinite;
    } else if (int64_t(m_losses.size()) >= m_options.minHistory) {
        const double m = mean(), s = stddev();
        if (loss > m + m_options.sigmas * s && loss > (1.0 + m_options.minRise) * m) verdict = GuardAction::SkipSpike;
    }
    if (verdict == GuardAction::Accept) {
        m_losses.push_back(loss);
        while (int64_t(m_losses.size()) > m_options.window) m_losses.pop_front();
        return verdict;
    }
    m_spikes.push_back(step);
    while (!m_spikes.empty() && m_spikes.front() <= step - m_options.spikeWindow) m_spikes.pop_front();
    if (int64_t(m_spikes.size()) >= m_options.maxSpikes) return GuardAction::Rollback;
    return verdict;
}

nlohmann::json SpikeGuard::toJson() const
{
    return {{"losses", std::vector<double>(m_losses.begin(), m_losses.end())},
            {"spikes", std::vector<int64_t>(m_spikes.begin(), m_spikes.end())}};
}

void SpikeGuard::fromJson(const nlohmann::json& j)
{
    m_losses.clear();
    m_spikes.clear();
    if (j.contains("losses"))
        for (double v : j["losses"].get<std::vector<double>>()) m_losses.push_back(v);
    if (j.contains("spikes"))
        for (int64_t v : j["spikes"].get<std::vector<int64_t>>()) m_spikes.push_back(v);
}

}  // namespace tsumugi::training
