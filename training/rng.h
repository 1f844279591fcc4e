// The default generator's state of a device, read and set under its lock: checkpoints save it
// (exact resume), activation checkpointing replays it (the same dropout masks twice).
#pragma once

#include <mutex>

#include <ATen/ATen.h>
#include <ATen/core/Generator.h>

namespace tsumugi::training {

inline at::Tensor generatorState(const at::Device& device)
{
    at::Generator gen = at::globalContext().defaultGenerator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get_state();
}

inline void setGeneratorState(const at::Device& device, const at::Tensor& state)
{
    at::Generator gen = at::globalContext().defaultGenerator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
}

}  // namespace tsumugi::training
