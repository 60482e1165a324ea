/* uintx_quantize from C: float, bf16 and fp16 weights, bias, 4- and 8-bit; every bad argument
 * is refused with UINTX_ERROR_INVALID_ARGUMENT, a message naming it, and *out untouched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/capi/c_check.h"
#include "tests/capi/test_weights.h"

/* Every value of the weight, in float64 from the raw buffers, is what dequantize gives (up to
 * float32 rounding) and within 0.6 scale of the original (half a step, plus the scale's
 * rounding to bf16); the relative RMS error is what 4/8 bits give uniform data. */
static void check_dequantization(const uintx_weight* q, const float* w, double max_rms) {
  uintx_format f;
  float* back;
  int64_t i, n, k;
  double err2 = 0, ref2 = 0;
  int within = 1, matches = 1;
  CHECK_OK(uintx_weight_format(q, &f));
  n = f.n;
  k = f.k;
  back = (float*)malloc((size_t)(n * k) * sizeof(float));
  CHECK_OK(uintx_weight_dequantize(q, back, (size_t)(n * k)));
  for (i = 0; i < n * k; ++i) {
    double scale, ref = reference_value(q, i / k, i % k, &scale);
    if (fabs(back[i] - ref) > 1e-6 * fabs(ref) + 1e-12) matches = 0;
    if (fabs(ref - w[i]) > 0.6 * scale) within = 0;
    err2 += (ref - w[i]) * (ref - w[i]);
    ref2 += (double)w[i] * w[i];
  }
  CHECK(matches);
  CHECK(within);
  CHECK(sqrt(err2 / ref2) < max_rms);
  free(back);
}

static void test_float_weights(void) {
  const int64_t n = 64, k = 256;
  float* w = random_layer(n, k, 1);
  float bias[64];
  uintx_format f;
  uintx_weight* q = NULL;
  int has_bias = -1, i;
  const void* data;
  size_t bytes;
  for (i = 0; i < 64; ++i) bias[i] = 0.25f * (float)i;

  CHECK_OK(uintx_format_init(&f, n, k));
  CHECK(f.bit_width == 4 && f.group_size == 128 && f.packing_bitwidth == 32 && f.n == n && f.k == k &&
        f.scale_dtype == UINTX_DTYPE_BF16);
  CHECK_OK(uintx_quantize(w, UINTX_DTYPE_F32, &f, bias, &q));
  CHECK(q != NULL);
  check_dequantization(q, w, 0.1);
  CHECK_OK(uintx_weight_has_bias(q, &has_bias));
  CHECK(has_bias == 1);
  CHECK_OK(uintx_weight_buffer(q, UINTX_BUFFER_BIAS, &data, &bytes));
  CHECK(bytes == 64 * 2 && scalar_at(data, UINTX_DTYPE_BF16, 5) == 1.25);
  CHECK_OK(uintx_weight_free(q));

  /* 8-bit symmetric per channel, f32 scales, no zeros */
  f.bit_width = 8;
  f.group_size = 0;
  f.scale_dtype = UINTX_DTYPE_F32;
  CHECK_OK(uintx_quantize(w, UINTX_DTYPE_F32, &f, NULL, &q));
  CHECK_OK(uintx_weight_format(q, &f));
  CHECK(f.group_size == k && f.scale_dtype == UINTX_DTYPE_F32);
  CHECK_OK(uintx_weight_buffer(q, UINTX_BUFFER_ZEROS, &data, &bytes));
  CHECK(data == NULL && bytes == 0);
  CHECK_OK(uintx_weight_has_bias(q, &has_bias));
  CHECK(has_bias == 0);
  check_dequantization(q, w, 0.01);
  CHECK_OK(uintx_weight_free(q));
  free(w);
}

