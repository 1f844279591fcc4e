// The loss-spike and NaN guard. Each optimizer step's loss (and gradient norm) is shown to it
// before the update: a non-finite value, or a loss far above the recent ones, skips the step;
// repeated spikes within a window ask for a rollback to the last good checkpoint with a lower
// learning rate, and the batches that spiked are never trained on again.
//
// A spike: loss > mean + sigmas × std AND loss > (1 + minRise) × mean, over the last `window`
// accepted losses, once `minHistory` of them exist (early losses fall fast and are not judged).
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include <nlohmann/json.hpp>

namespace tsumugi::training {

struct GuardOptions {
    int64_t window = 32;
    int64_t minHistory = 8;
    double sigmas = 6.0;
    double minRise = 0.5;
    int64_t maxSpikes = 3;      // this many skipped steps …
    int64_t spikeWindow = 50;   // … within this many steps → rollback
    double lrBackoff = 0.5;     // the LR scale is multiplied by this on a rollback
};

enum class GuardAction { Accept, SkipNonFinite, SkipSpike, Rollback };
const char* guardActionName(GuardAction action);

class SpikeGuard {
public:
    explicit SpikeGuard(GuardOptions options = {}) : m_options(options) {}

    // The verdict on the loss of step `step`; accepted losses join the statistics.
    GuardAction observe(int64_t step, double loss, double gradNorm);
    // After a rollback: the spike record starts again (the statistics are kept).
    void clearSpikes() { m_spikes.clear(); }

    double mean() const;
    double stddev() const;
    const GuardOptions& options() const { return m_options; }

    nlohmann::json toJson() const;
    void fromJson(const nlohmann::json& j);  // what toJson gave; an empty object resets

private:
    GuardOptions m_options;
    std::deque<double> m_losses;   // accepted, newest last
    std::deque<int64_t> m_spikes;  // steps skipped, newest last
};

}  // namespace tsumugi::training
