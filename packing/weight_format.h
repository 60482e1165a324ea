// The metadata of a quantized weight: what a kernel is specialized on and what a file records.
#pragma once
#include <cstdint>

#include "packing/scalar_type.h"

namespace uintx {

struct BitWidthSpec;

struct WeightFormat {
  int bit_width = 4;
  int group_size = 128;       // along K; == K means one group per row (per-channel)
  int packing_bitwidth = 32;  // 8, 16 or 32: the word the q values are packed into
  int64_t N = 0;              // output features (rows)
  int64_t K = 0;              // input features (columns, the packed dimension)
  ScalarType scale_dtype = ScalarType::bf16;  // scales, zeros and bias: f32, bf16 or f16

  // Throws uintx::Error naming the bad value and the rule (see docs/FORMATS.md).
  void validate() const;

  const BitWidthSpec& spec() const;  // the registry entry of bit_width
  bool hasZeros() const;
  int valuesPerWord() const;
  int64_t wordsPerRow() const;       // ceil(K / valuesPerWord())
  int64_t numGroups() const { return K / group_size; }
  ScalarType wordType() const;       // u8, u16 or u32
  size_t packedBytes() const;        // N * wordsPerRow() * packing_bitwidth / 8
  size_t scaleBytes() const;         // N * numGroups() * elementSize(scale_dtype); zeros alike
};

}  // namespace uintx
