#include "training/optimizer.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <torch/utils.h>

#include "core/error.h"

namespace tsumugi::training {

bool decays(const std::string& name, const at::Tensor& parameter)
{
    const auto ends = [&](std::string_view tail) {
        return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
    };
    return parameter.dim() > 1 && !ends("norm.weight") && !ends(".bias");
}

AdamW::AdamW(NamedTensorList parameters, AdamWOptions options)
    : m_params(std::move(parameters)), m_slots(m_params.size()), m_options(options)
{
    for (size_t i = 0; i < m_params.size(); ++i) {
        const auto& [name, p] = m_params[i];
        if (!p.requires_grad()) throw Error("AdamW: parameter " + name + " does not require a gradient");
        m_slots[i].decay = decays(name, p);
        if (p.scalar_type() != at::kFloat) m_slots[i].master = p.detach().to(at::kFloat).clone();
    }
}

void AdamW::step(double lr)
{
    torch::NoGradGuard noGrad;
    ++m_step;
    const double b1 = m_options.beta1, b2 = m_options.beta2;
    const double correction1 = 1.0 - std::pow(b1, double(m_step));
    const double correction2Sqrt = std::sqrt(1.0 - std::pow(b2, double(m_step)));
    for (size_t i = 0; i < m_params.size(); ++i) {
        at::Tensor& p = m_params[i].second;
        if (!p.grad().defined()) continue;
        Slot& s = m_slots[i];
        at::Tensor target = s.master.defined() ? s.master : p;  // fp32
        const at::Tensor g = p.grad().to(at::kFloat);
        if (!s.expAvg.defined()) {
            s.expAvg = at::zeros_like(target);
            s.expAvgSq = at::zeros_like(target);
        }
        if (s.decay && m_options.weightDecay != 0) target.mul_(1.0 - lr * m_options.weightDecay);
        s.expAvg.mul_(b1).add_(g, 1.0 - b1);
        s.expAvgSq.mul_(b2).addcmul_(g, g, 1.0 - b2);
        const at::Tensor denom = (s.expAvgSq.sqrt() / correction2Sqrt).add_(m_options.eps);
        target.addcdiv_(s.expAvg, denom, -lr / correction1);
        if (s.master.defined()) p.copy_(s.master);
    }
}

void AdamW::zeroGrad()
{
    for (auto& [name, p] : m_params) p.mutable_grad() = at::Tensor();
}

NamedTensorList AdamW::state() const
{
    NamedTensorList out;
    for (size_t i = 0; i < m_params.size(); ++i) {
        const std::string& name = m_params[i].first;
        const Slot& s = m_slots[i];
        if (s.expAvg.defined()) {
            out.emplace_back("exp_avg." + name, s.expAvg.detach().cpu());
            out.emplace_back("exp_avg_sq." + name, s.expAvgSq.detach().cpu());
        }
        if (s.master.defined()) out.emplace_back("master." + name, s.master.detach().cpu());
    }
    return out;
}

void AdamW::loadState(const NamedTensorList& state, int64_t steps)
{
    std::map<std::string, const at::Tensor*> byName;
    for (const auto& [name, t] : state) byName[name] = &t;
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < m_params.size(); ++i) {
        const auto& [name, p] = m_params[i];
        Slot& s = m_slots[i];
        auto take = [&](const std::string& key, bool required) -> at::Tensor {
            auto it = byName.find(key);
            if (it == byName.end()) {
                if (required) throw Error("optimizer state: no tensor " + key + "; the state belongs to another model");
                return {};
            }
            if (it->second->sizes() != p.sizes())
                throw Error("optimizer state: " + key + " has the wrong shape; the state belongs to another model");
            return it->second->to(p.device(), at::kFloat).clone();
        };
        s.expAvg = take("exp_avg." + name, false);
        s.expAvgSq = s.expAvg.defined() ? take("exp_avg_sq." + name, true) : at::Tensor();
        if (s.master.defined()) {
            s.master = take("master." + name, true);
            p.copy_(s.master);
        }
    }
    m_step = steps;
}

Schedule parseSchedule(const std::string& name)
{
    if (name == "cosine") return Schedule::Cosine;
    if (name == "linear") return Schedule::Linear;
    if (name == "constant") return Schedule::Constant;
    throw Error("unknown learning-rate schedule \"" + name + "\"; use cosine, linear or constant");
}

double learningRate(const ScheduleOptions& o, int64_t step)
{
    if (o.warmupSteps > 0 && step < o.warmupSteps) return o.peak * double(step + 1) / double(o.warmupSteps);
    if (o.kind == Schedule::Constant) return o.peak;
    const double span = double(std::max<int64_t>(1, o.totalSteps - o.warmupSteps));
    const double progress = std::clamp(double(step - o.warmupSteps) / span, 0.0, 1.0);
    const double shape = o.kind == Schedule::Cosine ? 0.5 * (1.0 + std::cos(M_PI * progress)) : 1.0 - progress;
    return o.peak * (o.minRatio + (1.0 - o.minRatio) * shape);
}

double clipGradNorm(const std::vector<at::Tensor>& parameters, double maxNorm)
{
    torch::NoGradGuard noGrad;
    std::vector<at::Tensor> norms;
    for (const auto& p : parameters)
        if (p.grad().defined()) norms.push_back(p.grad().to(at::kFloat).norm(2));
    if (norms.empty()) return 0.0;
    const double total = at::stack(norms).norm(2).item<double>();
    if (maxNorm > 0 && std::isfinite(total) && total > maxNorm) {
        const double scale = maxNorm / (total + 1e-6);
        for (const auto& p : parameters)
            if (p.grad().defined()) p.grad().mul_(scale);
    }
    return total;
}

}  // namespace tsumugi::training
