/* A C user of the installed library: quantizes a random layer through the C API, checks the
 * dequantization error in float64 against the weight and its scales, and expects
 * UINTX_ERROR_NO_DRIVER from the upload that uintx_linear needs (run with no CUDA driver). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uintx/uintx_c.h"

static int passed = 0, failed = 0;
static void check(int ok, const char* what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    fprintf(stderr, "FAILED: %s (last error: %s)\n", what, uintx_last_error());
  }
}

static double bf16_at(const void* buffer, size_t index) {
  uint16_t h;
  uint32_t bits;
  float f;
  memcpy(&h, (const char*)buffer + 2 * index, 2);
  bits = (uint32_t)h << 16;
  memcpy(&f, &bits, 4);
  return f;
}

int main(void) {
  enum { N = 64, K = 256, GROUP = 128 };
  static float w[N * K], back[N * K];
  uint64_t state = 12345;
  uintx_format format;
  uintx_weight* q = NULL;
  uintx_device_weight* dw = NULL;
  const void* scales;
  size_t scales_bytes;
  double err2 = 0, ref2 = 0, worst_step = 0;
  int i;
  for (i = 0; i < N * K; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    w[i] = (float)((double)(state >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
  }
  check(uintx_format_init(&format, N, K) == UINTX_OK, "uintx_format_init");
  format.group_size = GROUP;
  check(uintx_quantize(w, UINTX_DTYPE_F32, &format, NULL, &q) == UINTX_OK, "uintx_quantize");
  check(uintx_weight_dequantize(q, back, N * K) == UINTX_OK, "uintx_weight_dequantize");
  check(uintx_weight_buffer(q, UINTX_BUFFER_SCALES, &scales, &scales_bytes) == UINTX_OK &&
            scales_bytes == N * (K / GROUP) * 2, "scales: bf16 [N, K / group]");
  for (i = 0; i < N * K; ++i) {
    double scale = bf16_at(scales, (size_t)((i / K) * (K / GROUP) + (i % K) / GROUP));
    double err = (double)back[i] - (double)w[i];
    if (fabs(err) / scale > worst_step) worst_step = fabs(err) / scale;
    err2 += err * err;
    ref2 += (double)w[i] * w[i];
  }
  check(worst_step <= 0.6, "every value within 0.6 quantization steps of the weight");
  check(sqrt(err2 / ref2) < 0.1, "relative RMS error below 0.1 (4-bit, groups of 128)");

  check(uintx_device_weight_upload(q, &dw) == UINTX_ERROR_NO_DRIVER, "upload without a driver: NO_DRIVER");
  check(strstr(uintx_last_error(), "no CUDA driver") != NULL, "the message says there is no CUDA driver");
  check(dw == NULL, "no handle on failure");
  check(uintx_linear(NULL, 1, K, UINTX_DTYPE_BF16, dw, NULL, N, UINTX_DTYPE_BF16, NULL, 0) ==
            UINTX_ERROR_INVALID_ARGUMENT, "linear without a device weight is refused");
  uintx_weight_free(q);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
