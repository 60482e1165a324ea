// Host-side bf16 and fp16: storage types plus exact conversions to and from float,
// rounding to nearest, ties to even (what the GPU's cvt.rn does).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace uintx {

struct bf16 {
  uint16_t bits = 0;
};
struct fp16 {
  uint16_t bits = 0;
};

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline bf16 toBf16(float f) {
  uint32_t u = floatBits(f);
  if (std::isnan(f)) return bf16{uint16_t((u >> 16) | 0x40)};
  uint32_t rounding = 0x7FFF + ((u >> 16) & 1);
  return bf16{uint16_t((u + rounding) >> 16)};
}
inline float toFloat(bf16 h) { return bitsToFloat(uint32_t(h.bits) << 16); }

inline fp16 toFp16(float f) {
  uint32_t u = floatBits(f);
  uint32_t sign = (u >> 16) & 0x8000;
  uint32_t absu = u & 0x7FFFFFFF;
  if (absu >= 0x7F800000) return fp16{uint16_t(sign | (absu > 0x7F800000 ? 0x7E00 : 0x7C00))};
  if (absu >= 0x477FF000) return fp16{uint16_t(sign | 0x7C00)};  // rounds past 65504
  if (absu < 0x38800000) {  // fp16 subnormal or zero: scale into integer units of 2^-24
    float a = bitsToFloat(absu) * 16777216.0f;  // exact: power-of-two scaling
    float r = std::nearbyint(a);                // default rounding mode: ties to even
    return fp16{uint16_t(sign | uint32_t(r))};
  }
  uint32_t rounding = 0xFFF + ((absu >> 13) & 1);
  uint32_t v = absu + rounding - 0x38000000;  // rebias exponent 127 -> 15
  return fp16{uint16_t(sign | (v >> 13))};
}
inline float toFloat(fp16 h) {
  uint32_t sign = uint32_t(h.bits & 0x8000) << 16;
  uint32_t exp = (h.bits >> 10) & 0x1F;
  uint32_t man = h.bits & 0x3FF;
  if (exp == 0) {
    float v = std::ldexp(float(man), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return bitsToFloat(sign | 0x7F800000 | (man << 13));
  return bitsToFloat(sign | ((exp + 112) << 23) | (man << 13));
}

}  // namespace uintx
