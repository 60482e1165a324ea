// The GEMV family's launch recipe: the GEMV program (+ the split-K reduce).
#pragma once

#include <memory>

#include "kernels/common/launch.h"
#include "kernels/gemv/gemv.h"

namespace uintx::kernels {

// Grid (ceil(N / blockN), splitK, ceil(M / blockM)); split-K partials in the workspace.
std::unique_ptr<KernelPlan> makeGemvPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                         const GemvConfig& config, const CompileFn& compile);

}  // namespace uintx::kernels
