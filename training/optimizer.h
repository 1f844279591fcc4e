// AdamW with decoupled weight decay (Loshchilov & Hutter; the update of torch.optim.AdamW),
// the learning-rate schedule (linear warmup, then cosine or linear decay) and global-norm
// gradient clipping (torch.nn.utils.clip_grad_norm_). Our own rather than torch::optim: its
// state is a set of named tensors we save in safetensors beside the model, so a resumed run
// continues bit for bit, and bf16 parameters get fp32 master copies here.
#pragma once

#include <ATen/ATen.h>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tsumugi::training {

using NamedTensorList = std::vector<std::pair<std::string, at::Tensor>>;

// No weight decay on norms and biases (and on any 1-D tensor), as TRL and torchtune group them.
bool decays(const std::string& name, const at::Tensor& parameter);

struct AdamWOptions {
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weightDecay = 0.0;
};

class AdamW {
public:
    // `parameters`: the trainable tensors by name (requires_grad). Parameters not in fp32 get an
    // fp32 master copy; the update runs on it and is copied back (bf16 training on CUDA).
    AdamW(NamedTensorList parameters, AdamWOptions options);

    // One update with learning rate `lr` from the gradients now in .grad (a parameter without a
    // gradient is left alone). Step counts from 1, as PyTorch's.
    void step(double lr);
    void zeroGrad();  // drops the gradients (set to undefined, as set_to_none=True)

    int64_t steps() const { return m_step; }
    const AdamWOptions& options() const { return m_options; }
    const NamedTensorList& parameters() const { return m_params; }

    // The state to save: "exp_avg.<name>", "exp_avg_sq.<name>", "master.<name>" (fp32 on the
    // CPU) — moments only for parameters that have taken a step.
    NamedTensorList state() const;
    // Restores what state() gave (with the step count); throws tsumugi::Error naming a missing
    // or misshapen tensor.
    void loadState(const NamedTensorList& state, int64_t steps);

private:
    struct Slot {
        at::Tensor expAvg, expAvgSq, master;
        bool decay = true;
    };
    NamedTensorList m_params;
    std::vector<Slot> m_slots;
    AdamWOptions m_options;
    int64_t m_step = 0;
};

enum class Schedule { Cosine, Linear, Constant };
Schedule parseSchedule(const std::string& name);  // cosine | linear | constant

struct ScheduleOptions {
    double peak = 2e-5;
    int64_t warmupSteps = 0;
    int64_t totalSteps = 1;
    Schedule kind = Schedule::Cosine;
    double minRatio = 0.0;  // the floor of the decay, as a share of the peak
};
// Step counts from 0 (the first update): warmup ramps (step + 1) / warmup × peak, then the
// decay goes from the peak at the end of warmup to minRatio × peak at totalSteps.
double learningRate(const ScheduleOptions& options, int64_t step);

// Scales every gradient by min(1, maxNorm / total) where total is the L2 norm over all of them
// together; returns total (before clipping; NaN or inf when a gradient is). maxNorm <= 0: only
// measures.
double clipGradNorm(const std::vector<at::Tensor>& parameters, double maxNorm);

}  // namespace tsumugi::training
