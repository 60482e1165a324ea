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
