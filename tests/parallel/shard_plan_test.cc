// Shard plans for world sizes 1, 2, 4, 8: ranges, the metadata of every shard, the bias rule,
// dequantize(shard) == the matching block of dequantize(full), and bad splits rejected with a
// message that names the rule.
#include <doctest/doctest.h>

#include <functional>
#include <numeric>
#include <random>
#include <string>

#include "packing/quantize.h"
#include "parallel/shard_plan.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx::parallel;

namespace {

std::vector<float> randomNormal(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0, 1);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Rows [r0, r1) and columns [c0, c1) of a row-major [*, K] matrix, computed independently.
std::vector<float> block(const std::vector<float>& m, int64_t K, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  std::vector<float> out;
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c) out.push_back(m[size_t(r * K + c)]);
  return out;
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

struct Format {
  int bits, group, packing;
  int64_t N, K;
};

}  // namespace

TEST_CASE("column- and row-parallel plans for world sizes 1, 2, 4, 8") {
  // 4-bit g128 (the MLP's format), 2-bit g64 in u16 words, 3-bit g64 in u32 (10 values per
  // word: unit lcm(64, 10) = 320), 8-bit per channel (unit: 4 values per word).
  for (Format fm : {Format{4, 128, 32, 64, 2048}, Format{2, 64, 16, 32, 1024}, Format{3, 64, 32, 16, 2560},
                    Format{8, 0, 32, 24, 256}}) {
    CAPTURE(fm.bits);
    std::vector<float> w = randomNormal(size_t(fm.N * fm.K), uint32_t(fm.bits * 7 + fm.group));
    std::vector<float> bias = randomNormal(size_t(fm.N), 5);
    QuantizedWeight full = quantize(w.data(), fm.N, fm.K, {fm.bits, fm.group, fm.packing, ScalarType::bf16}, bias.data());
    const WeightFormat& f = full.format();
    std::vector<float> dq = full.dequantize();
    for (int world : {1, 2, 4, 8}) {
      CAPTURE(world);
      ShardPlan col = planShards(full, ShardKind::columnParallel, world);
      REQUIRE(col.shards.size() == size_t(world));
      CHECK(col.world == world);
      for (int r = 0; r < world; ++r) {
        const Shard& s = col.shards[size_t(r)];
        const WeightFormat& sf = s.weight.format();
        CHECK(s.rank == r);
        CHECK(s.range.begin == r * fm.N / world);
        CHECK(s.range.end == (r + 1) * fm.N / world);
        CHECK(sf.N == fm.N / world);
        CHECK(sf.K == fm.K);
        CHECK(sf.group_size == f.group_size);
        CHECK(sf.bit_width == fm.bits);
        CHECK(sf.packing_bitwidth == fm.packing);
        // Every column-parallel shard keeps the bias of its own rows.
        REQUIRE(s.weight.hasBias());
        for (int64_t n = 0; n < sf.N; ++n) CHECK(s.weight.bias(n) == full.bias(s.range.begin + n));
        CHECK(s.weight.dequantize() == block(dq, fm.K, s.range.begin, s.range.end, 0, fm.K));
      }
      ShardPlan row = planShards(full, ShardKind::rowParallel, world);
      REQUIRE(row.shards.size() == size_t(world));
      int64_t covered = 0;
      for (int r = 0; r < world; ++r) {
        const Shard& s = row.shards[size_t(r)];
        const WeightFormat& sf = s.weight.format();
        CHECK(s.range.begin == covered);
        covered = s.range.end;
        CHECK(sf.N == fm.N);
        CHECK(sf.K == fm.K / world);
        // Per-channel weights keep one group per row: the shard's group is its whole K.
        CHECK(sf.group_size == (f.group_size == f.K ? sf.K : f.group_size));
        CHECK(sf.numGroups() == f.numGroups() / (f.group_size == f.K ? 1 : world));
        CHECK(s.weight.hasBias() == (r == 0));  // added once by the all-reduce
        CHECK(s.weight.dequantize() == block(dq, fm.K, 0, fm.N, s.range.begin, s.range.end));
        // Per-channel shards share the row's scale.
        if (f.group_size == f.K)
          for (int64_t n = 0; n < fm.N; ++n) CHECK(s.weight.scale(n, 0) == full.scale(n, 0));
      }
      CHECK(covered == fm.K);
      // shardFor gives the same shard as the plan, alone.
      int last = world - 1;
      CHECK(shardFor(full, ShardKind::rowParallel, world, last).weight.dequantize() ==
            row.shards[size_t(last)].weight.dequantize());
    }
  }
}

