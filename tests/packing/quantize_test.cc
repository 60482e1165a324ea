// Quantization: accuracy (SQNR), per-element agreement with an independent re-derivation of q
// from the stored scales and zeros, input dtypes, odd shapes and error messages.
#include <doctest/doctest.h>

#include <algorithm>
#include <cfenv>
#include <cmath>

#include "packing/bit_width_registry.h"
#include "packing/quantize.h"
#include "tests/packing/test_util.h"
#include "uintx/error.h"

using namespace uintx;
using uintx::testing::randomNormal;
using uintx::testing::sqnrDb;

// q as the documented formula gives it from the stored scale and zero, with the C library's
// round-to-nearest-even (not the library's own rounding function).
static void checkAgainstFormula(const std::vector<float>& w, const QuantizedWeight& qw) {
  const WeightFormat& f = qw.format();
  const BitWidthSpec& s = f.spec();
  REQUIRE(std::fegetround() == FE_TONEAREST);
  std::vector<int32_t> q = qw.unpack();
  std::vector<float> d = qw.dequantize();
  int64_t mismatches = 0;
  for (int64_t n = 0; n < f.N; ++n) {
    for (int64_t k = 0; k < f.K; ++k) {
      const int64_t g = k / f.group_size;
      const float sc = qw.scale(n, g), z = qw.zero(n, g), x = w[size_t(n * f.K + k)];
      float expected = std::nearbyint(s.isSymmetric() ? x / sc : x / sc + z);
      // Symmetric widths quantize to [-q_max, q_max]: the most negative code stays unused.
      expected = std::clamp(expected, s.isSymmetric() ? -float(s.q_max) : float(s.q_min), float(s.q_max));
      mismatches += q[size_t(n * f.K + k)] != int32_t(expected);
      float deq = s.isSymmetric() ? float(q[size_t(n * f.K + k)]) * sc : (float(q[size_t(n * f.K + k)]) - z) * sc;
      mismatches += d[size_t(n * f.K + k)] != deq;
      // Rounding error is half a step; the scale's own rounding can clamp the extremes a bit more.
      float slack = f.scale_dtype == ScalarType::f32 ? 0.501f : 0.6f;
      mismatches += !(std::fabs(d[size_t(n * f.K + k)] - x) <= slack * sc);
    }
  }
  CHECK(mismatches == 0);
}

// The stored scale is the group's range over q_max, rounded to the scale dtype.
static void checkScales(const std::vector<float>& w, const QuantizedWeight& qw) {
  const WeightFormat& f = qw.format();
  const BitWidthSpec& s = f.spec();
  const double rel = f.scale_dtype == ScalarType::bf16 ? 1.0 / 256 : f.scale_dtype == ScalarType::f16 ? 1.0 / 2048 : 1e-6;
  int64_t bad = 0;
  for (int64_t n = 0; n < f.N; ++n) {
    for (int64_t g = 0; g < f.numGroups(); ++g) {
      double lo = 0, hi = 0, amax = 0;
      for (int64_t k = g * f.group_size; k < (g + 1) * f.group_size; ++k) {
        double x = w[size_t(n * f.K + k)];
        lo = std::min(lo, x), hi = std::max(hi, x), amax = std::max(amax, std::fabs(x));
      }
      double expected = s.isSymmetric() ? amax / s.q_max : (hi - lo) / s.q_max;
      bad += std::fabs(qw.scale(n, g) - expected) > rel * expected;
      if (!s.isSymmetric()) bad += std::fabs(qw.zero(n, g) - (-lo / qw.scale(n, g))) > rel * s.q_max;
    }
  }
  CHECK(bad == 0);
}

