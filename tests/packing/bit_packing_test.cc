// Packing against an independent bit-by-bit reference, for every registered width and word size.
#include <doctest/doctest.h>

#include <random>

#include "packing/bit_packing.h"
#include "packing/bit_width_registry.h"
#include "packing/quantized_weight.h"
#include "tests/packing/test_util.h"
#include "uintx/error.h"

using namespace uintx;

static std::vector<int32_t> randomQ(const BitWidthSpec& s, size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(s.q_min, s.q_max);
  std::vector<int32_t> q(count);
  for (int32_t& v : q) v = dist(rng);
  return q;
}

TEST_CASE("pack matches the bit-by-bit reference and unpack inverts it") {
  uint32_t seed = 1;
  for (int bits : registeredBitWidths()) {
    const BitWidthSpec& s = bitWidthSpec(bits);
    for (int pb : {8, 16, 32}) {
      if (bits > pb) continue;
      for (int64_t K : {int64_t(1), int64_t(7), int64_t(64), int64_t(100), int64_t(1025)}) {
        WeightFormat f{bits, int(K), pb, 5, K, ScalarType::f32};
        CAPTURE(bits);
        CAPTURE(pb);
        CAPTURE(K);
        std::vector<int32_t> q = randomQ(s, size_t(5 * K), seed++);
        std::vector<uint8_t> packed = packValues(f, q.data());
        CHECK(packed == testing::referencePack(q, 5, K, bits, pb));
        CHECK(unpackValues(f, packed.data()) == q);
      }
    }
  }
}

TEST_CASE("hand-written words pin the documented element order") {
  // 4-bit in a 32-bit word: value j at bits [4j, 4j+4) -> 0..7 reads 0x76543210.
  WeightFormat f4{4, 8, 32, 1, 8, ScalarType::f32};
  std::vector<int32_t> q4 = {0, 1, 2, 3, 4, 5, 6, 7};
  CHECK(packValues(f4, q4.data()) == std::vector<uint8_t>{0x10, 0x32, 0x54, 0x76});
  // 3-bit in an 8-bit word: 2 values, top 2 bits zero: 5 | 3 << 3 = 0x1D.
  WeightFormat f3{3, 2, 8, 1, 2, ScalarType::f32};
  std::vector<int32_t> q3 = {5, 3};
  CHECK(packValues(f3, q3.data()) == std::vector<uint8_t>{0x1D});
  // int8 in a 16-bit word: two's complement bytes, first value in the low byte.
  WeightFormat f8{8, 3, 16, 1, 3, ScalarType::f32};
  std::vector<int32_t> q8 = {-1, 2, -127};  // third value pads the second word with 0
  CHECK(packValues(f8, q8.data()) == std::vector<uint8_t>{0xFF, 0x02, 0x81, 0x00});
  // 2-bit in 8: 4 values per byte, K = 5 pads 3 values of the second byte with 0.
  WeightFormat f2{2, 5, 8, 1, 5, ScalarType::f32};
  std::vector<int32_t> q2 = {3, 0, 1, 2, 1};
  CHECK(packValues(f2, q2.data()) == std::vector<uint8_t>{0x93, 0x01});
}

TEST_CASE("out-of-range q values are rejected by name") {
  WeightFormat f{4, 8, 32, 1, 8, ScalarType::f32};
  std::vector<int32_t> q = {0, 1, 2, 16, 4, 5, 6, 7};
  CHECK_THROWS_WITH_AS(packValues(f, q.data()), doctest::Contains("q value 16 at [0, 3]"), Error);
  WeightFormat f8{8, 1, 8, 1, 1, ScalarType::f32};
  std::vector<int32_t> q8 = {-129};
  CHECK_THROWS_WITH_AS(packValues(f8, q8.data()), doctest::Contains("range [-128, 127]"), Error);
}

TEST_CASE("construction rejects nonzero unused and padding bits, and takes int8 code -128") {
  std::vector<uint8_t> scales(4, 0);
  storeFloatAs(scales.data(), ScalarType::f32, 1.0f);
  // 3-bit in 32: 10 values, bits 30..31 unused.
  WeightFormat f3{3, 10, 32, 1, 10, ScalarType::f32};
  std::vector<uint8_t> zeros = scales;
  CHECK_NOTHROW(QuantizedWeight(f3, {0xFF, 0xFF, 0xFF, 0x3F}, scales, zeros));
  CHECK_THROWS_WITH_AS(QuantizedWeight(f3, {0, 0, 0, 0x40}, scales, zeros), doctest::Contains("unused or padding bits"), Error);
  // 4-bit, K = 5 in one 32-bit word: values 5..7 are padding.
  WeightFormat f4{4, 5, 32, 1, 5, ScalarType::f32};
  CHECK_NOTHROW(QuantizedWeight(f4, {0xFF, 0xFF, 0x0F, 0}, scales, zeros));
  CHECK_THROWS_WITH_AS(QuantizedWeight(f4, {0xFF, 0xFF, 0x1F, 0}, scales, zeros), doctest::Contains("padding bits"), Error);
  WeightFormat f8{8, 1, 8, 1, 1, ScalarType::f32};
  // int8's most negative code is stored by other quantizers (torchao's, through gemlite): it loads.
  QuantizedWeight minus128(f8, {0x80}, scales, {});
  CHECK(minus128.dequantize()[0] == -128.0f * minus128.scale(0, 0));
}
