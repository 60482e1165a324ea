// uintx-tune: argument parsing, planning of the keys to tune, the tuning loop over a Tuner,
// and --list. main() only wires in the real environment (uintx_tune_main.cc).
// Usage and exit codes: docs/CACHE.md, "uintx-tune".
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cache/cache_paths.h"
#include "cache/kernel_key.h"
#include "autotune/progress_bar.h"
#include "autotune/tuner.h"

namespace uintx::autotune {

enum TuneExitCode : int {
  kExitOk = 0,
  kExitInternalError = 1,  // an unexpected exception (a bug)
  kExitBadArguments = 2,
  kExitNoGpu = 3,          // the CUDA driver cannot be loaded or no tuner can start
  kExitTuningFailed = 4,   // at least one key could not be tuned (the others are saved)
  kExitCacheError = 5,     // the cache cannot be written, or --list cannot read it
};

enum class QuantMode { kWeightOnly, kInt8Dynamic };

struct WeightShape {
  int64_t N = 0, K = 0;  // "NxK": out_features x in_features, as a weight matrix [N, K]
};

struct TuneOptions {
  enum class Action { kTune, kList, kHelp };
  Action action = Action::kTune;
  std::vector<WeightShape> shapes;
  int bits = 0;
  int group_size = 0;  // 0: per output channel (group = K), the --int8-dynamic layout
  int packing = 32;
  std::vector<int64_t> batches;  // M values; empty: every M bucket
  std::string cache_path;        // empty: cache::defaultConfigCachePath() of the GPU
  std::string kernels_dir;       // empty: cache::defaultKernelCacheDir()
  std::string act_dtype = "bf16";
  std::string out_dtype;  // empty: same as act_dtype
  QuantMode quant = QuantMode::kWeightOnly;
  bool force = false;     // re-tune keys already in the cache
  std::string list_path;  // --list FILE
};

struct ParsedTuneArgs {
  std::optional<TuneOptions> options;  // set on success
  std::string error;                   // names the bad argument, on failure
};
// args excludes argv[0]. Never throws.
ParsedTuneArgs parseTuneArgs(const std::vector<std::string>& args);

std::string tuneUsage();

// Which kernel families serve a given M: the dispatcher tunes all of them and keeps the
// fastest. Provisional default (docs/CACHE.md); the metadata layer may pass its own.
using FamilyPolicy = std::function<std::vector<cache::KernelFamily>(int mBucket, QuantMode)>;
std::vector<cache::KernelFamily> defaultFamilies(int mBucket, QuantMode mode);

// Every distinct key the options ask for, in a stable order (shape, then M, then family).
std::vector<cache::KernelKey> planTuningKeys(const TuneOptions& options,
                                      const FamilyPolicy& families = defaultFamilies);

// Creates the tuner for a run; returns null and sets *why when none can start.
using TunerFactory =
    std::function<std::unique_ptr<Tuner>(const TuneOptions& options, std::string* why)>;

struct TuneCliEnvironment {
  std::function<bool(std::string* why)> gpuDriverLoadable;  // empty: cudaDriverLoadable
  TunerFactory makeTuner;  // empty: "this build has no tuner" (exit 3)
  FamilyPolicy families = defaultFamilies;
  bool stdoutIsTerminal = false;  // bar with ETA when true, plain lines when false
  ProgressBar::Clock clock;        // empty: steady clock
  cache::EnvLookup env = cache::processEnvironment();
};

// Runs uintx-tune; returns its exit code. Results go to `out`, diagnostics to `err`.
int runTuneCli(const std::vector<std::string>& args, const TuneCliEnvironment& environment,
               std::ostream& out, std::ostream& err);

// `uintx-tune --list FILE`: prints what the cache holds; returns an exit code.
int listConfigCache(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace uintx::autotune
