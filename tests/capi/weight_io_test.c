/* Weights in and out of the C API: from raw buffers, to and from safetensors files, and their
 * buffers; bad arguments and bad files are refused with the right status and message. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/capi/c_check.h"
#include "tests/capi/test_weights.h"

static const char* temp_path(const char* name) {
  static char path[4096];
  const char* dir = getenv("TEST_TMPDIR"); /* set by bazel test */
  snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/tmp", name);
  return path;
}

/* Same format and same bytes in every buffer. */
static int same_weight(const uintx_weight* a, const uintx_weight* b) {
  uintx_format fa, fb;
  int which;
  uintx_weight_format(a, &fa);
  uintx_weight_format(b, &fb);
  if (fa.bit_width != fb.bit_width || fa.group_size != fb.group_size || fa.packing_bitwidth != fb.packing_bitwidth ||
      fa.n != fb.n || fa.k != fb.k || fa.scale_dtype != fb.scale_dtype)
    return 0; /* field by field: the struct has padding */
  for (which = UINTX_BUFFER_PACKED; which <= UINTX_BUFFER_BIAS; ++which) {
    const void *da, *db;
    size_t na, nb;
    uintx_weight_buffer(a, (uintx_buffer)which, &da, &na);
    uintx_weight_buffer(b, (uintx_buffer)which, &db, &nb);
    if (na != nb || (na && memcmp(da, db, na) != 0)) return 0;
  }
  return 1;
}

static uintx_weight* quantized(int64_t n, int64_t k, int with_bias) {
  float* w = random_layer(n, k, 3);
  float bias[64] = {0};
  uintx_format f;
  uintx_weight* q = NULL;
  bias[1] = 1.5f;
  uintx_format_init(&f, n, k);
  f.group_size = 64;
  CHECK_OK(uintx_quantize(w, UINTX_DTYPE_F32, &f, with_bias ? bias : NULL, &q));
  free(w);
  return q;
}

static void test_from_buffers(void) {
  uintx_weight* q = quantized(64, 256, 1);
  uintx_weight* copy = NULL;
  uintx_weight* const untouched = (uintx_weight*)&checks_passed;
  uintx_weight* r = untouched;
  uintx_format f, bad;
  const void *packed, *scales, *zeros, *bias;
  size_t packed_bytes, scales_bytes, zeros_bytes, bias_bytes;
  unsigned char* corrupt;
  CHECK_OK(uintx_weight_format(q, &f));
  CHECK_OK(uintx_weight_buffer(q, UINTX_BUFFER_PACKED, &packed, &packed_bytes));
  CHECK_OK(uintx_weight_buffer(q, UINTX_BUFFER_SCALES, &scales, &scales_bytes));
  CHECK_OK(uintx_weight_buffer(q, UINTX_BUFFER_ZEROS, &zeros, &zeros_bytes));
  CHECK_OK(uintx_weight_buffer(q, UINTX_BUFFER_BIAS, &bias, &bias_bytes));
  CHECK(packed_bytes == 64 * 256 / 2 && scales_bytes == 64 * 4 * 2 && zeros_bytes == scales_bytes &&
        bias_bytes == 64 * 2);
  CHECK_OK(uintx_weight_from_buffers(&f, packed, packed_bytes, scales, scales_bytes, zeros, zeros_bytes, bias,
                                     bias_bytes, &copy));
  CHECK(same_weight(q, copy));

  CHECK_REJECTS(uintx_weight_from_buffers(NULL, packed, packed_bytes, scales, scales_bytes, zeros, zeros_bytes,
                                          NULL, 0, &r), "format is NULL");
  CHECK_REJECTS(uintx_weight_from_buffers(&f, NULL, packed_bytes, scales, scales_bytes, zeros, zeros_bytes,
                                          NULL, 0, &r), "packed is NULL");
  CHECK_REJECTS(uintx_weight_from_buffers(&f, packed, packed_bytes, NULL, scales_bytes, zeros, zeros_bytes,
                                          NULL, 0, &r), "scales is NULL");
  CHECK_REJECTS(uintx_weight_from_buffers(&f, packed, packed_bytes, scales, scales_bytes, NULL, zeros_bytes,
                                          NULL, 0, &r), "zeros is NULL");
  CHECK_REJECTS(uintx_weight_from_buffers(&f, packed, packed_bytes, scales, scales_bytes, zeros, zeros_bytes,
                                          NULL, 0, NULL), "out is NULL");
  CHECK_REJECTS(uintx_weight_from_buffers(&f, packed, packed_bytes - 4, scales, scales_bytes, zeros, zeros_bytes,
                                          NULL, 0, &r), "packed");
  CHECK_REJECTS(uintx_weight_from_buffers(&f, packed, packed_bytes, scales, scales_bytes, zeros, 0, NULL, 0, &r),
                "zeros");
  bad = f; bad.bit_width = 3; /* 3-bit words hold 10 values: sizes no longer match */
  CHECK_REJECTS(uintx_weight_from_buffers(&bad, packed, packed_bytes, scales, scales_bytes, zeros, zeros_bytes,
                                          NULL, 0, &r), NULL);
  bad = f; bad.scale_dtype = (uintx_dtype)5;
  CHECK_REJECTS(uintx_weight_from_buffers(&bad, packed, packed_bytes, scales, scales_bytes, zeros, zeros_bytes,
                                          NULL, 0, &r), "format->scale_dtype = 5");
  corrupt = (unsigned char*)malloc(scales_bytes);
  memcpy(corrupt, scales, scales_bytes);
  corrupt[0] = 0x80, corrupt[1] = 0x7F; /* bf16 NaN */
  CHECK_REJECTS(uintx_weight_from_buffers(&f, packed, packed_bytes, corrupt, scales_bytes, zeros, zeros_bytes,
                                          NULL, 0, &r), "finite");
  free(corrupt);
  CHECK(r == untouched);
  uintx_weight_free(copy);
  uintx_weight_free(q);
}

