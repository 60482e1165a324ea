// Tensor-parallel slicing: dequantize(slice(W)) == slice(dequantize(W)) exactly, on both dims.
#include <doctest/doctest.h>

#include "packing/quantize.h"
#include "tests/packing/test_util.h"
#include "uintx/error.h"

using namespace uintx;

static std::vector<float> block(const std::vector<float>& m, int64_t K, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  std::vector<float> out;
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c) out.push_back(m[size_t(r * K + c)]);
  return out;
}

TEST_CASE("row and column shards dequantize to the matching block") {
  struct Case { int bits, group, pb; int64_t N, K; };
  for (Case c : {Case{4, 64, 32, 48, 512}, Case{4, 128, 8, 48, 512}, Case{8, 0, 32, 40, 512}, Case{8, 0, 8, 40, 512},
                 Case{2, 32, 16, 24, 256}, Case{1, 64, 32, 24, 256}, Case{3, 64, 32, 24, 640}, Case{4, 0, 32, 64, 1025}}) {
    CAPTURE(c.bits);
    CAPTURE(c.group);
    CAPTURE(c.pb);
    CAPTURE(c.K);
    std::vector<float> w = testing::randomNormal(size_t(c.N * c.K), uint32_t(c.bits * 100 + c.pb));
    std::vector<float> bias = testing::randomNormal(size_t(c.N), 99);
    QuantizedWeight qw = quantize(w.data(), c.N, c.K, {c.bits, c.group, c.pb, ScalarType::bf16}, bias.data());
    std::vector<float> full = qw.dequantize();
    const WeightFormat& f = qw.format();
    // Rows: 4 uneven shards.
    for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, 5}, {5, c.N / 2}, {c.N / 2, c.N - 1}, {c.N - 1, c.N}}) {
      QuantizedWeight s = qw.sliceRows(r0, r1);
      CHECK(s.format().N == r1 - r0);
      CHECK(s.dequantize() == block(full, c.K, r0, r1, 0, c.K));
      CHECK(s.bias(0) == qw.bias(r0));
    }
    // Columns: cut on the smallest unit that is a group and a word boundary (per-channel: a word).
    const int64_t vpw = f.valuesPerWord();
    int64_t unit = f.group_size == f.K ? vpw : std::lcm(int64_t(f.group_size), vpw);
    std::vector<int64_t> cuts = {0};
    for (int64_t c0 = unit; c0 < c.K; c0 += unit * ((c.K / unit) / 3 + 1)) cuts.push_back(c0);
    cuts.push_back(c.K);
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      CAPTURE(cuts[i]);
      QuantizedWeight s = qw.sliceCols(cuts[i], cuts[i + 1]);
      CHECK(s.format().K == cuts[i + 1] - cuts[i]);
      CHECK(s.dequantize() == block(full, c.K, 0, c.N, cuts[i], cuts[i + 1]));
      CHECK(s.hasBias() == (cuts[i] == 0));
      // The shard is a complete weight: it survives a file round trip and slices again.
      std::vector<uint8_t> bytes = s.toSafetensors();
      CHECK(QuantizedWeight::fromSafetensors(bytes.data(), bytes.size()).dequantize() == s.dequantize());
      CHECK(s.sliceRows(1, 3).dequantize() == block(full, c.K, 1, 3, cuts[i], cuts[i + 1]));
    }
    CHECK(cuts.size() >= 3);
  }
}

TEST_CASE("cuts off group or word boundaries are clear errors") {
  std::vector<float> w = testing::randomNormal(8 * 512, 1);
  QuantizedWeight q4 = quantize(w.data(), 8, 512, {4, 128, 32, ScalarType::bf16});
  CHECK_THROWS_WITH_AS(q4.sliceCols(0, 64), doctest::Contains("column 64 is not on a group boundary: cuts must be multiples of group_size = 128"), Error);
  CHECK_THROWS_WITH_AS(q4.sliceCols(0, 0), doctest::Contains("0 <= c0 < c1 <= K = 512"), Error);
  CHECK_THROWS_WITH_AS(q4.sliceCols(128, 600), doctest::Contains("c1 <= K = 512"), Error);
  CHECK_THROWS_WITH_AS(q4.sliceRows(3, 9), doctest::Contains("0 <= r0 < r1 <= N = 8"), Error);
  QuantizedWeight q3 = quantize(w.data(), 8, 512, {3, 128, 32, ScalarType::bf16});  // 10 values per word
  CHECK_THROWS_WITH_AS(q3.sliceCols(128, 512), doctest::Contains("column 128 is not on a word boundary: cuts must be multiples of 10"), Error);
  QuantizedWeight q8 = quantize(w.data(), 8, 512, {8, 0, 32, ScalarType::bf16});
  CHECK_THROWS_WITH_AS(q8.sliceCols(0, 6), doctest::Contains("column 6 is not on a word boundary"), Error);
  CHECK(q8.sliceCols(0, 8).format().group_size == 8);
}
