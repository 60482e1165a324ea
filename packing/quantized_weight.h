// uintx::QuantizedWeight: a low-bit weight [N out, K in] as the kernels read it: packed words
// (row-major [N, wordsPerRow]), scales and zeros ([N, K / group_size], in scale_dtype), an
// optional bias [N] (in scale_dtype) and its WeightFormat. Buffers are contiguous host bytes,
// little-endian, ready to be copied to a device as they are. Layout: docs/FORMATS.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "packing/weight_format.h"

namespace uintx {

class QuantizedWeight {
 public:
  // Validates everything (format, buffer sizes, finite scales/zeros/bias, zero padding bits,
  // q codes within range) and throws uintx::Error naming the bad value and the rule.
  // `zeros` must be empty for widths without zeros; `bias` empty or N values.
  QuantizedWeight(WeightFormat format, std::vector<uint8_t> packed, std::vector<uint8_t> scales,
                  std::vector<uint8_t> zeros, std::vector<uint8_t> bias = {});

  const WeightFormat& format() const { return format_; }
  bool hasZeros() const { return format_.hasZeros(); }
  bool hasBias() const { return !bias_.empty(); }

  // Raw buffers, for a device upload or a file.
  const uint8_t* packedData() const { return packed_.data(); }
  size_t packedBytes() const { return packed_.size(); }
  const uint8_t* scalesData() const { return scales_.data(); }
  size_t scalesBytes() const { return scales_.size(); }
  const uint8_t* zerosData() const { return zeros_.data(); }  // nullptr-like empty without zeros
  size_t zerosBytes() const { return zeros_.size(); }
  const uint8_t* biasData() const { return bias_.data(); }
  size_t biasBytes() const { return bias_.size(); }

  float scale(int64_t row, int64_t group) const;
  float zero(int64_t row, int64_t group) const;  // 0 for widths without zeros
  float bias(int64_t row) const;                 // 0 without bias

  std::vector<int32_t> unpack() const;     // q values [N, K] row-major
  std::vector<float> dequantize() const;   // [N, K] row-major, float32 (bias not added)

  // Tensor-parallel shards. Rows [r0, r1): any cut. Columns [c0, c1): cuts on group and word
  // boundaries (or K); the bias stays only with the shard that starts at column 0, so that
  // summing the shards' outputs adds it once. Rules: docs/FORMATS.md.
  QuantizedWeight sliceRows(int64_t r0, int64_t r1) const;
  QuantizedWeight sliceCols(int64_t c0, int64_t c1) const;

  // safetensors: header with __metadata__ (format, format_version, bit_width, group_size,
  // packing_bitwidth, N, K, scale_dtype), tensors qweight, scales, zeros, bias.
  std::vector<uint8_t> toSafetensors() const;
  // Throws uintx::Error for a truncated, corrupted or foreign file; never reads out of bounds.
  static QuantizedWeight fromSafetensors(const uint8_t* data, size_t size);
  void save(const std::string& path) const;
  static QuantizedWeight load(const std::string& path);

 private:
  WeightFormat format_;
  std::vector<uint8_t> packed_, scales_, zeros_, bias_;
};

}  // namespace uintx