TEST_CASE("units of row-parallel cuts") {
  std::vector<float> w = randomNormal(4 * 2560, 3);
  CHECK(rowParallelUnit(quantize(w.data(), 4, 2048, {4, 128, 32, ScalarType::bf16}).format()) == 128);
  CHECK(rowParallelUnit(quantize(w.data(), 4, 2560, {3, 64, 32, ScalarType::bf16}).format()) == 320);
  CHECK(rowParallelUnit(quantize(w.data(), 4, 2048, {4, 32, 8, ScalarType::bf16}).format()) == 32);
  CHECK(rowParallelUnit(quantize(w.data(), 4, 1000, {8, 0, 32, ScalarType::bf16}).format()) == 4);
}

TEST_CASE("splits off the rules are rejected with a message naming the rule") {
  std::vector<float> w = randomNormal(size_t(24 * 1536), 11);
  QuantizedWeight q = quantize(w.data(), 24, 1536, {4, 128, 32, ScalarType::bf16});  // 12 groups
  // N = 24 over 16 ranks: not equal parts.
  std::string e = errorOf([&] { planShards(q, ShardKind::columnParallel, 16); });
  CHECK(e.find("N = 24 is not a multiple of the world size 16") != std::string::npos);
  CHECK(e.find("column-parallel") != std::string::npos);
  // K = 1536 over 8 ranks: 192 per rank, not a multiple of the group size 128.
  e = errorOf([&] { planShards(q, ShardKind::rowParallel, 8); });
  CHECK(e.find("K / world = 1536 / 8 = 192 is not a multiple of 128") != std::string::npos);
  CHECK(e.find("group and word boundaries") != std::string::npos);
  CHECK(e.find("lcm(group_size = 128, values per word = 8)") != std::string::npos);
  // 1536 / 5 is no integer.
  e = errorOf([&] { shardRanges(q.format(), ShardKind::rowParallel, 5); });
  CHECK(e.find("1536 / 5 is not an integer") != std::string::npos);
  // A legal split of the same weight: 4 ranks of 384 = 3 groups.
  CHECK(planShards(q, ShardKind::rowParallel, 4).shards.size() == 4);
  // 3-bit in u32 words (10 values per word), group 64: cuts must be multiples of
  // lcm(64, 10) = 320. K = 1280 over 4: 320, legal; over 5: 256 is a group multiple but
  // splits a word (the word rule alone fails); over 8: 160 fails both.
  std::vector<float> w3 = randomNormal(size_t(4 * 1280), 12);
  QuantizedWeight q3 = quantize(w3.data(), 4, 1280, {3, 64, 32, ScalarType::bf16});
  CHECK(planShards(q3, ShardKind::rowParallel, 4).shards.size() == 4);
  e = errorOf([&] { planShards(q3, ShardKind::rowParallel, 5); });
  CHECK(e.find("256 is not a multiple of 320") != std::string::npos);
  e = errorOf([&] { planShards(q3, ShardKind::rowParallel, 8); });
  CHECK(e.find("160 is not a multiple of 320") != std::string::npos);
  // Per channel (8-bit): only the word rule; 4 values per u32 word.
  std::vector<float> w8 = randomNormal(size_t(4 * 24), 13);
  QuantizedWeight q8 = quantize(w8.data(), 4, 24, {8, 0, 32, ScalarType::bf16});
  CHECK(planShards(q8, ShardKind::rowParallel, 3).shards.size() == 3);  // 8 per rank
  e = errorOf([&] { planShards(q8, ShardKind::rowParallel, 2); });  // 12 per rank: 3 words
  CHECK(e.empty());
  e = errorOf([&] { planShards(q8, ShardKind::rowParallel, 4); });  // 6 per rank
  CHECK(e.find("values per word = 4") != std::string::npos);
  // Bad world sizes and ranks.
  CHECK(errorOf([&] { planShards(q, ShardKind::columnParallel, 0); }).find("world size 0 must be >= 1") !=
        std::string::npos);
  CHECK(errorOf([&] { shardFor(q, ShardKind::columnParallel, 2, 2); }).find("rank 2 must lie in [0, world = 2)") !=
        std::string::npos);
}