TEST_CASE("SQNR on random normal weights meets the thresholds") {
  const int64_t N = 256, K = 1024;
  std::vector<float> w = randomNormal(size_t(N * K), 42);
  struct Case { int bits, group, pb; double minDb; };
  for (Case c : {Case{4, 128, 32, 19.0}, Case{8, 0, 32, 38.0}, Case{2, 128, 32, 5.0}, Case{4, 128, 8, 19.0}, Case{8, 0, 8, 38.0}}) {
    for (ScalarType dt : {ScalarType::bf16, ScalarType::f16, ScalarType::f32}) {
      CAPTURE(c.bits);
      CAPTURE(c.pb);
      CAPTURE(scalarTypeName(dt));
      QuantizedWeight qw = quantize(w.data(), N, K, {c.bits, c.group, c.pb, dt});
      double db = sqnrDb(w, qw.dequantize());
      MESSAGE("bits " << c.bits << " group " << c.group << " pb " << c.pb << " " << std::string(scalarTypeName(dt)) << ": " << db << " dB");
      CHECK(db >= c.minDb);
    }
  }
}

TEST_CASE("4-bit g64/g128 and 8-bit per-channel agree with the formula for every packing") {
  const int64_t N = 64, K = 512;
  std::vector<float> w = randomNormal(size_t(N * K), 7, 0.02f);
  for (int pb : {32, 16, 8}) {
    for (ScalarType dt : {ScalarType::bf16, ScalarType::f16, ScalarType::f32}) {
      for (auto [bits, group] : {std::pair{4, 64}, std::pair{4, 128}, std::pair{8, 0}, std::pair{8, int(K)}}) {
        CAPTURE(bits);
        CAPTURE(group);
        CAPTURE(pb);
        CAPTURE(scalarTypeName(dt));
        QuantizedWeight qw = quantize(w.data(), N, K, {bits, group, pb, dt});
        CHECK(qw.format().group_size == (group == 0 ? K : group));
        CHECK(qw.hasZeros() == (bits != 8));
        CHECK(qw.packedBytes() == size_t(N * K * bits / 8));
        checkAgainstFormula(w, qw);
        checkScales(w, qw);
      }
    }
  }
}

TEST_CASE("1, 2 and 3-bit end to end") {
  const int64_t N = 32, K = 256;
  std::vector<float> w = randomNormal(size_t(N * K), 11);
  double previous = -100;
  for (int bits : {1, 2, 3}) {
    for (int pb : {8, 16, 32}) {
      QuantizedWeight qw = quantize(w.data(), N, K, {bits, 32, pb, ScalarType::f32});
      checkAgainstFormula(w, qw);
      checkScales(w, qw);
      QuantizedWeight back = QuantizedWeight::fromSafetensors(qw.toSafetensors().data(), qw.toSafetensors().size());
      CHECK(back.dequantize() == qw.dequantize());
    }
    double db = sqnrDb(w, quantize(w.data(), N, K, {bits, 32, 32, ScalarType::f32}).dequantize());
    CHECK(db > previous + 2.0);  // each extra bit buys accuracy
    previous = db;
  }
}

TEST_CASE("bf16 and fp16 inputs quantize like their float values") {
  const int64_t N = 16, K = 256;
  std::vector<float> w = randomNormal(size_t(N * K), 5);
  std::vector<bf16> wb(w.size());
  std::vector<fp16> wh(w.size());
  std::vector<float> fromB(w.size()), fromH(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    wb[i] = toBf16(w[i]), wh[i] = toFp16(w[i]);
    fromB[i] = toFloat(wb[i]), fromH[i] = toFloat(wh[i]);
  }
  QuantizeOptions o{4, 64, 32, ScalarType::bf16};
  CHECK(quantize(wb.data(), N, K, o).toSafetensors() == quantize(fromB.data(), N, K, o).toSafetensors());
  CHECK(quantize(wh.data(), N, K, o).toSafetensors() == quantize(fromH.data(), N, K, o).toSafetensors());
  checkAgainstFormula(fromB, quantize(wb.data(), N, K, o));
}

