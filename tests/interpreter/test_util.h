// Shared helpers of the interpreter tests: host element types, random inputs, independent
// rounding references and exact comparisons.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "dsl/interpreter.h"
#include "dsl/kernel_builder.h"
#include "uintx/half.h"

namespace uintx::interp_test {

using dsl::DType;

// Host type of each DSL dtype.
template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::f32; };
template <> struct DTypeOf<bf16> { static constexpr DType value = DType::bf16; };
template <> struct DTypeOf<fp16> { static constexpr DType value = DType::f16; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::i8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::i32; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::u32; };

inline float value(float v) { return v; }
inline float value(bf16 v) { return toFloat(v); }
inline float value(fp16 v) { return toFloat(v); }

// Round-to-nearest-even of a finite or infinite double to a binary format with `mantBits`
// fraction bits, smallest normal exponent `minExp` and largest finite `maxFinite`. Written
// from the definition (scale by the ulp, nearbyint), independent of uintx/half.h.
inline double roundRne(double v, int mantBits, int minExp, double maxFinite) {
  if (std::isnan(v) || std::isinf(v) || v == 0) return v;
  int e = std::max(std::ilogb(v), minExp);
  double ulp = std::ldexp(1.0, e - mantBits);
  double r = std::nearbyint(v / ulp) * ulp;
  if (std::fabs(r) > maxFinite) return std::copysign(INFINITY, v);
  return r;
}
inline float roundBf16(double v) { return float(roundRne(v, 7, -126, 0x1.FEp127)); }
inline float roundF16(double v) { return float(roundRne(v, 10, -14, 65504.0)); }

// Host element of `T` holding float `v`, which must already be representable.
template <class T> T fromFloat(float v);
template <> inline float fromFloat<float>(float v) { return v; }
template <> inline bf16 fromFloat<bf16>(float v) { return toBf16(v); }
template <> inline fp16 fromFloat<fp16>(float v) { return toFp16(v); }

// Float rounded to the host type T (f32: itself).
template <class T> float roundTo(double v);
template <> inline float roundTo<float>(double v) { return float(v); }
template <> inline float roundTo<bf16>(double v) { return roundBf16(v); }
template <> inline float roundTo<fp16>(double v) { return roundF16(v); }

// Random floats of type T: mostly moderate values, some specials (0, -0, inf, NaN) when asked.
template <class T>
std::vector<T> randomFloats(size_t n, uint32_t seed, bool specials = false, float scale = 100) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1.0f, -1.0f};
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) {
    float f = u(rng);
    if (specials && rng() % 10 == 0) f = special[rng() % 7];
    v[i] = fromFloat<T>(roundTo<T>(f));
  }
  return v;
}

// Random integers over the whole range of T, with the edges mixed in.
template <class T>
std::vector<T> randomInts(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  const T edge[] = {0, 1, T(-1), std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), 2, 7};
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = rng() % 8 == 0 ? edge[rng() % 7] : T(rng());
  return v;
}

template <class T> uint64_t bitsOf(T v) {
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T> bool isNan(T v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, bf16> || std::is_same_v<T, fp16>)
    return std::isnan(value(v));
  else
    return false;
}
template <class T> std::string show(T v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, bf16> || std::is_same_v<T, fp16>)
    return std::to_string(value(v)) + " (bits 0x" + std::to_string(bitsOf(v)) + ")";
  else
    return std::to_string(int64_t(v));
}

// Exact comparison: equal bits, or NaN on both sides. Reports the first few mismatches.
template <class T>
void checkExact(const std::vector<T>& got, const std::vector<T>& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bool same = bitsOf(got[i]) == bitsOf(want[i]) || (isNan(got[i]) && isNan(want[i]));
    if (!same && bad++ < 5)
      FAIL_CHECK(what << ": element " << i << " got " << show(got[i]) << " want " << show(want[i]));
  }
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " mismatches");
}

inline dsl::Grid grid1(int n, int block) { return dsl::Grid{(n + block - 1) / block, 1, 1}; }

}  // namespace uintx::interp_test
