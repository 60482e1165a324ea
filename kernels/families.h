// The kernel families by name (cache::KernelFamily): which one runs a call, and each one's
// default config, search space and launch plan, in the cache's config form. dispatch/ and
// autotune/ reach the families only through here; each family's pieces live side by side in
// kernels/<family>/.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cache/gpu_model.h"
#include "cache/kernel_key.h"
#include "kernels/common/launch.h"
#include "kernels/common/quant_spec.h"

namespace uintx::kernels {

// gemm_int8 with int8 activations (but gemv at M = 1: the row is not quantized); else gemv
// for M below $UINTX_GEMM_MIN_M (default 2 for codes up to 4 bits, else 3), then gemm (tensor
// cores) where the format allows it and gemv_tiled (CUDA cores, any format) where it does not.
cache::KernelFamily chooseFamily(const QuantSpec& q, int64_t M, bool int8Activations);

// The config a call of M rows runs when nothing is tuned, on this GPU (GEMV: the cost
// model's choice; GEMM and int8 GEMM: rules that use only the SM count).
cache::KernelConfig defaultConfig(cache::KernelFamily family, const QuantSpec& q, int64_t M, const cache::GpuModel& gpu);
// The same on a GPU known only by its SM count (cache::genericGpuModel).
cache::KernelConfig defaultConfig(cache::KernelFamily family, const QuantSpec& q, int64_t M, int smCount);

// The tuner's candidates for `key`: the default first, then the rest, most plausible first.
std::vector<cache::KernelConfig> configSpace(const cache::KernelKey& key, const cache::GpuModel& gpu);
std::vector<cache::KernelConfig> configSpace(const cache::KernelKey& key, int smCount);  // the generic model

// "BM=.. BN=.." for notes and errors.
std::string describeConfig(cache::KernelFamily family, const cache::KernelConfig& config);

// Empty when `config` can run the format in `family`, else the rule it breaks (what makePlan
// would throw), without compiling anything.
std::string configError(cache::KernelFamily family, const QuantSpec& q, const cache::KernelConfig& config);

// The compiled kernels of `family` for this format, dtypes, bias and config. Throws
// uintx::Error, naming the rule, when the config cannot run the format (a tuned config from
// another build, say) or the format cannot use the family.
std::unique_ptr<KernelPlan> makePlan(cache::KernelFamily family, const QuantSpec& q, dsl::DType act, dsl::DType out,
                                     bool hasBias, const cache::KernelConfig& config, const CompileFn& compile);

}  // namespace uintx::kernels
