// The C API's enums and structs to and from the C++ types, rejecting values out of range
// (an FFI can pass any int where an enum is expected).
#pragma once

#include "uintx/uintx.h"
#include "uintx/uintx_c.h"

namespace uintx::capi {

// One of f32, bf16, f16; `parameter` names the argument in the rejection.
ScalarType floatType(uintx_dtype dtype, const char* parameter);
uintx_dtype cDtype(ScalarType type);

// group_size 0 means k, as in QuantizeOptions. Validated by the C++ constructors, not here.
WeightFormat weightFormat(const uintx_format& format);
uintx_format cFormat(const WeightFormat& format);

}  // namespace uintx::capi
