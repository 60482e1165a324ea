// The seam between the CLI (or the library's first-call path) and the GPU timing loop.
// An implementation owns the search space, pruning, timing and compilation (it writes the
// compiled-kernel cache itself); the caller owns the config cache.
#pragma once
#include <functional>
#include <string>

#include "cache/config_cache.h"
#include "cache/kernel_key.h"

namespace uintx::autotune {

// Reported as the key's work goes on: steps done of total (GpuTuner: each candidate config
// compiled, then each timed, so total is twice the candidates).
using ProgressFn = std::function<void(int stepsDone, int stepsTotal)>;

struct TuneResult {
  bool ok = false;
  cache::KernelConfig config;  // the fastest config, when ok
  double time_us = 0;   // its median time, when ok
  std::string error;    // why not, when !ok (no config could launch, compile failed, ...)
};

class Tuner {
 public:
  virtual ~Tuner() = default;
  // The GPU the tuner times on; the config cache file is keyed by it.
  virtual cache::GpuIdentity gpu() const = 0;
  // Should not throw; an exception is treated like {ok = false, error = what()}.
  virtual TuneResult tune(const cache::KernelKey& key, ProgressFn progress) = 0;
};

}  // namespace uintx::autotune
