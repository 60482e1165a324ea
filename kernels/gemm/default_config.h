// The tensor-core GEMM config used where no tuned one exists (weight-only and int8).
#pragma once

#include <cstdint>

#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// For this format and M on a GPU of `smCount` SMs (0: unknown, no split-K).
GemmConfig defaultGemmConfig(const QuantSpec& q, int64_t M, bool int8Activations, int smCount);

// `c` (of `programs` unsplit programs) split along K by 2, 4 or 8, as far as every program
// keeps an SM of its own and the format allows the split: the rule of tiles that fill an SM.
GemmConfig splitWhileEachProgramHasAnSm(const QuantSpec& q, GemmConfig c, int64_t programs, bool int8Activations,
                                        int smCount);

}  // namespace uintx::kernels
