#include "training/loss.h"

namespace tsumugi::training {

at::Tensor causalLmLossSum(const at::Tensor& logits, const at::Tensor& labels)
{
    const int64_t v = logits.size(-1);
    return at::cross_entropy_loss(logits.reshape({-1, v}), labels.reshape({-1}).to(logits.device()), {},
                                  at::Reduction::Sum, kIgnoreIndex);
}

int64_t lossTokens(const at::Tensor& labels)
{
    return (labels != kIgnoreIndex).sum().item<int64_t>();
}

}  // namespace tsumugi::training
