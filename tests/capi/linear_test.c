/* Upload and uintx_linear from C on the fake driver (tests/runtime/fake_libcuda.cc: kernels
 * are compiled and loaded for real, launches only counted; device memory is host memory).
 * Checks that good calls go through, with and without int8 activations and bias, and that
 * every bad argument is refused before any launch. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "tests/capi/c_check.h"
#include "tests/capi/test_weights.h"

enum { N = 64, K = 256, M_MAX = 16 };

static uintx_device_weight* uploaded(int with_bias) {
  float* w = random_layer(N, K, 4);
  float bias[N] = {0};
  uintx_format f;
  uintx_weight* q = NULL;
  uintx_device_weight* d = NULL;
  uintx_format_init(&f, N, K);
  CHECK_OK(uintx_quantize(w, UINTX_DTYPE_F32, &f, with_bias ? bias : NULL, &q));
  CHECK_OK(uintx_device_weight_upload(q, &d));
  CHECK_OK(uintx_weight_free(q)); /* the device weight does not need the host one */
  free(w);
  return d;
}

int main(void) {
  /* The fake driver's memory is malloc'd: 16-byte aligned, like device allocations. */
  char* x = (char*)malloc(M_MAX * K * 2);
  char* y = (char*)malloc(M_MAX * N * 4);
  uintx_device_weight* d;
  uintx_device_weight* with_bias;
  uintx_device_weight* const untouched = (uintx_device_weight*)&checks_passed;
  uintx_device_weight* r = untouched;
  uintx_format f;
  setenv("UINTX_LIBCUDA", "./tests/runtime/libfake_cuda.so", 1);
  unsetenv("UINTX_DEVICE");
  CHECK_OK(uintx_cache_settings_set("", "")); /* nothing written outside the test */
  memset(x, 0, M_MAX * K * 2);

  d = uploaded(0);
  with_bias = uploaded(1);
  CHECK_OK(uintx_device_weight_format(d, &f));
  CHECK(f.n == N && f.k == K && f.bit_width == 4 && f.group_size == 128);
  CHECK_OK(uintx_linear(x, 1, K, UINTX_DTYPE_BF16, d, y, N, UINTX_DTYPE_BF16, NULL, 0));
  CHECK_OK(uintx_linear(x, 1, K, UINTX_DTYPE_F16, d, y, N, UINTX_DTYPE_F32, NULL, 0));
  CHECK_OK(uintx_linear(x, 1, K, UINTX_DTYPE_BF16, with_bias, y, N, UINTX_DTYPE_BF16, NULL, 0));
  CHECK_OK(uintx_linear(x, M_MAX, K, UINTX_DTYPE_BF16, d, y, N, UINTX_DTYPE_BF16, NULL,
                        UINTX_LINEAR_INT8_ACTIVATIONS));
  CHECK_OK(uintx_linear(x, M_MAX, K, UINTX_DTYPE_BF16, with_bias, y, N, UINTX_DTYPE_BF16, NULL,
                        UINTX_LINEAR_INT8_ACTIVATIONS));

  CHECK_REJECTS(uintx_device_weight_upload(NULL, &r), "weight is NULL");
  CHECK_REJECTS(uintx_device_weight_format(NULL, &f), "weight is NULL");
  CHECK_REJECTS(uintx_device_weight_format(d, NULL), "out is NULL");
  CHECK(r == untouched);
  CHECK_REJECTS(uintx_linear(x, 1, K, UINTX_DTYPE_BF16, NULL, y, N, UINTX_DTYPE_BF16, NULL, 0), "weight is NULL");
  CHECK_REJECTS(uintx_linear(NULL, 1, K, UINTX_DTYPE_BF16, d, y, N, UINTX_DTYPE_BF16, NULL, 0), "null");
  CHECK_REJECTS(uintx_linear(x, 1, K, UINTX_DTYPE_BF16, d, NULL, N, UINTX_DTYPE_BF16, NULL, 0), "null");
  CHECK_REJECTS(uintx_linear(x, 1, K + 8, UINTX_DTYPE_BF16, d, y, N, UINTX_DTYPE_BF16, NULL, 0), "264");
  CHECK_REJECTS(uintx_linear(x, 1, K, UINTX_DTYPE_BF16, d, y, N / 2, UINTX_DTYPE_BF16, NULL, 0), "32");
  CHECK_REJECTS(uintx_linear(x, 0, K, UINTX_DTYPE_BF16, d, y, N, UINTX_DTYPE_BF16, NULL, 0), "0");
  CHECK_REJECTS(uintx_linear(x, 1, K, (uintx_dtype)9, d, y, N, UINTX_DTYPE_BF16, NULL, 0),
                "x_dtype = 9 is not a uintx_dtype");
  CHECK_REJECTS(uintx_linear(x, 1, K, UINTX_DTYPE_BF16, d, y, N, (uintx_dtype)-3, NULL, 0),
                "y_dtype = -3 is not a uintx_dtype");
  CHECK_REJECTS(uintx_linear(x, 1, K, UINTX_DTYPE_F32, d, y, N, UINTX_DTYPE_F32, NULL, 0), "f32");
  CHECK_REJECTS(uintx_linear(x, 1, K, UINTX_DTYPE_BF16, d, y, N, UINTX_DTYPE_F16, NULL, 0), "f16");
  CHECK_REJECTS(uintx_linear(x + 2, 1, K, UINTX_DTYPE_BF16, d, y, N, UINTX_DTYPE_BF16, NULL, 0), "align");
  CHECK_REJECTS(uintx_linear(x, 1, K, UINTX_DTYPE_BF16, d, x, N, UINTX_DTYPE_BF16, NULL, 0), "overlap");
  CHECK_REJECTS(uintx_linear(x, 1, K, UINTX_DTYPE_BF16, d, y, N, UINTX_DTYPE_BF16, NULL, 2u),
                "flags = 2 has bits other than UINTX_LINEAR_INT8_ACTIVATIONS");

  CHECK_OK(uintx_device_weight_free(d));
  CHECK_OK(uintx_device_weight_free(with_bias));
  CHECK_OK(uintx_device_weight_free(NULL));
  free(x);
  free(y);
  return check_summary();
}
