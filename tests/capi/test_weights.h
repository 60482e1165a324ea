/* Random layers and a float64 reading of uintx's packed format (docs/FORMATS.md), written
 * from the spec and not from the library, so that a wrong layout or formula fails a test. */
#ifndef UINTX_TESTS_CAPI_TEST_WEIGHTS_H
#define UINTX_TESTS_CAPI_TEST_WEIGHTS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uintx/uintx_c.h"

/* Uniform in [-1, 1), deterministic (a 64-bit LCG). */
static inline float random_uniform(uint64_t* state) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((double)(*state >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
}

static inline float* random_layer(int64_t n, int64_t k, uint64_t seed) {
  float* w = (float*)malloc((size_t)(n * k) * sizeof(float));
  int64_t i;
  for (i = 0; i < n * k; ++i) w[i] = random_uniform(&seed);
  return w;
}

static inline double scalar_at(const void* buffer, uintx_dtype dtype, int64_t index) {
  if (dtype == UINTX_DTYPE_F32) {
    float f;
    memcpy(&f, (const char*)buffer + 4 * index, 4);
    return f;
  } else {
    uint16_t h;
    memcpy(&h, (const char*)buffer + 2 * index, 2);
    if (dtype == UINTX_DTYPE_BF16) {
      uint32_t bits = (uint32_t)h << 16;
      float f;
      memcpy(&f, &bits, 4);
      return f;
    } else { /* IEEE half */
      int exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
      double v = exponent == 0 ? ldexp(mantissa, -24) : ldexp(mantissa + 1024, exponent - 25);
      return (h & 0x8000) ? -v : v;
    }
  }
}

/* The weight's value [row, col] in float64 from its raw buffers: (q - zero) * scale, or
 * q * scale for 8-bit (q an int8). Also returns the scale of that value. */
static inline double reference_value(const uintx_weight* w, int64_t row, int64_t col, double* scale_out) {
  uintx_format f;
  const void *packed, *scales, *zeros;
  size_t bytes;
  int per_word, word_bytes;
  int64_t words_per_row, word_index, group;
  uint32_t word = 0, q;
  double scale, zero;
  uintx_weight_format(w, &f);
  uintx_weight_buffer(w, UINTX_BUFFER_PACKED, &packed, &bytes);
  uintx_weight_buffer(w, UINTX_BUFFER_SCALES, &scales, &bytes);
  uintx_weight_buffer(w, UINTX_BUFFER_ZEROS, &zeros, &bytes);
  per_word = f.packing_bitwidth / f.bit_width;
  word_bytes = f.packing_bitwidth / 8;
  words_per_row = (f.k + per_word - 1) / per_word;
  word_index = row * words_per_row + col / per_word;
  memcpy(&word, (const char*)packed + word_index * word_bytes, (size_t)word_bytes); /* little-endian */
  q = (word >> ((col % per_word) * f.bit_width)) & ((1u << f.bit_width) - 1u);
  group = row * (f.k / f.group_size) + col / f.group_size;
  scale = scalar_at(scales, f.scale_dtype, group);
  *scale_out = scale;
  if (f.bit_width == 8) return (double)(int8_t)(uint8_t)q * scale;
  zero = scalar_at(zeros, f.scale_dtype, group);
  return ((double)q - zero) * scale;
}

#endif
