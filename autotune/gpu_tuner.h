// The GPU tuner of every kernel family uintx::linear runs. It times every config of the key's
// space (kernels::configSpace) on random weights of the key's format, launched through the
// family's plan exactly as uintx::linear launches it, and returns the fastest whose output
// matches the default config's. Kernels are compiled through dispatch::compiledKernel, so the
// kernels directory of uintx::cacheSettings() receives them.
#pragma once

#include "cache/gpu_model.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autotune/output_agreement.h"
#include "autotune/tune_cli.h"
#include "autotune/tuner.h"

namespace uintx::autotune {

struct GpuTunerOptions {
  int warmup = 3;                           // untimed launches per config
  int repeats = 15;                         // timed samples per config; the median is kept
  size_t rotatedBytes = size_t(100) << 20;  // weight copies until the rotation exceeds this
  int maxCopies = 8;
  OutputAgreement agreement;       // of a candidate's output with the default config's
  int compileThreads = 0;          // candidates compiled at once, before timing (0: the cores, up to 16)
  uint64_t seed = 0x5eed;
  // Notes about skipped configs and rejected winners (default: stderr, "uintx-tune: note: ").
  std::function<void(const std::string&)> note;
};

class GpuTuner : public Tuner {
 public:
  // Makes the CUDA context current (runtime::ensureCudaContext); throws uintx::Error without a GPU.
  explicit GpuTuner(GpuTunerOptions options = {});
  ~GpuTuner() override;

  cache::GpuIdentity gpu() const override { return gpu_; }
  // Never throws: a failure comes back as {ok = false, error}.
  TuneResult tune(const cache::KernelKey& key, ProgressFn progress) override;

 private:
  struct Workload;   // the weights, activations and outputs of one key's format and M
  struct Candidate;  // one config of a key's space: how to compile and launch it
  TuneResult tuneOrThrow(const cache::KernelKey& key, const ProgressFn& progress);
  std::vector<Candidate> candidates(const cache::KernelKey& key, Workload& w);
  Workload& workloadFor(const cache::KernelKey& key);

  GpuTunerOptions options_;
  cache::GpuIdentity gpu_;
  cache::GpuModel gpuModel_;  // the shipped table's, else generic: the space's default is linear()'s
  std::unique_ptr<Workload> workload_;  // kept across keys of one shape (M buckets share weights)
};

// The families uintx::linear picks (kernels::chooseFamily) for the formats of `options` at an
// M bucket, so that uintx-tune tunes the keys the library looks up. The union over the
// shapes (a FamilyPolicy does not see the shape); formats that are invalid get "gemv",
// whose tuning then reports why.
FamilyPolicy libraryFamilyPolicy(const TuneOptions& options);

// The uintx-tune factory: points the library's caches at options.cache_path and
// options.kernels_dir (setCacheSettings), then starts a GpuTuner. Null with *why when the
// CUDA driver or device cannot be used.
std::unique_ptr<Tuner> makeGpuTuner(const TuneOptions& options, std::string* why);

}  // namespace uintx::autotune
