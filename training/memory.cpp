#include "training/memory.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"

#if TSUMUGI_CUDA
#include <cuda_runtime_api.h>
#endif

namespace tsumugi::training {

std::string humanBytes(int64_t bytes)
{
    char buf[64];
    const double b = double(bytes);
    if (b >= 1024.0 * 1024 * 1024)
        std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    else
        std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
    return buf;
}

std::string MemoryEstimate::describe() const
{
    return "weights " + humanBytes(weights) + ", gradients " + humanBytes(gradients) + ", optimizer " +
           humanBytes(optimizer) + ", activations " + humanBytes(activations) + ", logits " + humanBytes(logits) +
           "; total " + humanBytes(total());
}

MemoryEstimate estimateTrainingMemory(const model::LlamaConfig& c, at::ScalarType dtype, int64_t trainable,
                                      int64_t batch, int64_t seqLen, bool checkpointing)
{
    const int64_t bytes = int64_t(c10::elementSize(dtype));
    MemoryEstimate m;
    m.weights = c.parameterCount() * bytes;
    m.gradients = trainable * bytes;
    m.optimizer = trainable * 4 * 2 + (dtype == at::kFloat ? 0 : trainable * 4);
    const int64_t tokens = batch * seqLen;
    // Korthikanti et al.: s·b·h·(34 + 5·a·s/h) bytes per layer at 2 bytes a value.
    const int64_t perLayer = tokens * (34 * c.hiddenSize + 5 * c.numAttentionHeads * seqLen) * bytes / 2 +
                             tokens * 4 * c.numAttentionHeads * seqLen;
    m.activations = checkpointing ? perLayer + c.numHiddenLayers * tokens * c.hiddenSize * bytes
                                  : c.numHiddenLayers * perLayer;
    m.logits = 3 * tokens * c.vocabSize * 4;
    return m;
}

int64_t availableMemory(const at::Device& device)
{
    if (device.is_cpu()) {
        std::ifstream in("/proc/meminfo");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("MemAvailable:", 0) == 0) {
                std::istringstream fields(line.substr(13));
                int64_t kb = 0;
                fields >> kb;
                return kb * 1024;
            }
        }
        return 0;
    }
#if TSUMUGI_CUDA
    size_t free = 0, total = 0;
    if (cudaSetDevice(device.index() < 0 ? 0 : device.index()) == cudaSuccess &&
        cudaMemGetInfo(&free, &total) == cudaSuccess)
        return int64_t(free);
#endif
    return 0;
}

}  // namespace tsumugi::training
