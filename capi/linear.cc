// uintx_linear: the C form of uintx::linear.
#include <cuda.h>

#include <string>

#include "capi/call_guard.h"
#include "capi/conversions.h"
#include "capi/handles.h"

using uintx::capi::callGuarded;
using uintx::capi::reject;
using uintx::capi::required;

// A plain uintx::Error from linear is a rejected call (shape, dtype, alignment, overlap, a
// weight of another context); driver failures carry their kind.
extern "C" uintx_status uintx_linear(const void* x, int64_t m, int64_t k, uintx_dtype x_dtype,
                                     const uintx_device_weight* weight, void* y, int64_t n, uintx_dtype y_dtype,
                                     void* stream, unsigned flags) {
  return callGuarded("uintx_linear", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    required(weight, "weight");
    // linear checks x and y (NULL, alignment, shapes, overlap) itself, with its own messages.
    if (flags & ~UINTX_LINEAR_INT8_ACTIVATIONS)
      reject("flags = " + std::to_string(flags) + " has bits other than UINTX_LINEAR_INT8_ACTIVATIONS (1)");
    uintx::LinearOptions options;
    options.int8Activations = (flags & UINTX_LINEAR_INT8_ACTIVATIONS) != 0;
    uintx::DeviceMatrix xm{x, m, k, uintx::capi::floatType(x_dtype, "x_dtype")};
    uintx::DeviceMatrix ym{y, m, n, uintx::capi::floatType(y_dtype, "y_dtype")};
    uintx::linear(xm, weight->weight, ym, static_cast<CUstream>(stream), options);
  });
}