TEST_CASE("shape 1024x1025 with group_size K pads the last word") {
  const int64_t N = 1024, K = 1025;
  std::vector<float> w = randomNormal(size_t(N * K), 3);
  QuantizedWeight q4 = quantize(w.data(), N, K, {4, 0, 32, ScalarType::bf16});
  CHECK(q4.format().group_size == K);
  CHECK(q4.format().wordsPerRow() == 129);  // 128 full words + 1 word with 1 value, 7 padding
  CHECK(q4.packedBytes() == size_t(N * 129 * 4));
  CHECK(sqnrDb(w, q4.dequantize()) > 14.0);  // one group of 1025 has a wide range
  checkAgainstFormula(w, q4);
  QuantizedWeight q8 = quantize(w.data(), N, K, {8, 0, 32, ScalarType::bf16});
  CHECK(q8.format().wordsPerRow() == 257);
  CHECK(sqnrDb(w, q8.dequantize()) >= 36.0);
  checkAgainstFormula(w, q8);
  CHECK_THROWS_WITH_AS(quantize(w.data(), N, K, {4, 128, 32, ScalarType::bf16}),
                       doctest::Contains("group_size = 128 does not divide K = 1025"), Error);
}

TEST_CASE("rounding is half to even, including q ties") {
  CHECK(roundHalfToEven(0.5f) == 0.0f);
  CHECK(roundHalfToEven(1.5f) == 2.0f);
  CHECK(roundHalfToEven(2.5f) == 2.0f);
  CHECK(roundHalfToEven(-0.5f) == 0.0f);
  CHECK(roundHalfToEven(-1.5f) == -2.0f);
  CHECK(roundHalfToEven(2.4999998f) == 2.0f);
  CHECK(roundHalfToEven(1e9f) == 1e9f);
  // Row [-127, ..., 0.5, 1.5, 2.5]: scale exactly 1, so q = round(w): 0, 2, 2.
  std::vector<float> w = {-127.0f, 0.5f, 1.5f, 2.5f};
  QuantizedWeight q = quantize(w.data(), 1, 4, {8, 0, 8, ScalarType::f32});
  CHECK(q.scale(0, 0) == 1.0f);
  CHECK(q.unpack() == std::vector<int32_t>{-127, 0, 2, 2});
}

TEST_CASE("groups and rows of zeros dequantize exactly") {
  std::vector<float> w = randomNormal(128, 13);
  std::fill(w.begin(), w.begin() + 32, 0.0f);
  QuantizedWeight q = quantize(w.data(), 1, 128, {4, 32, 32, ScalarType::bf16});
  CHECK(q.scale(0, 0) == 1.0f);
  CHECK(q.zero(0, 0) == 0.0f);
  std::vector<float> d = q.dequantize();
  CHECK(std::all_of(d.begin(), d.begin() + 32, [](float x) { return x == 0.0f; }));
  std::vector<float> zeroRow(128, 0.0f);
  CHECK(quantize(zeroRow.data(), 1, 128, {8, 0, 32, ScalarType::bf16}).dequantize() == zeroRow);
}

