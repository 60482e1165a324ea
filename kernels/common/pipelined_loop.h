// A K loop whose next step's loads are issued before this step's math (register double
// buffering): the loop carries the loaded tiles, so every thread keeps two steps of memory
// traffic in flight. Written with the DSL's forLoop; shared by the GEMV and GEMM programs.
#pragma once

#include <functional>
#include <vector>

#include "dsl/kernel_builder.h"

namespace uintx::kernels {

using LoadStep = std::function<std::vector<dsl::Value>(dsl::Value k0)>;
using ComputeStep = std::function<std::vector<dsl::Value>(dsl::Value k0, const std::vector<dsl::Value>& loaded,
                                                          const std::vector<dsl::Value>& acc)>;

// for k0 in [lo, hi) step `step`: acc = compute(k0, load(k0), acc). With `prefetch`, each step
// loads the next step's tiles (the last step re-reads its own instead of reading past the
// end; a last step running past hi is the load's masks to handle). `sharedStages` is the loop's forLoop `stages`: the tiles `compute` itself loads
// and feeds to a dot go through a shared-memory ring that deep (cp.async), and `warpSpecialized`
// is forLoop's. Returns the final acc.
std::vector<dsl::Value> pipelinedLoop(dsl::KernelBuilder& kb, dsl::Value lo, dsl::Value hi, int step,
                                      const std::vector<dsl::Value>& acc, const LoadStep& load,
                                      const ComputeStep& compute, bool prefetch, int sharedStages = 1,
                                      bool warpSpecialized = false);

}  // namespace uintx::kernels
