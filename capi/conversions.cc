#include "capi/conversions.h"

#include <string>

#include "capi/call_guard.h"

namespace uintx::capi {

ScalarType floatType(uintx_dtype dtype, const char* parameter) {
  switch (int(dtype)) {
    case UINTX_DTYPE_F32: return ScalarType::f32;
    case UINTX_DTYPE_BF16: return ScalarType::bf16;
    case UINTX_DTYPE_F16: return ScalarType::f16;
  }
  reject(std::string(parameter) + " = " + std::to_string(int(dtype)) +
         " is not a uintx_dtype (UINTX_DTYPE_F32 = 0, UINTX_DTYPE_BF16 = 1, UINTX_DTYPE_F16 = 2)");
}

uintx_dtype cDtype(ScalarType type) {
  switch (type) {
    case ScalarType::bf16: return UINTX_DTYPE_BF16;
    case ScalarType::f16: return UINTX_DTYPE_F16;
    default: return UINTX_DTYPE_F32;  // a validated format's scale dtype is a float type
  }
}

WeightFormat weightFormat(const uintx_format& format) {
  WeightFormat f;
  f.bit_width = format.bit_width;
  f.group_size = format.group_size == 0 && format.k <= INT32_MAX ? int(format.k) : format.group_size;
  f.packing_bitwidth = format.packing_bitwidth;
  f.N = format.n;
  f.K = format.k;
  f.scale_dtype = floatType(format.scale_dtype, "format->scale_dtype");
  return f;
}

uintx_format cFormat(const WeightFormat& format) {
  uintx_format f;
  f.bit_width = format.bit_width;
  f.group_size = format.group_size;
  f.packing_bitwidth = format.packing_bitwidth;
  f.n = format.N;
  f.k = format.K;
  f.scale_dtype = cDtype(format.scale_dtype);
  return f;
}

}  // namespace uintx::capi
