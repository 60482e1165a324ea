// The tuning key of a linear call: its family (kernels::chooseFamily), the weight format, the
// dtypes, N, K and M's bucket. uintx-tune writes configs under the same keys.
#pragma once

#include <cstdint>

#include "cache/kernel_key.h"
#include "packing/weight_format.h"

namespace uintx::dispatch {

// `act` is bf16 or f16. Throws uintx::Error for a format no kernel handles.
cache::KernelKey callKey(const WeightFormat& format, ScalarType act, int64_t M, bool int8Activations = false);

}  // namespace uintx::dispatch
