// Quantizing a host weight [N out, K in] (float32, bf16 or fp16) into a QuantizedWeight.
// Sub-byte widths: asymmetric, grouped along K; 8-bit: symmetric per output channel.
// Formulas and rounding: docs/FORMATS.md.
#pragma once
#include <cstdint>

#include "packing/quantized_weight.h"
#include "uintx/half.h"

namespace uintx {

struct QuantizeOptions {
  int bit_width = 4;
  int group_size = 128;  // 0 means K (one group per row; required for symmetric widths)
  int packing_bitwidth = 32;
  ScalarType scale_dtype = ScalarType::bf16;  // scales, zeros and bias: bf16, f16 or f32
};

// `bias` (optional, N values) is stored in scale_dtype.
QuantizedWeight quantize(const float* w, int64_t N, int64_t K, const QuantizeOptions& options,
                         const float* bias = nullptr);
QuantizedWeight quantize(const bf16* w, int64_t N, int64_t K, const QuantizeOptions& options,
                         const float* bias = nullptr);
QuantizedWeight quantize(const fp16* w, int64_t N, int64_t K, const QuantizeOptions& options,
                         const float* bias = nullptr);

// Round half to even, independent of the FPU rounding mode (the rounding quantize uses).
float roundHalfToEven(float x);

}  // namespace uintx
