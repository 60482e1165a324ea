// The bridge from a registered width to the kernels: a width whose codes or dequantization
// differ from the two standard rules cannot be decoded by the kernels, so it is refused.
#include "doctest/doctest.h"
#include "kernels/common/quant_spec.h"
#include "packing/bit_width_registry.h"
#include "uintx/error.h"

using namespace uintx;

namespace {

WeightFormat formatOf(int bits) {
  WeightFormat f;
  f.bit_width = bits;
  f.group_size = 128;
  f.packing_bitwidth = 32;
  f.N = 64;
  f.K = 256;
  return f;
}

}  // namespace

TEST_CASE("a width registered with a standard rule reaches the kernels") {
  if (!isBitWidthRegistered(6)) registerBitWidth(unsignedAsymmetricWidth(6));
  kernels::QuantSpec q = kernels::quantSpecOf(formatOf(6));
  CHECK(q.bits == 6);
  CHECK(!q.symmetric);
}

TEST_CASE("a width with a custom code rule is refused by the kernels, not decoded wrongly") {
  BitWidthSpec custom = unsignedAsymmetricWidth(5);
  custom.name = "uint5_gray";
  custom.encode = [](int32_t q) { return uint32_t(q ^ (q >> 1)); };  // Gray code
  custom.decode = [](uint32_t code) {
    int32_t q = int32_t(code);
    for (int32_t s = q >> 1; s; s >>= 1) q ^= s;
    return q;
  };
  if (!isBitWidthRegistered(5)) registerBitWidth(custom);
  CHECK_THROWS_WITH_AS(kernels::quantSpecOf(formatOf(5)), doctest::Contains("standard"), Error);
}

// Offsets in the kernels are 32-bit: a weight whose packed bytes reach 2^31 would wrap them and
// read other memory. The largest layers of public models fit (Llama-3.1 405B's lm_head,
// 128256 x 16384, is 2.1e9 bytes at 8 bits); a 256000-row vocabulary at that width does not.
TEST_CASE("a packed weight past 32-bit offsets is refused by the kernels, with the way out") {
  WeightFormat f;
  f.bit_width = 8, f.packing_bitwidth = 32, f.N = 128256, f.K = 16384, f.group_size = 16384;
  f.validate();
  CHECK(f.packedBytes() < (size_t(1) << 31));
  CHECK_NOTHROW(kernels::quantSpecOf(f));
  f.N = 256000;
  CHECK_THROWS_WITH_AS(kernels::quantSpecOf(f), doctest::Contains("split its rows into shards"), Error);
  f.bit_width = 4, f.group_size = 128;  // 2.1e9 bytes at 4 bits: fits
  CHECK_NOTHROW(kernels::quantSpecOf(f));
  f.N = 262144;  // 2^31 bytes at 4 bits
  CHECK_THROWS_AS(kernels::quantSpecOf(f), Error);
  f.N = 262143;  // one row less: 8192 bytes under 2^31
  CHECK_NOTHROW(kernels::quantSpecOf(f));
}
