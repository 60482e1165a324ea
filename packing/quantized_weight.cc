#include "packing/quantized_weight.h"

#include <cmath>
#include <string>

#include "packing/bit_packing.h"
#include "packing/bit_width_registry.h"
#include "uintx/error.h"

namespace uintx {

namespace {

std::string str(int64_t v) { return std::to_string(v); }

void requireSize(const char* what, size_t got, size_t expected, const std::string& rule) {
  if (got != expected)
    throw Error(std::string(what) + " has " + str(int64_t(got)) + " bytes, expected " + str(int64_t(expected)) + ": " + rule);
}

void requireFinite(const char* what, const std::vector<uint8_t>& bytes, ScalarType dtype) {
  const size_t esize = elementSize(dtype);
  for (size_t i = 0; i < bytes.size() / esize; ++i) {
    float v = loadFloatFrom(&bytes[i * esize], dtype);
    if (!std::isfinite(v)) throw Error(std::string(what) + " element " + str(int64_t(i)) + " is not finite: " + what + " must be finite");
  }
}

uint32_t loadWord(const uint8_t* p, int bytes) {
  uint32_t w = 0;
  for (int i = 0; i < bytes; ++i) w |= uint32_t(p[i]) << (8 * i);
  return w;
}

// Bits of a word that hold no value must be 0 (unused top bits; padding past K in the last word),
// and every code must decode into [q_min, q_max] (a registered width may leave codes unused).
void checkPackedWords(const WeightFormat& f, const std::vector<uint8_t>& packed) {
  const BitWidthSpec& s = f.spec();
  const int vpw = f.valuesPerWord(), wordBytes = f.packing_bitwidth / 8;
  const int64_t wpr = f.wordsPerRow();
  const uint32_t valueMask = (1u << s.bits) - 1;
  const uint32_t fullMask = uint32_t((uint64_t(1) << (vpw * s.bits)) - 1);
  const int lastCount = int(f.K - (wpr - 1) * vpw);
  const uint32_t lastMask = uint32_t((uint64_t(1) << (lastCount * s.bits)) - 1);
  const bool codesMayBeOutOfRange = int64_t(s.q_max) - s.q_min + 1 < (int64_t(1) << s.bits);
  for (int64_t n = 0; n < f.N; ++n) {
    for (int64_t w = 0; w < wpr; ++w) {
      uint32_t word = loadWord(&packed[size_t((n * wpr + w) * wordBytes)], wordBytes);
      uint32_t mask = w == wpr - 1 ? lastMask : fullMask;
      if (word & ~mask)
        throw Error("packed word [" + str(n) + ", " + str(w) + "] = " + str(word) +
                    " has nonzero unused or padding bits: bits holding no value must be 0");
      if (!codesMayBeOutOfRange) continue;
      for (int j = 0; j < vpw; ++j) {
        int32_t q = s.decode((word >> s.bitOffset(j)) & valueMask);
        if (q < s.q_min || q > s.q_max)
          throw Error("packed value [" + str(n) + ", " + str(w * vpw + j) + "] = " + str(q) + " is outside the " +
                      s.name + " range [" + str(s.q_min) + ", " + str(s.q_max) + "]");
      }
    }
  }
}

// Rows [r0, r1) x byte columns [b0, b0 + width) of a row-major matrix with rowBytes per row.
std::vector<uint8_t> copyBlock(const std::vector<uint8_t>& src, size_t rowBytes, int64_t r0, int64_t r1,
                               size_t b0, size_t width) {
  std::vector<uint8_t> out(size_t(r1 - r0) * width);
  for (int64_t r = r0; r < r1; ++r)
    std::copy_n(src.begin() + ptrdiff_t(size_t(r) * rowBytes + b0), width, out.begin() + ptrdiff_t(size_t(r - r0) * width));
  return out;
}

}  // namespace

QuantizedWeight::QuantizedWeight(WeightFormat format, std::vector<uint8_t> packed, std::vector<uint8_t> scales,
                                 std::vector<uint8_t> zeros, std::vector<uint8_t> bias)
    : format_(format), packed_(std::move(packed)), scales_(std::move(scales)), zeros_(std::move(zeros)), bias_(std::move(bias)) {
  format_.validate();
  const WeightFormat& f = format_;
  requireSize("packed weights", packed_.size(), f.packedBytes(),
              "[N = " + str(f.N) + ", wordsPerRow = " + str(f.wordsPerRow()) + "] words of " + str(f.packing_bitwidth) + " bits");
  const std::string scaleRule = "[N = " + str(f.N) + ", K / group_size = " + str(f.numGroups()) + "] values of " +
                                scalarTypeName(f.scale_dtype);
  requireSize("scales", scales_.size(), f.scaleBytes(), scaleRule);
  if (f.hasZeros())
    requireSize("zeros", zeros_.size(), f.scaleBytes(), scaleRule);
  else
    requireSize("zeros", zeros_.size(), 0, f.spec().name + " is symmetric and has no zeros");
  if (!bias_.empty())
    requireSize("bias", bias_.size(), size_t(f.N) * elementSize(f.scale_dtype),
                "[N = " + str(f.N) + "] values of " + scalarTypeName(f.scale_dtype) + ", or none");
  requireFinite("scales", scales_, f.scale_dtype);
  requireFinite("zeros", zeros_, f.scale_dtype);
  requireFinite("bias", bias_, f.scale_dtype);
  checkPackedWords(f, packed_);
  // Finite scales and zeros can still give infinite weights ((q - zero) * scale overflows):
  // the rule is monotonic in q, so its two ends bound every value of a group.
  const BitWidthSpec& s = f.spec();
  for (int64_t n = 0; n < f.N; ++n)
    for (int64_t g = 0; g < f.numGroups(); ++g) {
      const float sc = scale(n, g), z = zero(n, g);
      if (!std::isfinite(s.dequantize(s.q_min, sc, z)) || !std::isfinite(s.dequantize(s.q_max, sc, z)))
        throw Error("row " + str(n) + ", group " + str(g) + ": scale " + std::to_string(sc) + " and zero " +
                    std::to_string(z) + " give weights that are not finite in float32");
    }
}

float QuantizedWeight::scale(int64_t row, int64_t group) const {
  return loadFloatFrom(&scales_[size_t(row * format_.numGroups() + group) * elementSize(format_.scale_dtype)], format_.scale_dtype);
}
float QuantizedWeight::zero(int64_t row, int64_t group) const {
  if (zeros_.empty()) return 0.0f;
  return loadFloatFrom(&zeros_[size_t(row * format_.numGroups() + group) * elementSize(format_.scale_dtype)], format_.scale_dtype);
}
float QuantizedWeight::bias(int64_t row) const {
  if (bias_.empty()) return 0.0f;
  return loadFloatFrom(&bias_[size_t(row) * elementSize(format_.scale_dtype)], format_.scale_dtype);
}

std::vector<int32_t> QuantizedWeight::unpack() const { return unpackValues(format_, packed_.data()); }

std::vector<float> QuantizedWeight::dequantize() const {
  const WeightFormat& f = format_;
  const BitWidthSpec& s = f.spec();
  std::vector<int32_t> q = unpack();
  std::vector<float> out(q.size());
  for (int64_t n = 0; n < f.N; ++n) {
    for (int64_t gi = 0; gi < f.numGroups(); ++gi) {
      const float sc = scale(n, gi), z = zero(n, gi);
      for (int64_t k = gi * f.group_size; k < (gi + 1) * f.group_size; ++k)
        out[size_t(n * f.K + k)] = s.dequantize(q[size_t(n * f.K + k)], sc, z);
    }
  }
  return out;
}

QuantizedWeight QuantizedWeight::sliceRows(int64_t r0, int64_t r1) const {
  const WeightFormat& f = format_;
  if (r0 < 0 || r1 > f.N || r0 >= r1)
    throw Error("sliceRows(" + str(r0) + ", " + str(r1) + "): rows must satisfy 0 <= r0 < r1 <= N = " + str(f.N));
  WeightFormat out = f;
  out.N = r1 - r0;
  const size_t packedRow = f.packedBytes() / size_t(f.N), scaleRow = f.scaleBytes() / size_t(f.N);
  const size_t biasRow = elementSize(f.scale_dtype);
  return QuantizedWeight(out, copyBlock(packed_, packedRow, r0, r1, 0, packedRow),
                         copyBlock(scales_, scaleRow, r0, r1, 0, scaleRow),
                         zeros_.empty() ? std::vector<uint8_t>{} : copyBlock(zeros_, scaleRow, r0, r1, 0, scaleRow),
                         bias_.empty() ? std::vector<uint8_t>{} : copyBlock(bias_, biasRow, r0, r1, 0, biasRow));
}

QuantizedWeight QuantizedWeight::sliceCols(int64_t c0, int64_t c1) const {
  const WeightFormat& f = format_;
  const std::string call = "sliceCols(" + str(c0) + ", " + str(c1) + "): ";
  if (c0 < 0 || c1 > f.K || c0 >= c1)
    throw Error(call + "columns must satisfy 0 <= c0 < c1 <= K = " + str(f.K));
  const int64_t vpw = f.valuesPerWord();
  const bool perChannel = f.group_size == f.K;  // one group per row: any word-aligned cut keeps it
  for (int64_t c : {c0, c1}) {
    if (c == f.K) continue;
    if (!perChannel && c % f.group_size != 0)
      throw Error(call + "column " + str(c) + " is not on a group boundary: cuts must be multiples of group_size = " +
                  str(f.group_size) + " (or K)");
    if (c % vpw != 0)
      throw Error(call + "column " + str(c) + " is not on a word boundary: cuts must be multiples of " + str(vpw) +
                  " values per " + str(f.packing_bitwidth) + "-bit word (or K)");
  }
  WeightFormat out = f;
  out.K = c1 - c0;
  if (perChannel) out.group_size = int(out.K);
  const size_t wordBytes = size_t(f.packing_bitwidth / 8);
  const size_t packedRow = size_t(f.wordsPerRow()) * wordBytes;
  std::vector<uint8_t> packed =
      copyBlock(packed_, packedRow, 0, f.N, size_t(c0 / vpw) * wordBytes, size_t(out.wordsPerRow()) * wordBytes);
  const size_t esize = elementSize(f.scale_dtype), scaleRow = size_t(f.numGroups()) * esize;
  const size_t g0 = perChannel ? 0 : size_t(c0 / f.group_size), groups = size_t(out.numGroups());
  std::vector<uint8_t> scales = copyBlock(scales_, scaleRow, 0, f.N, g0 * esize, groups * esize);
  std::vector<uint8_t> zeros = zeros_.empty() ? std::vector<uint8_t>{} : copyBlock(zeros_, scaleRow, 0, f.N, g0 * esize, groups * esize);
  return QuantizedWeight(out, std::move(packed), std::move(scales), std::move(zeros),
                         c0 == 0 ? bias_ : std::vector<uint8_t>{});
}

}  // namespace uintx
