#include "training/activation_checkpoint.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include "training/rng.h"

namespace tsumugi::training {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// forward(x, anchor, layer, cos, sin, mask): `anchor` is a scalar that requires a gradient, so
// the output requires one even when x does not (frozen embeddings under LoRA).
struct CheckpointedLayer : torch::autograd::Function<CheckpointedLayer> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& anchor,
                              model::LlamaDecoderLayerImpl* layer, const at::Tensor& cos, const at::Tensor& sin,
                              const at::Tensor& mask)
    {
        (void)anchor;
        ctx->saved_data["layer"] = int64_t(reinterpret_cast<intptr_t>(layer));
        ctx->saved_data["x_requires_grad"] = x.requires_grad();
        ctx->saved_data["cos"] = cos;
        ctx->saved_data["sin"] = sin;
        ctx->saved_data["mask"] = mask;
        ctx->saved_data["rng_cpu"] = generatorState(at::kCPU);
        if (!x.device().is_cpu()) ctx->saved_data["rng_device"] = generatorState(x.device());
        ctx->save_for_backward({x});
        torch::NoGradGuard noGrad;
        return layer->forward(x, cos, sin, mask);
    }

    static variable_list backward(AutogradContext* ctx, variable_list gradOutputs)
    {
        auto* layer = reinterpret_cast<model::LlamaDecoderLayerImpl*>(intptr_t(ctx->saved_data["layer"].toInt()));
        const at::Tensor saved = ctx->get_saved_variables()[0];
        at::Tensor x = saved.detach().requires_grad_(true);
        const at::Device device = x.device();
        // Replay the forward's random numbers, then put the current ones back.
        const at::Tensor cpuNow = generatorState(at::kCPU);
        const at::Tensor deviceNow = device.is_cpu() ? at::Tensor() : generatorState(device);
        setGeneratorState(at::kCPU, ctx->saved_data["rng_cpu"].toTensor());
        if (!device.is_cpu()) setGeneratorState(device, ctx->saved_data["rng_device"].toTensor());
        at::Tensor out;
        {
            torch::AutoGradMode enable(true);
            out = layer->forward(x, ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor(),
                                 ctx->saved_data["mask"].toTensor());
        }
        setGeneratorState(at::kCPU, cpuNow);
        if (!device.is_cpu()) setGeneratorState(device, deviceNow);
        torch::autograd::backward({out}, {gradOutputs[0]});
        const bool xNeedsGrad = ctx->saved_data["x_requires_grad"].toBool();
        return {xNeedsGrad ? x.grad() : at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(),
                at::Tensor()};
    }
};

}  // namespace

void enableActivationCheckpointing(model::LlamaModelImpl& model)
{
    auto anchor = std::make_shared<at::Tensor>();
    model.layerRunner = [anchor](model::LlamaDecoderLayerImpl& layer, const at::Tensor& x, const at::Tensor& cos,
                                 const at::Tensor& sin, const at::Tensor& mask) -> at::Tensor {
        if (!at::GradMode::is_enabled()) return layer.forward(x, cos, sin, mask);  // evaluation: nothing to save
        if (!anchor->defined() || anchor->device() != x.device())
            *anchor = at::zeros({}, x.options().dtype(at::kFloat)).requires_grad_(true);
        return CheckpointedLayer::apply(x, *anchor, &layer, cos, sin, mask);
    };
}

void disableActivationCheckpointing(model::LlamaModelImpl& model)
{
    model.layerRunner = nullptr;
}

}  // namespace tsumugi::training