TEST_CASE("invalid options fail with messages naming the value and the rule") {
  std::vector<float> w = randomNormal(64 * 256, 9);
  auto q = [&](QuantizeOptions o) { return quantize(w.data(), 64, 256, o); };
  CHECK_THROWS_WITH_AS(q({7, 128, 32, ScalarType::bf16}), doctest::Contains("unknown bit width 7"), Error);
  CHECK_THROWS_WITH_AS(q({4, 100, 32, ScalarType::bf16}), doctest::Contains("group_size = 100 is not supported: must be 32, 64, 128, 256 or K"), Error);
  CHECK_THROWS_WITH_AS(q({4, 128, 12, ScalarType::bf16}), doctest::Contains("packing_bitwidth = 12 is not supported"), Error);
  CHECK_THROWS_WITH_AS(q({8, 128, 32, ScalarType::bf16}), doctest::Contains("group_size = 128 is invalid for int8"), Error);
  CHECK_THROWS_WITH_AS(q({4, 128, 32, ScalarType::i8}), doctest::Contains("scale_dtype = i8 is not supported"), Error);
  CHECK_THROWS_WITH_AS(quantize(w.data(), 0, 256, {}), doctest::Contains("N = 0 is invalid"), Error);
  w[300] = NAN;
  CHECK_THROWS_WITH_AS(q({}), doctest::Contains("weight [1, 44] is not finite"), Error);
  std::vector<float> tiny(32, 0.0f);
  tiny[0] = 1e-7f;
  CHECK_THROWS_WITH_AS(quantize(tiny.data(), 1, 32, {4, 32, 32, ScalarType::f16}),
                       doctest::Contains("not representable as a nonzero finite f16"), Error);
}

TEST_CASE("construction checks buffer sizes and finiteness") {
  WeightFormat f{4, 64, 32, 2, 128, ScalarType::bf16};
  std::vector<uint8_t> packed(f.packedBytes()), scales(f.scaleBytes()), zeros(f.scaleBytes());
  CHECK_NOTHROW(QuantizedWeight(f, packed, scales, zeros));
  CHECK_THROWS_WITH_AS(QuantizedWeight(f, std::vector<uint8_t>(10), scales, zeros),
                       doctest::Contains("packed weights has 10 bytes, expected 128"), Error);
  CHECK_THROWS_WITH_AS(QuantizedWeight(f, packed, scales, {}), doctest::Contains("zeros has 0 bytes, expected 8"), Error);
  CHECK_THROWS_WITH_AS(QuantizedWeight(f, packed, scales, zeros, std::vector<uint8_t>(3)), doctest::Contains("bias has 3 bytes"), Error);
  std::vector<uint8_t> nanScales = scales;
  storeFloatAs(&nanScales[2], ScalarType::bf16, INFINITY);
  CHECK_THROWS_WITH_AS(QuantizedWeight(f, packed, nanScales, zeros), doctest::Contains("scales element 1 is not finite"), Error);
  // Finite scale and zero whose weights overflow float32: (0 - (-3e38)) * 2.
  std::vector<uint8_t> bigScales = scales, farZeros = zeros;
  for (int i = 0; i < 4; ++i) storeFloatAs(&bigScales[2 * i], ScalarType::bf16, 1.0f);
  CHECK_NOTHROW(QuantizedWeight(f, packed, bigScales, farZeros));
  storeFloatAs(&bigScales[2 * 3], ScalarType::bf16, 2.0f);
  storeFloatAs(&farZeros[2 * 3], ScalarType::bf16, -3e38f);
  CHECK_THROWS_WITH_AS(QuantizedWeight(f, packed, bigScales, farZeros),
                       doctest::Contains("row 1, group 1: scale 2.000000 and zero"), Error);
  WeightFormat f8{8, 128, 32, 2, 128, ScalarType::bf16};
  std::vector<uint8_t> packed8(f8.packedBytes()), scales8(f8.scaleBytes());
  CHECK_THROWS_WITH_AS(QuantizedWeight(f8, packed8, scales8, scales8), doctest::Contains("int8 is symmetric and has no zeros"), Error);
}