static void test_files(void) {
  uintx_weight* q = quantized(32, 128, 1);
  uintx_weight* loaded = NULL;
  uintx_weight* const untouched = (uintx_weight*)&checks_passed;
  uintx_weight* r = untouched;
  FILE* garbage;
  CHECK_OK(uintx_weight_save(q, temp_path("w.safetensors")));
  CHECK_OK(uintx_weight_load(temp_path("w.safetensors"), &loaded));
  CHECK(loaded != NULL && same_weight(q, loaded));

  CHECK_FAILS(uintx_weight_load(temp_path("missing.safetensors"), &r), UINTX_ERROR_IO, "missing.safetensors");
  garbage = fopen(temp_path("garbage.safetensors"), "wb");
  fputs("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}", garbage);
  fclose(garbage);
  CHECK_FAILS(uintx_weight_load(temp_path("garbage.safetensors"), &r), UINTX_ERROR_IO, "safetensors");
  CHECK_FAILS(uintx_weight_save(q, "/nonexistent-dir/w.safetensors"), UINTX_ERROR_IO, "nonexistent-dir");
  CHECK_REJECTS(uintx_weight_load(NULL, &r), "path is NULL");
  CHECK_REJECTS(uintx_weight_load(temp_path("w.safetensors"), NULL), "out is NULL");
  CHECK_REJECTS(uintx_weight_save(NULL, temp_path("w.safetensors")), "weight is NULL");
  CHECK_REJECTS(uintx_weight_save(q, NULL), "path is NULL");
  CHECK(r == untouched);
  uintx_weight_free(loaded);
  uintx_weight_free(q);
}

static void test_buffer_and_dequantize_arguments(void) {
  uintx_weight* q = quantized(8, 64, 0);
  const void* data = NULL;
  size_t bytes = 0;
  float out[8 * 64];
  CHECK_REJECTS(uintx_weight_buffer(NULL, UINTX_BUFFER_PACKED, &data, &bytes), "weight is NULL");
  CHECK_REJECTS(uintx_weight_buffer(q, (uintx_buffer)4, &data, &bytes), "which = 4 is not a uintx_buffer");
  CHECK_REJECTS(uintx_weight_buffer(q, UINTX_BUFFER_PACKED, NULL, &bytes), "data is NULL");
  CHECK_REJECTS(uintx_weight_buffer(q, UINTX_BUFFER_PACKED, &data, NULL), "bytes is NULL");
  CHECK_OK(uintx_weight_buffer(q, UINTX_BUFFER_BIAS, &data, &bytes));
  CHECK(data == NULL && bytes == 0);
  CHECK_REJECTS(uintx_weight_dequantize(q, out, 8 * 64 - 1), "count = 511, expected n * k = 512");
  CHECK_REJECTS(uintx_weight_dequantize(q, NULL, 8 * 64), "out is NULL");
  CHECK_OK(uintx_weight_dequantize(q, out, 8 * 64));
  uintx_weight_free(q);
}

int main(void) {
  test_from_buffers();
  test_files();
  test_buffer_and_dequantize_arguments();
  return check_summary();
}
