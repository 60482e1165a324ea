// The GEMV family's launch recipe: one launch of the GEMV program.
#pragma once

#include <memory>

#include "kernels/common/launch.h"
#include "kernels/gemv/gemv.h"

namespace uintx::kernels {

// Grid (ceil(N / blockN), splitK, ceil(M / blockM)); split-K partials in the workspace, summed
// in the same launch (kernel_output.h).
std::unique_ptr<KernelPlan> makeGemvPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                         const GemvConfig& config, const CompileFn& compile);

}  // namespace uintx::kernels
