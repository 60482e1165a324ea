// The second kernel of a split-K call: sums the f32 partials of the split programs (+ bias)
// into y. Every family that splits K (GEMV, GEMM, int8 GEMM) ends with it.
#pragma once

#include <cstdint>

#include "dsl/kernel_builder.h"
#include "kernels/common/launch.h"

namespace uintx::kernels {

// y[m, n] = sum_s partial[s, m, n] (+ bias[n]). Parameters: partial, bias (if hasBias), y, M.
// Grid: (ceil(N / block), M).
// The bias has the weight's scale dtype.
dsl::KernelProgram buildSplitKReduce(int64_t N, int splitK, dsl::DType act, bool hasBias,
                                     dsl::DType biasDtype, int block = 256);


// Launches `reduce` (built by buildSplitKReduce for this call's N) over the call's partials.
void launchSplitKReduce(const codegen::JitKernel& reduce, const LinearCall& call, int64_t N, CUdeviceptr partial,
                        CUstream stream);

}  // namespace uintx::kernels
