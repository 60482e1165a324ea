// What a kernel program needs to know about a weight format (QuantSpec), and the bridge from
// the host formats of packing/ to it.
#pragma once

#include <cstdint>

#include "cache/kernel_key.h"
#include "dsl/kernel_builder.h"
#include "packing/scalar_type.h"
#include "packing/weight_format.h"

namespace uintx::kernels {

// Packed weights, scales, zeros and bias reach the kernels as DeviceWeight buffers, uploaded
// once and written by nothing while kernels run: a kernel may start reading them before it
// waits for the kernels before it on the stream (dsl::PointerAccess::constant).
constexpr dsl::PointerAccess kWeightData = dsl::PointerAccess::constant;

// What a kernel program needs to know about the weight format.
struct QuantSpec {
  int bits = 4;
  bool symmetric = false;  // true: q is bits-wide two's complement, W = q * scale per row
  int groupSize = 128;     // along K (== K: one scale per row)
  int packingBits = 32;    // width of the packed words (8, 16, 32)
  int64_t N = 0, K = 0;
  dsl::DType scaleDtype = dsl::DType::bf16;
  int valuesPerWord() const { return packingBits / bits; }
  int64_t rowBytes() const;
};

// Throws uintx::Error if no kernel handles this format (the message says why): widths above 8
// bits, packed weights of 2^31 - 64 bytes or more (the kernels' offsets are 32-bit), and registered widths whose code or dequantization rule is not one of the two standard
// rules (the kernels decode codes as plain or two's-complement integers, nothing else).
QuantSpec quantSpecOf(const WeightFormat& format);
dsl::DType dslType(ScalarType t);

// The weight format a key stands for (scales in bf16, the library's default).
// Throws uintx::Error when the key names no valid format.
WeightFormat weightFormatOf(const cache::KernelKey& key);

}  // namespace uintx::kernels
