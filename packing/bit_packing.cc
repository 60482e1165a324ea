#include "packing/bit_packing.h"

#include <string>

#include "packing/bit_width_registry.h"
#include "uintx/error.h"

namespace uintx {

namespace {
uint32_t loadWord(const uint8_t* p, int bytes) {
  uint32_t w = 0;
  for (int i = 0; i < bytes; ++i) w |= uint32_t(p[i]) << (8 * i);
  return w;
}
void storeWord(uint8_t* p, int bytes, uint32_t w) {
  for (int i = 0; i < bytes; ++i) p[i] = uint8_t(w >> (8 * i));
}
}  // namespace

std::vector<uint8_t> packValues(const WeightFormat& format, const int32_t* q) {
  format.validate();
  const BitWidthSpec& s = format.spec();
  const int vpw = format.valuesPerWord(), wordBytes = format.packing_bitwidth / 8;
  const int64_t wordsPerRow = format.wordsPerRow();
  const uint32_t mask = (1u << s.bits) - 1;
  std::vector<uint8_t> out(format.packedBytes(), 0);
  for (int64_t n = 0; n < format.N; ++n) {
    for (int64_t w = 0; w < wordsPerRow; ++w) {
      uint32_t word = 0;
      for (int j = 0; j < vpw; ++j) {
        int64_t k = w * vpw + j;
        if (k >= format.K) break;  // padding: code 0
        int32_t v = q[n * format.K + k];
        if (v < s.q_min || v > s.q_max)
          throw Error("q value " + std::to_string(v) + " at [" + std::to_string(n) + ", " + std::to_string(k) +
                      "] is outside the " + s.name + " range [" + std::to_string(s.q_min) + ", " +
                      std::to_string(s.q_max) + "]");
        const uint32_t code = s.encode(v);
        // Registration checks this for the whole range; masking a wider code would store another value.
        if (code > mask)
          throw Error("q value " + std::to_string(v) + " encodes to " + std::to_string(code) + ", which does not fit in " +
                      std::to_string(s.bits) + " bits");
        word |= code << s.bitOffset(j);
      }
      storeWord(&out[size_t((n * wordsPerRow + w) * wordBytes)], wordBytes, word);
    }
  }
  return out;
}

std::vector<int32_t> unpackValues(const WeightFormat& format, const uint8_t* packed) {
  format.validate();
  const BitWidthSpec& s = format.spec();
  const int vpw = format.valuesPerWord(), wordBytes = format.packing_bitwidth / 8;
  const int64_t wordsPerRow = format.wordsPerRow();
  const uint32_t mask = (1u << s.bits) - 1;
  std::vector<int32_t> q(size_t(format.N) * size_t(format.K));  // validate(): N, K < 2^31
  for (int64_t n = 0; n < format.N; ++n) {
    for (int64_t k = 0; k < format.K; ++k) {
      uint32_t word = loadWord(packed + size_t((n * wordsPerRow + k / vpw) * wordBytes), wordBytes);
      q[size_t(n * format.K + k)] = s.decode((word >> s.bitOffset(int(k % vpw))) & mask);
    }
  }
  return q;
}

}  // namespace uintx
