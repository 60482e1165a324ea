// The metadata layer between a linear call and a kernel: the key of a call (kernel family
// chosen by M, format, dtypes, N, K, M bucket), its launch configuration (tuned from the
// config cache, else a heuristic default), and compiled kernels cached in memory and on disk.
#pragma once

#include <memory>
#include <string>

#include "cache/kernel_key.h"
#include "codegen/jit_kernel.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemv/gemv.h"
#include "packing/weight_format.h"

namespace uintx {

// Where tuned configs and compiled kernels live; empty strings disable that cache.
// Defaults: $UINTX_CONFIG_CACHE / $UINTX_KERNEL_CACHE_DIR (see docs/CACHE.md); caching is
// on by default for kernels and off for configs unless the variable or this call names one.
struct CacheSettings {
  std::string configCachePath;
  std::string kernelsDir;
};
void setCacheSettings(const CacheSettings& settings);
CacheSettings cacheSettings();

// Kernel family for a call: "gemm_int8" with int8 activations; else "gemv" for M up to
// $UINTX_GEMM_MIN_M - 1 (default 2), then "gemm" (tensor cores) where the format allows it
// and "gemv_tiled" (CUDA cores, any format) where it does not.
std::string kernelFamily(const kernels::QuantSpec& q, int64_t M, bool int8Activations);
cache::KernelKey kernelKey(const WeightFormat& format, const std::string& actDtype, int64_t M,
                              bool int8Activations = false);

// The GEMM config when nothing is tuned (smCount, the GPU's, decides split-K for small M; 0:
// none), and conversions to and from the cache's form.
kernels::GemmConfig defaultGemmConfig(const kernels::QuantSpec& q, int64_t M, bool int8Activations, int smCount);
kernels::GemmConfig gemmConfigFrom(const cache::KernelConfig& config);
cache::KernelConfig toKernelConfig(const kernels::GemmConfig& config);

// A launch configuration for this format and M when nothing is tuned.
kernels::GemvConfig defaultGemvConfig(const kernels::QuantSpec& q, int64_t M, int smCount);
kernels::GemvConfig gemvConfigFrom(const cache::KernelConfig& config);
cache::KernelConfig toKernelConfig(const kernels::GemvConfig& config);

// The tuned config for `key` if the config cache (see CacheSettings) has one; uintx-tune
// writes it.
std::optional<cache::KernelConfig> tunedConfig(const cache::KernelKey& key, const std::string& gpuName,
                                                  const std::string& computeCapability);

// The kernel for a program: from memory, else PTX from the kernels directory, else compiled
// (and stored there). Thread-safe.
std::shared_ptr<codegen::JitKernel> compiledKernel(const dsl::KernelProgram& program);

// Counters for tests and the time-to-first-result measurement.
struct KernelCacheStats {
  int memoryHits = 0, diskHits = 0, compiles = 0;
};
KernelCacheStats kernelCacheStats();

}  // namespace uintx
