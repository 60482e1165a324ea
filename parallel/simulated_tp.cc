#include "parallel/simulated_tp.h"

#include <string>

#include "parallel/device_ops.h"
#include "parallel/mlp_block.h"
#include "parallel/shard_plan.h"
#include "uintx/error.h"

namespace uintx::parallel {
namespace {

CUdeviceptr offset(const runtime::DeviceBuffer& b, size_t bytes) { return b.get() + bytes; }
void* asPtr(CUdeviceptr p) { return reinterpret_cast<void*>(p); }

size_t slotBytes(int64_t M, int64_t cols, ScalarType t) { return (size_t(M * cols) * elementSize(t) + 15) / 16 * 16; }

}  // namespace

SimulatedColumnParallelLinear::SimulatedColumnParallelLinear(const QuantizedWeight& weight, int world) {
  ShardPlan plan = planShards(weight, ShardKind::columnParallel, world);
  for (const Shard& s : plan.shards) ranks_.push_back(std::make_unique<ColumnParallelLinear>(s.weight, s.rank, world));
}

void SimulatedColumnParallelLinear::forward(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream) {
  const int world = int(ranks_.size());
  const int64_t M = x.rows, Nl = ranks_[0]->localOutFeatures();
  // Checked before the gather buffer is sized from M (a negative M wrapped the byte count).
  if (M < 1)
    throw Error("SimulatedColumnParallelLinear: x must have at least one row, got " + std::to_string(M));
  // The ranks' blocks are in x's dtype and the rearrange reads them as y's: another y dtype
  // would reinterpret bf16 bits as fp16 (or the reverse).
  if (y.rows != M || y.cols != Nl * world || y.dtype != x.dtype)
    throw Error("SimulatedColumnParallelLinear: y must be [" + std::to_string(M) + ", " + std::to_string(Nl * world) +
                "] " + scalarTypeName(x.dtype) + " like x, got [" + std::to_string(y.rows) + ", " +
                std::to_string(y.cols) + "] " + scalarTypeName(y.dtype));
  // Rank blocks back to back, as an all-gather lays them out; 16-byte aligned slots for linear.
  const size_t block = size_t(M * Nl) * elementSize(x.dtype);
  if (block % 16 != 0)
    throw Error("SimulatedColumnParallelLinear: a rank's block of " + std::to_string(block) +
                " bytes must be a multiple of 16 (M * N/world a multiple of 8)");
  reserveBytes(gathered_, block * world);
  for (int r = 0; r < world; ++r)
    ranks_[size_t(r)]->forward(x, {asPtr(offset(gathered_, block * r)), M, Nl, x.dtype}, stream);
  rankMajorToRowMajor(gathered_.get(), world, y, stream);
}

SimulatedTensorParallelMlp::SimulatedTensorParallelMlp(const QuantizedWeight& gate, const QuantizedWeight& up,
                                                       const QuantizedWeight& down, int world)
    : world_(world) {
  checkMlpShapes(gate.format(), up.format(), down.format());
  ShardPlan g = planShards(gate, ShardKind::columnParallel, world);
  ShardPlan u = planShards(up, ShardKind::columnParallel, world);
  ShardPlan d = planShards(down, ShardKind::rowParallel, world);
  for (int r = 0; r < world; ++r) {
    gate_.push_back(std::make_unique<ColumnParallelLinear>(g.shards[size_t(r)].weight, r, world));
    up_.push_back(std::make_unique<ColumnParallelLinear>(u.shards[size_t(r)].weight, r, world));
    down_.push_back(std::make_unique<RowParallelLinear>(d.shards[size_t(r)].weight, r, world));
  }
}

void SimulatedTensorParallelMlp::forward(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream) {
  const int64_t M = x.rows, Il = gate_[0]->localOutFeatures(), H = down_[0]->outFeatures();
  if (y.rows != M || y.cols != H || y.dtype != x.dtype)
    throw Error("SimulatedTensorParallelMlp: y must be [" + std::to_string(M) + ", " + std::to_string(H) + "] like x");
  const size_t slot = slotBytes(M, Il, x.dtype);
  reserveBytes(workspace_, 2 * slot);
  const size_t partial = size_t(M * H) * elementSize(x.dtype);
  if (partial % 16 != 0)
    throw Error("SimulatedTensorParallelMlp: a partial of " + std::to_string(partial) +
                " bytes must be a multiple of 16 (M * H a multiple of 8)");
  reserveBytes(partials_, partial * world_);
  DeviceMatrix g{asPtr(offset(workspace_, 0)), M, Il, x.dtype}, u{asPtr(offset(workspace_, slot)), M, Il, x.dtype};
  for (int r = 0; r < world_; ++r) {
    gate_[size_t(r)]->forward(x, g, stream);
    up_[size_t(r)]->forward(x, u, stream);
    swiGlu(g, u, g, stream);
    down_[size_t(r)]->forwardPartial(g, {asPtr(offset(partials_, partial * r)), M, H, x.dtype}, stream);
  }
  sumPartials(partials_.get(), world_, y, stream);
}

}  // namespace uintx::parallel
