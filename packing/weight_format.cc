#include "packing/weight_format.h"

#include <cstdint>
#include <string>

#include "packing/bit_width_registry.h"
#include "uintx/error.h"

namespace uintx {

namespace {
std::string str(int64_t v) { return std::to_string(v); }
constexpr int64_t kMaxDim = int64_t(1) << 31;  // keeps every byte count far from overflow

// a * b * c as a byte count; validate() keeps it far below the limit, this keeps it true
// for a format nobody validated.
size_t checkedBytes(int64_t a, int64_t b, int64_t c, const char* what) {
  uint64_t ab = 0, abc = 0;
  if (a < 0 || b < 0 || c < 0 || __builtin_mul_overflow(uint64_t(a), uint64_t(b), &ab) ||
      __builtin_mul_overflow(ab, uint64_t(c), &abc) || abc > uint64_t(PTRDIFF_MAX))
    throw Error(std::string(what) + " of [" + str(a) + ", " + str(b) + "] x " + str(c) +
                " bytes does not fit in memory");
  return size_t(abc);
}
}  // namespace

void WeightFormat::validate() const {
  const BitWidthSpec& s = spec();  // throws for an unknown width
  if (packing_bitwidth != 8 && packing_bitwidth != 16 && packing_bitwidth != 32)
    throw Error("packing_bitwidth = " + str(packing_bitwidth) + " is not supported: must be 8, 16 or 32");
  if (bit_width > packing_bitwidth)
    throw Error("bit_width = " + str(bit_width) + " does not fit in packing_bitwidth = " +
                str(packing_bitwidth) + ": a word must hold at least one value");
  if (N <= 0 || N >= kMaxDim) throw Error("N = " + str(N) + " is invalid: must be in [1, 2^31)");
  if (K <= 0 || K >= kMaxDim) throw Error("K = " + str(K) + " is invalid: must be in [1, 2^31)");
  if (!isFloatType(scale_dtype))
    throw Error(std::string("scale_dtype = ") + scalarTypeName(scale_dtype) + " is not supported: must be f32, bf16 or f16");
  if (s.isSymmetric()) {
    if (group_size != K)
      throw Error("group_size = " + str(group_size) + " is invalid for " + s.name +
                  ": symmetric widths are per output channel, group_size must be K = " + str(K) +
                  " (or 0 when quantizing)");
    return;
  }
  bool allowed = group_size == 32 || group_size == 64 || group_size == 128 || group_size == 256 || group_size == K;
  if (!allowed)
    throw Error("group_size = " + str(group_size) + " is not supported: must be 32, 64, 128, 256 or K = " + str(K));
  if (K % group_size != 0)
    throw Error("group_size = " + str(group_size) + " does not divide K = " + str(K) +
                ": use a group size that divides K, or group_size = K");
}

const BitWidthSpec& WeightFormat::spec() const { return bitWidthSpec(bit_width); }
bool WeightFormat::hasZeros() const { return spec().hasZeros(); }
int WeightFormat::valuesPerWord() const { return spec().valuesPerWord(packing_bitwidth); }
int64_t WeightFormat::wordsPerRow() const {
  int64_t vpw = valuesPerWord();
  return (K + vpw - 1) / vpw;
}
ScalarType WeightFormat::wordType() const {
  return packing_bitwidth == 8 ? ScalarType::u8 : packing_bitwidth == 16 ? ScalarType::u16 : ScalarType::u32;
}
size_t WeightFormat::packedBytes() const {
  return checkedBytes(N, wordsPerRow(), packing_bitwidth / 8, "the packed weights");
}
size_t WeightFormat::scaleBytes() const {
  return checkedBytes(N, numGroups(), int64_t(elementSize(scale_dtype)), "the scales");
}

}  // namespace uintx
