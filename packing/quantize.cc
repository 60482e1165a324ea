#include "packing/quantize.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "packing/bit_packing.h"
#include "packing/bit_width_registry.h"
#include "uintx/error.h"

namespace uintx {

float roundHalfToEven(float x) {
  float r = std::floor(x);
  float diff = x - r;  // exact for |x| < 2^23; larger floats are integers already
  if (diff > 0.5f || (diff == 0.5f && std::fmod(r, 2.0f) != 0.0f)) r += 1.0f;
  return r;
}

namespace {

std::string at(int64_t n, int64_t k) { return "[" + std::to_string(n) + ", " + std::to_string(k) + "]"; }

// A scale as the file will hold it; 0 or non-finite after rounding cannot be stored.
float storableScale(float exact, ScalarType dtype, int64_t row, int64_t group) {
  const std::string where = "row " + std::to_string(row) + ", group " + std::to_string(group);
  // The range itself overflowed float: no scale dtype helps, only smaller weights.
  if (!std::isfinite(exact))
    throw Error("the weight range of " + where +
                " exceeds the largest float (max - min or max |w| is infinite): scale the weights down");
  float s = roundToFloatType(exact, dtype);
  if (!std::isfinite(s) || s == 0.0f)
    throw Error("scale " + std::to_string(exact) + " of " + where + " is not representable as a nonzero finite " +
                scalarTypeName(dtype) +
                (dtype == ScalarType::f32 ? std::string(": the weights' range is below what f32 can resolve")
                                          : std::string(": use scale_dtype f32")));
  return s;
}

// The format quantize produces, validated before anything is sized by N * K.
WeightFormat validatedFormat(int64_t N, int64_t K, const QuantizeOptions& options) {
  WeightFormat f;
  f.bit_width = options.bit_width;
  f.group_size = options.group_size == 0 ? int(std::clamp<int64_t>(K, 0, INT32_MAX)) : options.group_size;
  f.packing_bitwidth = options.packing_bitwidth;
  f.N = N;
  f.K = K;
  f.scale_dtype = options.scale_dtype;
  f.validate();  // N, K < 2^31, so N * K cannot overflow int64
  return f;
}

}  // namespace

QuantizedWeight quantize(const float* w, int64_t N, int64_t K, const QuantizeOptions& options,
                         const float* bias) {
  const WeightFormat f = validatedFormat(N, K, options);
  const BitWidthSpec& spec = f.spec();
  if (!spec.isSymmetric() && spec.q_min != 0)
    throw Error("width " + spec.name + ": asymmetric widths must have q_min = 0");

  for (int64_t i = 0; i < N * K; ++i)
    if (!std::isfinite(w[i])) throw Error("weight " + at(i / K, i % K) + " is not finite: quantize needs finite weights");

  const int64_t G = f.numGroups(), g = f.group_size;
  const size_t esize = elementSize(f.scale_dtype);
  // The bias is stored in the scale dtype: a finite bias beyond its range (1e5 in f16) would
  // otherwise be refused later as "not finite", naming a value the caller never gave.
  std::vector<uint8_t> biasBytes;
  if (bias) {
    biasBytes.resize(size_t(N) * esize);
    for (int64_t n = 0; n < N; ++n) {
      if (!std::isfinite(bias[n])) throw Error("bias[" + std::to_string(n) + "] is not finite: the bias must be finite");
      if (!std::isfinite(roundToFloatType(bias[n], f.scale_dtype)))
        throw Error("bias[" + std::to_string(n) + "] = " + std::to_string(bias[n]) + " overflows " +
                    scalarTypeName(f.scale_dtype) + ", the scale dtype the bias is stored in: use scale_dtype f32");
      storeFloatAs(&biasBytes[size_t(n) * esize], f.scale_dtype, bias[n]);
    }
  }
  std::vector<int32_t> q(size_t(N * K));
  std::vector<uint8_t> scales(f.scaleBytes()), zeros(spec.hasZeros() ? f.scaleBytes() : 0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t gi = 0; gi < G; ++gi) {
      const float* src = w + n * K + gi * g;
      float s, z = 0.0f;
      if (spec.isSymmetric()) {
        float amax = 0.0f;
        for (int64_t k = 0; k < g; ++k) amax = std::max(amax, std::fabs(src[k]));
        s = amax == 0.0f ? 1.0f : storableScale(amax / float(spec.q_max), f.scale_dtype, n, gi);
        for (int64_t k = 0; k < g; ++k)
          q[size_t(n * K + gi * g + k)] =
              int32_t(std::clamp(roundHalfToEven(src[k] / s), -float(spec.q_max), float(spec.q_max)));
      } else {
        // The range always includes 0, so a group of zeros needs no special case but one.
        float lo = 0.0f, hi = 0.0f;
        for (int64_t k = 0; k < g; ++k) lo = std::min(lo, src[k]), hi = std::max(hi, src[k]);
        if (hi == lo) {
          s = 1.0f;
        } else {
          s = storableScale((hi - lo) / float(spec.q_max), f.scale_dtype, n, gi);
          z = roundToFloatType(-lo / s, f.scale_dtype);
        }
        for (int64_t k = 0; k < g; ++k)
          q[size_t(n * K + gi * g + k)] =
              int32_t(std::clamp(roundHalfToEven(src[k] / s + z), 0.0f, float(spec.q_max)));
        storeFloatAs(&zeros[size_t(n * G + gi) * esize], f.scale_dtype, z);
      }
      storeFloatAs(&scales[size_t(n * G + gi) * esize], f.scale_dtype, s);
    }
  }
  return QuantizedWeight(f, packValues(f, q.data()), std::move(scales), std::move(zeros), std::move(biasBytes));
}

template <typename Half>
static QuantizedWeight quantizeHalf(const Half* w, int64_t N, int64_t K, const QuantizeOptions& options,
                                    const float* bias) {
  (void)validatedFormat(N, K, options);
  std::vector<float> wf(size_t(N * K));
  for (size_t i = 0; i < wf.size(); ++i) wf[i] = toFloat(w[i]);
  return quantize(wf.data(), N, K, options, bias);
}

QuantizedWeight quantize(const bf16* w, int64_t N, int64_t K, const QuantizeOptions& options, const float* bias) {
  return quantizeHalf(w, N, K, options, bias);
}
QuantizedWeight quantize(const fp16* w, int64_t N, int64_t K, const QuantizeOptions& options, const float* bias) {
  return quantizeHalf(w, N, K, options, bias);
}

}  // namespace uintx
