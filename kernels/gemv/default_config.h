// The GEMV config used where no tuned one exists.
#pragma once

#include <cstdint>

#include "kernels/gemv/gemv.h"

namespace uintx::kernels {

// For this format and M on a GPU of `smCount` SMs (0: unknown, no split-K).
GemvConfig defaultGemvConfig(const QuantSpec& q, int64_t M, int smCount);

}  // namespace uintx::kernels
