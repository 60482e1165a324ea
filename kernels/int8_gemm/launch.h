// The int8 GEMM family's launch recipe: the row quantization of x, the int8 GEMM (+ the
// split-K reduce).
#pragma once

#include <memory>

#include "kernels/common/launch.h"
#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// Workspace: split-K or tail-split partials, then the int8 rows of x, then their f32 scales.
std::unique_ptr<KernelPlan> makeInt8GemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                             const GemmConfig& config, const CompileFn& compile);

}  // namespace uintx::kernels
