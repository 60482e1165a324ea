// Helpers shared by the packing tests: random weights, SQNR, and an independent bit-by-bit
// reference of the packed layout documented in docs/FORMATS.md.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace uintx::testing {

inline std::vector<float> randomNormal(size_t count, uint32_t seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

// 10 log10(|w|^2 / |w - d|^2), in float64.
inline double sqnrDb(const std::vector<float>& w, const std::vector<float>& d) {
  double signal = 0, noise = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    signal += double(w[i]) * w[i];
    noise += (double(w[i]) - d[i]) * (double(w[i]) - d[i]);
  }
  return 10.0 * std::log10(signal / noise);
}

// The documented layout, written one bit at a time: a row is a stream of words of `wordBits`;
// value k sits in word k / vpw at bit (k % vpw) * bits; its code is q mod 2^bits (two's
// complement for negative q); words are stored little-endian, so stream bit p is bit p % 8 of
// byte p / 8. Everything not written is 0.
inline std::vector<uint8_t> referencePack(const std::vector<int32_t>& q, int64_t N, int64_t K, int bits, int wordBits) {
  const int64_t vpw = wordBits / bits;
  const int64_t wordsPerRow = (K + vpw - 1) / vpw;
  const int64_t rowBits = wordsPerRow * wordBits;
  std::vector<uint8_t> out(size_t(N * rowBits / 8), 0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) {
      int64_t code = ((int64_t(q[size_t(n * K + k)]) % (1 << bits)) + (1 << bits)) % (1 << bits);
      for (int i = 0; i < bits; ++i) {
        if (((code >> i) & 1) == 0) continue;
        int64_t p = n * rowBits + (k / vpw) * wordBits + (k % vpw) * bits + i;
        out[size_t(p / 8)] |= uint8_t(1u << (p % 8));
      }
    }
  }
  return out;
}

}  // namespace uintx::testing
