#include "parallel/shard_plan.h"

#include <numeric>
#include <string>

#include "uintx/error.h"

namespace uintx::parallel {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

void checkWorld(int world, const char* call) {
  if (world < 1) throw Error(std::string(call) + ": world size " + str(world) + " must be >= 1");
}

}  // namespace

const char* shardKindName(ShardKind kind) {
  return kind == ShardKind::columnParallel ? "column-parallel" : "row-parallel";
}

int64_t rowParallelUnit(const WeightFormat& f) {
  const int64_t vpw = f.valuesPerWord();
  return f.group_size == f.K ? vpw : std::lcm(int64_t(f.group_size), vpw);
}

std::vector<ShardRange> shardRanges(const WeightFormat& f, ShardKind kind, int world) {
  checkWorld(world, "shardRanges");
  const std::string what = std::string(shardKindName(kind)) + " split of a [N = " + str(f.N) + ", K = " + str(f.K) +
                           "] weight over " + str(world) + " ranks: ";
  int64_t extent = 0;
  if (kind == ShardKind::columnParallel) {
    if (f.N % world != 0)
      throw Error(what + "N = " + str(f.N) + " is not a multiple of the world size " + str(world) +
                  " (rule: column-parallel shards split the N output rows into equal parts)");
    extent = f.N;
  } else {
    const int64_t unit = rowParallelUnit(f);
    const bool perChannel = f.group_size == f.K;
    // One rank makes no cut; otherwise every cut is a multiple of K / world.
    if (world > 1 && (f.K % world != 0 || (f.K / world) % unit != 0))
      throw Error(what + "K / world = " + str(f.K) + " / " + str(world) +
                  (f.K % world ? " is not an integer" : " = " + str(f.K / world) + " is not a multiple of " + str(unit)) +
                  " (rule: row-parallel cuts must fall on group and word boundaries, so K / world must be a multiple of " +
                  (perChannel ? "the values per word = " + str(f.valuesPerWord())
                              : "lcm(group_size = " + str(f.group_size) + ", values per word = " +
                                    str(f.valuesPerWord()) + ") = " + str(unit)) +
                  ")");
    extent = f.K;
  }
  std::vector<ShardRange> ranges;
  const int64_t part = extent / world;
  for (int r = 0; r < world; ++r) ranges.push_back({r * part, (r + 1) * part});
  return ranges;
}

Shard shardFor(const QuantizedWeight& weight, ShardKind kind, int world, int rank) {
  std::vector<ShardRange> ranges = shardRanges(weight.format(), kind, world);
  if (rank < 0 || rank >= world)
    throw Error("shardFor: rank " + str(rank) + " must lie in [0, world = " + str(world) + ")");
  ShardRange r = ranges[size_t(rank)];
  // sliceCols keeps the bias only on the shard starting at column 0 (rank 0).
  QuantizedWeight w = kind == ShardKind::columnParallel ? weight.sliceRows(r.begin, r.end)
                                                        : weight.sliceCols(r.begin, r.end);
  return Shard{rank, r, std::move(w)};
}

ShardPlan planShards(const QuantizedWeight& weight, ShardKind kind, int world) {
  shardRanges(weight.format(), kind, world);  // validate before slicing anything
  ShardPlan plan{kind, world, {}};
  for (int r = 0; r < world; ++r) plan.shards.push_back(shardFor(weight, kind, world, r));
  return plan;
}

}  // namespace uintx::parallel
