// The tensor-core GEMM family's launch recipe: the GEMM program (+ the split-K reduce).
#pragma once

#include <memory>

#include "kernels/common/launch.h"
#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// Grid (ceil(N / blockN), ceil(M / blockM), splitK), or a tail split's (tail_reduce.h); split
// partials in the workspace.
std::unique_ptr<KernelPlan> makeGemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                         const GemmConfig& config, const CompileFn& compile);

// Bytes of the f32 partials of a call of M rows with config c (split-K's, or a tail split's on
// the SMs of `main`'s device; 0 where nothing is split), rounded up to 256 so that what follows
// them in a workspace stays aligned.
size_t partialBytes(const QuantSpec& q, const GemmConfig& c, int64_t M, const codegen::JitKernel& main);

}  // namespace uintx::kernels
