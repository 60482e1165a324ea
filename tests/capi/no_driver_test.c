/* Without a CUDA driver (here: $UINTX_LIBCUDA names no file), host work goes on and the
 * upload fails with UINTX_ERROR_NO_DRIVER and the runtime's message, leaving *out alone. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "tests/capi/c_check.h"
#include "tests/capi/test_weights.h"

int main(void) {
  float* w = random_layer(16, 128, 5);
  uintx_format f;
  uintx_weight* q = NULL;
  uintx_device_weight* const untouched = (uintx_device_weight*)&checks_passed;
  uintx_device_weight* d = untouched;
  setenv("UINTX_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  CHECK_OK(uintx_format_init(&f, 16, 128));
  CHECK_OK(uintx_quantize(w, UINTX_DTYPE_F32, &f, NULL, &q));
  CHECK_FAILS(uintx_device_weight_upload(q, &d), UINTX_ERROR_NO_DRIVER, "no CUDA driver");
  CHECK_FAILS(uintx_device_weight_upload(q, &d), UINTX_ERROR_NO_DRIVER, "/nonexistent/libcuda.so.1");
  CHECK(d == untouched);
  CHECK_OK(uintx_weight_free(q)); /* a success clears the message */
  free(w);
  return check_summary();
}
