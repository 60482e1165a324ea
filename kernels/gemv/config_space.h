// The GEMV search space of the autotuner: candidate launch configs for one kernel key,
// pruned to the ones worth timing (rules: docs/CACHE.md, "GEMV search space").
#pragma once

#include <string>
#include <vector>

#include "cache/gpu_model.h"
#include "cache/kernel_key.h"
#include "kernels/gemv/gemv.h"

namespace uintx::kernels {

// The families this space serves: what uintx::kernelFamily(M) names.
bool isGemvFamily(cache::KernelFamily family);

// Activation rows per program for a key: the M bucket capped at 16 (16 for "gemv_tiled").
int gemvBlockM(const cache::KernelKey& key);

// Register budget: more tile elements per thread than this spill.
constexpr int kMaxGemvElementsPerThread = 128;
// Longest list returned for one key.
constexpr int kMaxGemvConfigs = 40;

// Every config of the grid worth timing for this format, M and rows per program, in grid
// order: what the tuner's space and the cost model's default choose from.
std::vector<GemvConfig> gemvCandidates(const QuantSpec& q, int64_t M, int blockM, int smCount);

// Candidates for `key`, the default (uintx::defaultGemvConfig at M = m_bucket,
// what a cache miss runs) first, then the rest ordered by how plausible they are, at most
// kMaxGemvConfigs. Every one passes kernels::validateGemvConfig. `smCount` is the GPU's.
// Throws uintx::Error for a family other than "gemv"/"gemv_tiled" or an invalid format.
std::vector<kernels::GemvConfig> gemvConfigSpace(const cache::KernelKey& key, const cache::GpuModel& gpu);
std::vector<kernels::GemvConfig> gemvConfigSpace(const cache::KernelKey& key, int smCount);  // the generic model

}  // namespace uintx::kernels
