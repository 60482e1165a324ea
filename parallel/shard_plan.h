// Planning the tensor-parallel shards of one weight W [N out, K in] for `world` ranks
// (Megatron's names, for y = x @ W^T):
//  - column-parallel: the output features are split, i.e. W's rows (dim 0): rank r holds rows
//    [r N/world, (r+1) N/world) and computes those outputs. Rule: N % world == 0 (equal parts,
//    so an all-gather of the outputs has one count); any row cut is legal for the format.
//  - row-parallel: the input features are split, i.e. W's columns (dim 1): rank r holds
//    columns [r K/world, (r+1) K/world) and computes a partial sum of every output; the
//    partials are summed (all-reduce). Rule: K/world must be a multiple of
//    lcm(group_size, values per word) (per-channel weights, group_size == K: of the values per
//    word), so every cut falls on a group and a word boundary. The bias stays with rank 0 only,
//    so the sum adds it once.
// Violations throw uintx::Error naming the rule and the numbers.
#pragma once
#include <cstdint>
#include <vector>

#include "packing/quantized_weight.h"

namespace uintx::parallel {

enum class ShardKind { columnParallel, rowParallel };
const char* shardKindName(ShardKind kind);

struct ShardRange {
  int64_t begin = 0, end = 0;  // rows (column-parallel) or columns (row-parallel) of W
  int64_t size() const { return end - begin; }
};

// The ranges only (validates the rule, slices nothing).
std::vector<ShardRange> shardRanges(const WeightFormat& format, ShardKind kind, int world);

// The smallest legal row-parallel cut for this format: lcm(group_size, values per word), or
// values per word for per-channel weights.
int64_t rowParallelUnit(const WeightFormat& format);

struct Shard {
  int rank = 0;
  ShardRange range;
  QuantizedWeight weight;  // a complete weight: [N/world, K] or [N, K/world]
};

struct ShardPlan {
  ShardKind kind;
  int world = 1;
  std::vector<Shard> shards;  // shards[r] belongs to rank r
};

// Every rank's shard, or only `rank`'s (the others' weights are not built).
ShardPlan planShards(const QuantizedWeight& weight, ShardKind kind, int world);
Shard shardFor(const QuantizedWeight& weight, ShardKind kind, int world, int rank);

}  // namespace uintx::parallel
