// The tensor-core GEMM family's launch recipe: one launch of the GEMM program.
#pragma once

#include <memory>

#include "kernels/common/launch.h"
#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// Grid (ceil(N / blockN), ceil(M / blockM), splitK); split-K partials in the workspace, summed
// in the same launch (kernel_output.h).
std::unique_ptr<KernelPlan> makeGemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                         const GemmConfig& config, const CompileFn& compile);

// The counters a split call of M rows needs: one per output tile (0 unsplit).
size_t gemmOutputTiles(const QuantSpec& q, const GemmConfig& c, int64_t M);

}  // namespace uintx::kernels
