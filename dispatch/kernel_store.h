// Where dispatch finds what it launches: compiled kernels (memory, then the disk cache, then
// the compiler), tuned configs (the config cache), and the cache settings that name both.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cache/kernel_key.h"
#include "codegen/jit_kernel.h"
#include "uintx/uintx.h"

namespace uintx::dispatch {

// The kernel for a program: from memory, else PTX from the kernels directory, else compiled
// (and stored there). Thread-safe.
std::shared_ptr<codegen::JitKernel> compiledKernel(const dsl::KernelProgram& program);

// Empty when a config can run the call's format, else why not.
using ConfigCheck = std::function<std::string(const cache::KernelConfig&)>;

// The tuned config for `key`: the user's config cache (see CacheSettings; uintx-tune writes
// it) first, then the GPU's shipped table (cache/gpu_tables.h); nullopt if neither has one.
// An entry `check` refuses (a hand-edited file, a config from another build) is reported
// once on stderr and passed over: the call runs the next source's config.
std::optional<cache::KernelConfig> tunedConfig(const cache::KernelKey& key, const std::string& gpuName,
                                               const std::string& computeCapability, const ConfigCheck& check);

// Counts setCacheSettings calls: a plan made under another count may hold a config of other
// settings (dispatch/linear.cc makes such plans again).
uint64_t cacheSettingsGeneration();

// Writes "uintx: warning: <message>" to stderr, once per distinct message per process.
void warnOnce(const std::string& message);

// Counters for tests and the time-to-first-result measurement.
struct KernelCacheStats {
  int memoryHits = 0, diskHits = 0, compiles = 0;
};
KernelCacheStats kernelCacheStats();

}  // namespace uintx::dispatch