/* bf16 and fp16 inputs holding the same values as a float weight quantize to the same bytes. */
static void test_half_weights(void) {
  const int64_t n = 32, k = 128;
  float w[32 * 128];
  uint16_t as_bf16[32 * 128], as_fp16[32 * 128];
  uintx_format f;
  uintx_weight *from_float = NULL, *from_bf16 = NULL, *from_fp16 = NULL;
  const void *a, *b, *c;
  size_t a_bytes, b_bytes, c_bytes;
  int i, buffer;
  for (i = 0; i < n * k; ++i) { /* j / 64, j in [-64, 64): exact in bf16 and fp16 */
    int j = (i * 37) % 128 - 64;
    w[i] = (float)j / 64.0f;
    {
      float v = w[i];
      uint32_t bits;
      memcpy(&bits, &v, 4);
      as_bf16[i] = (uint16_t)(bits >> 16); /* exact: the low bits are zero */
    }
    /* fp16 of j/64: sign, exponent and 10-bit mantissa, built exactly */
    if (j == 0) {
      as_fp16[i] = 0;
    } else {
      int aj = j < 0 ? -j : j, e = 0;
      while ((aj << e) < 1024) ++e; /* normalize aj * 2^e into [1024, 2048) */
      as_fp16[i] = (uint16_t)((j < 0 ? 0x8000 : 0) | ((uint16_t)(25 - e - 6) << 10) | (((aj << e) - 1024) & 0x3FF));
    }
  }
  CHECK_OK(uintx_format_init(&f, n, k));
  f.group_size = 32;
  CHECK_OK(uintx_quantize(w, UINTX_DTYPE_F32, &f, NULL, &from_float));
  CHECK_OK(uintx_quantize(as_bf16, UINTX_DTYPE_BF16, &f, NULL, &from_bf16));
  CHECK_OK(uintx_quantize(as_fp16, UINTX_DTYPE_F16, &f, NULL, &from_fp16));
  for (i = 0; i < n * k; ++i) {
    if (scalar_at(as_fp16, UINTX_DTYPE_F16, i) != w[i] || scalar_at(as_bf16, UINTX_DTYPE_BF16, i) != w[i]) break;
  }
  CHECK(i == n * k); /* the test's own conversions are exact */
  for (buffer = UINTX_BUFFER_PACKED; buffer <= UINTX_BUFFER_ZEROS; ++buffer) {
    CHECK_OK(uintx_weight_buffer(from_float, (uintx_buffer)buffer, &a, &a_bytes));
    CHECK_OK(uintx_weight_buffer(from_bf16, (uintx_buffer)buffer, &b, &b_bytes));
    CHECK_OK(uintx_weight_buffer(from_fp16, (uintx_buffer)buffer, &c, &c_bytes));
    CHECK(a_bytes > 0 && a_bytes == b_bytes && a_bytes == c_bytes);
    CHECK(memcmp(a, b, a_bytes) == 0 && memcmp(a, c, a_bytes) == 0);
  }
  uintx_weight_free(from_float);
  uintx_weight_free(from_bf16);
  uintx_weight_free(from_fp16);
}

static void test_bad_arguments(void) {
  const int64_t n = 16, k = 256;
  float* w = random_layer(n, k, 2);
  uintx_weight* const untouched = (uintx_weight*)&checks_passed; /* any non-NULL sentinel */
  uintx_weight* q = untouched;
  uintx_format f, bad;
  float nan_bias[16];
  int i;
  for (i = 0; i < 16; ++i) nan_bias[i] = i == 3 ? (float)NAN : 0.0f;
  CHECK_OK(uintx_format_init(&f, n, k));

  CHECK_REJECTS(uintx_format_init(NULL, n, k), "format is NULL");
  CHECK_REJECTS(uintx_quantize(NULL, UINTX_DTYPE_F32, &f, NULL, &q), "w is NULL");
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, NULL, NULL, &q), "format is NULL");
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &f, NULL, NULL), "out is NULL");
  CHECK_REJECTS(uintx_quantize(w, (uintx_dtype)7, &f, NULL, &q), "w_dtype = 7 is not a uintx_dtype");
  CHECK_REJECTS(uintx_quantize(w, (uintx_dtype)-1, &f, NULL, &q), "w_dtype = -1");
  bad = f; bad.scale_dtype = (uintx_dtype)3;
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &bad, NULL, &q), "format->scale_dtype = 3");
  bad = f; bad.bit_width = 9;
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &bad, NULL, &q), "9");
  bad = f; bad.bit_width = 0;
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &bad, NULL, &q), "0");
  bad = f; bad.k = 192; /* group 128 does not divide K = 192 */
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &bad, NULL, &q), "192");
  bad = f; bad.group_size = 100;
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &bad, NULL, &q), "100");
  bad = f; bad.packing_bitwidth = 12;
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &bad, NULL, &q), "12");
  bad = f; bad.n = 0;
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &bad, NULL, &q), "N");
  bad = f; bad.k = -256;
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &bad, NULL, &q), "K");
  bad = f; bad.bit_width = 8; /* 8-bit is per channel: group 128 refused */
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &bad, NULL, &q), "group");
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &f, nan_bias, &q), "bias");
  w[5] = (float)INFINITY;
  CHECK_REJECTS(uintx_quantize(w, UINTX_DTYPE_F32, &f, NULL, &q), "finite");
  CHECK(q == untouched);

  CHECK_REJECTS(uintx_weight_format(NULL, &f), "weight is NULL");
  CHECK_REJECTS(uintx_weight_has_bias(NULL, &i), "weight is NULL");
  CHECK_REJECTS(uintx_weight_dequantize(NULL, w, (size_t)(n * k)), "weight is NULL");
  CHECK_OK(uintx_weight_free(NULL)); /* freeing NULL is allowed */
  free(w);
}

int main(void) {
  CHECK(uintx_last_error()[0] == '\0');
  CHECK(strcmp(uintx_status_name(UINTX_ERROR_NO_DRIVER), "UINTX_ERROR_NO_DRIVER") == 0);
  CHECK(strcmp(uintx_status_name((uintx_status)42), "unknown uintx_status") == 0);
  test_float_weights();
  test_half_weights();
  test_bad_arguments();
  return check_summary();
}
