#include "kernels/common/decode.h"

namespace uintx::kernels {

using namespace uintx::dsl;

Value signedFieldsToUnsigned(Value words, int bits) {
  uint32_t signs = 0;
  for (int j = 0; j < 32 / bits; ++j) signs |= uint32_t(1) << (j * bits + bits - 1);
  return words ^ double(int32_t(signs));  // the same 32 bits, as an i32 literal
}

Value codesToUnitFloat(Value codes, int bits) { return bitcast((codes << (23 - bits)) | 0x3F800000, DType::f32); }

Value codesToPairedSubnormal(Value codes, Value evenField, int bits) {
  return bitcast(where(evenField, codes << (23 - 2 * bits), codes << (23 - bits)), DType::f32);
}

}  // namespace uintx::kernels
