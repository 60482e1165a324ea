// The bridge from a weight's format to what kernel programs need (kernels::QuantSpec).
#pragma once

#include "dsl/kernel_builder.h"
#include "kernels/gemv.h"
#include "packing/scalar_type.h"
#include "packing/weight_format.h"

namespace uintx {

// Throws uintx::Error if no kernel handles this format (the message says why).
kernels::QuantSpec quantSpecOf(const WeightFormat& format);
dsl::DType dslType(ScalarType t);

}  // namespace uintx
