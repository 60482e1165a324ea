// The tensor-core GEMM config used where no tuned one exists (weight-only and int8).
#pragma once

#include <cstdint>

#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// For this format and M on a GPU of `smCount` SMs (0: unknown, no split-K).
GemmConfig defaultGemmConfig(const QuantSpec& q, int64_t M, bool int8Activations, int smCount);

}  // namespace uintx::kernels