TEST_CASE("bf16 and fp16 inputs validate N, K and the options before allocating") {
  // A caller's wrong K must be a uintx::Error, not an N*K-sized allocation (or, when N*K
  // wraps, a read past the caller's buffer).
  std::vector<bf16> w16(64, toBf16(0.5f));
  std::vector<fp16> h16(64, toFp16(0.5f));
  const int64_t hugeK = int64_t(1) << 50;
  CHECK_THROWS_WITH_AS(quantize(w16.data(), 1, hugeK, {}), doctest::Contains("K = 1125899906842624 is invalid"), Error);
  CHECK_THROWS_WITH_AS(quantize(h16.data(), 1, hugeK, {}), doctest::Contains("K = 1125899906842624 is invalid"), Error);
  // (2^62 + 1) * 4 wraps to 4 in int64.
  const int64_t wrappingN = (int64_t(1) << 62) + 1;
  CHECK_THROWS_WITH_AS(quantize(w16.data(), wrappingN, 4, {}), doctest::Contains("N = 4611686018427387905 is invalid"), Error);
  // The options too, before any conversion: a bad width is named even with a huge K.
  CHECK_THROWS_WITH_AS(quantize(w16.data(), 1, hugeK, {7, 128, 32, ScalarType::bf16}), doctest::Contains("unknown bit width 7"), Error);
  CHECK_THROWS_WITH_AS(quantize(w16.data(), 2, 64, {4, 48, 32, ScalarType::bf16}), doctest::Contains("group_size = 48"), Error);
}

TEST_CASE("an f32 scale that overflows says so instead of suggesting f32") {
  std::vector<float> w(32, 0.0f);
  w[0] = 3e38f, w[1] = -3e38f;  // max - min = 6e38 > FLT_MAX
  for (ScalarType dt : {ScalarType::f32, ScalarType::bf16}) {
    CAPTURE(scalarTypeName(dt));
    try {
      (void)quantize(w.data(), 1, 32, {4, 32, 32, dt});
      FAIL("quantize accepted a group whose range overflows float");
    } catch (const Error& e) {
      const std::string message = e.what();
      CHECK(message.find("use scale_dtype f32") == std::string::npos);
      CHECK(message.find("range of row 0, group 0") != std::string::npos);
      CHECK(message.find("exceeds the largest float") != std::string::npos);
    }
  }
  // Where f32 does help, the hint stays.
  std::vector<float> tiny(32, 0.0f);
  tiny[0] = 1e-7f;
  CHECK_THROWS_WITH_AS(quantize(tiny.data(), 1, 32, {4, 32, 32, ScalarType::f16}), doctest::Contains("use scale_dtype f32"), Error);
}

TEST_CASE("a bias the scale dtype cannot hold is named as such") {
  std::vector<float> w = randomNormal(2 * 64, 5);
  std::vector<float> bias = {1.0f, 1e5f};  // finite, but above f16's 65504
  CHECK_THROWS_WITH_AS(quantize(w.data(), 2, 64, {4, 64, 32, ScalarType::f16}, bias.data()),
                       doctest::Contains("bias[1] = 100000.000000 overflows f16"), Error);
  CHECK_THROWS_WITH_AS(quantize(w.data(), 2, 64, {4, 64, 32, ScalarType::f16}, bias.data()),
                       doctest::Contains("use scale_dtype f32"), Error);
  bias[1] = 3.4e38f;  // rounds to bf16's infinity
  CHECK_THROWS_WITH_AS(quantize(w.data(), 2, 64, {4, 64, 32, ScalarType::bf16}, bias.data()),
                       doctest::Contains("bias[1] = "), Error);
  CHECK_NOTHROW(quantize(w.data(), 2, 64, {4, 64, 32, ScalarType::f32}, bias.data()));
  bias[0] = NAN;
  CHECK_THROWS_WITH_AS(quantize(w.data(), 2, 64, {4, 64, 32, ScalarType::f32}, bias.data()),
                       doctest::Contains("bias[0] is not finite"), Error);
}

TEST_CASE("byte counts of a format are exact and cannot overflow") {
  WeightFormat f{1, 32, 8, (int64_t(1) << 31) - 1, (int64_t(1) << 31) - 32, ScalarType::f32};
  REQUIRE_NOTHROW(f.validate());
  CHECK(f.packedBytes() == size_t(f.N) * size_t(f.wordsPerRow()));
  CHECK(f.scaleBytes() == size_t(f.N) * size_t(f.K / 32) * 4);
}
