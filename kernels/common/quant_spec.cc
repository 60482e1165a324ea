#include "kernels/common/quant_spec.h"

#include "packing/bit_width_registry.h"
#include "uintx/error.h"

namespace uintx::kernels {

int64_t QuantSpec::rowBytes() const {
  return (K + valuesPerWord() - 1) / valuesPerWord() * (packingBits / 8);
}


dsl::DType dslType(ScalarType t) {
  switch (t) {
    case ScalarType::f32: return dsl::DType::f32;
    case ScalarType::bf16: return dsl::DType::bf16;
    case ScalarType::f16: return dsl::DType::f16;
    case ScalarType::i8: return dsl::DType::i8;
    case ScalarType::u8: return dsl::DType::u8;
    case ScalarType::i32: return dsl::DType::i32;
    case ScalarType::u32: return dsl::DType::u32;
    case ScalarType::u16: break;
  }
  throw Error(std::string("no kernel data type for ") + scalarTypeName(t));
}

// True when the width codes, decodes and dequantizes every value exactly as the standard rule
// of its scheme does (what the kernels implement).
static bool followsStandardRule(const BitWidthSpec& spec) {
  const BitWidthSpec standard =
      spec.isSymmetric() ? signedSymmetricWidth(spec.bits) : unsignedAsymmetricWidth(spec.bits);
  if (spec.q_min != standard.q_min || spec.q_max != standard.q_max) return false;
  for (int32_t q = spec.q_min; q <= spec.q_max; ++q) {
    if (spec.encode(q) != standard.encode(q) || spec.decode(standard.encode(q)) != q) return false;
    for (float scale : {0.5f, 3.0f})
      for (float zero : {0.0f, 2.5f})
        if (spec.dequantize(q, scale, zero) != standard.dequantize(q, scale, zero)) return false;
  }
  return true;
}

QuantSpec quantSpecOf(const WeightFormat& f) {
  const BitWidthSpec& spec = f.spec();
  if (spec.bits > 8)
    throw Error("bit width " + std::to_string(spec.bits) + ": kernels handle widths 1..8");
  // Kernels decode the two standard rules only: code = q, or q in two's complement.
  if (!followsStandardRule(spec))
    throw Error("bit width " + std::to_string(spec.bits) + " ('" + spec.name +
                "') is registered with its own code or dequantization rule; the GPU kernels decode the standard "
                "rules only (unsignedAsymmetricWidth / signedSymmetricWidth), so it can be packed and "
                "dequantized on the host but not run by uintx::linear");
  // Kernel offsets are 32-bit (the DSL's index type): the packed bytes, with the 16 bytes a row's
  // last vector load may read past them, must stay below 2^31, or offsets wrap and read other
  // memory. Scales, zeros, x and y are smaller per row than the packed codes.
  if (f.packedBytes() + 64 > (size_t(1) << 31))
    throw Error("the packed weight [" + std::to_string(f.N) + ", " + std::to_string(f.K) + "] at " +
                std::to_string(spec.bits) + " bits is " + std::to_string(f.packedBytes()) +
                " bytes; the GPU kernels address at most 2^31 - 64 bytes of it (32-bit offsets): split its "
                "rows into shards (QuantizedWeight::sliceRows, tensor parallelism), each a linear() of its own");
  QuantSpec q;
  q.bits = spec.bits;
  q.symmetric = spec.isSymmetric();
  q.groupSize = f.group_size;
  q.packingBits = f.packing_bitwidth;
  q.N = f.N;
  q.K = f.K;
  q.scaleDtype = dslType(f.scale_dtype);
  return q;
}

WeightFormat weightFormatOf(const cache::KernelKey& key) {
  WeightFormat f;
  f.bit_width = key.bit_width;
  f.group_size = key.group_size;
  f.packing_bitwidth = key.packing_bitwidth;
  f.N = key.N;
  f.K = key.K;
  f.scale_dtype = ScalarType::bf16;
  try {
    f.validate();
  } catch (const Error& e) {
    throw Error("kernel key " + key.toString() + " names no valid weight format: " + e.what());
  }
  return f;
}

}  // namespace uintx::kernels
