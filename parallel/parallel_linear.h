// Tensor-parallel linear layers on top of uintx::linear (Megatron-style), one object per rank:
//  - ColumnParallelLinear: this rank's rows of W (dim 0); y_local [M, N/world] = x @ W_rank^T
//    from the full x [M, K]. forwardGathered also all-gathers the ranks' outputs into y [M, N].
//  - RowParallelLinear: this rank's columns of W (dim 1); from x_rank [M, K/world] (the rank's
//    K-slice of x, e.g. a column-parallel layer's local output) a partial y [M, N], then an
//    NCCL all-reduce (sum) in place on the caller's stream. The bias lives on rank 0's shard.
// Shards come from shard_plan.h. Activations bf16 or fp16. Weights are uploaded to the
// current context at construction, which must be the communicator's device; every call runs
// on the caller's current context and stream, like uintx::linear.
// A layer made without a communicator runs only its local part (forward / forwardPartial):
// the one-GPU simulation (simulated_tp.h) does that and combines the ranks itself.
#pragma once
#include <cuda.h>

#include <map>
#include <memory>
#include <mutex>

#include "parallel/communicator.h"
#include "runtime/device_buffer.h"
#include "uintx/uintx.h"

namespace uintx::parallel {

class ColumnParallelLinear {
 public:
  ColumnParallelLinear(const QuantizedWeight& shard, const Communicator& comm);
  ColumnParallelLinear(const QuantizedWeight& shard, int rank, int world);  // no communicator

  int rank() const { return rank_; }
  int world() const { return world_; }
  int64_t inFeatures() const { return weight_->format().K; }
  int64_t localOutFeatures() const { return weight_->format().N; }
  int64_t outFeatures() const { return weight_->format().N * world_; }
  const DeviceWeight& weight() const { return *weight_; }

  // yLocal [M, N/world]: this rank's slice of the outputs (columns rank*N/world ...).
  void forward(const DeviceMatrix& x, const DeviceMatrix& yLocal, CUstream stream) const;
  // y [M, N] on every rank: an NCCL all-gather of the ranks' blocks (rank-major,
  // [world, M, N/world]), rearranged to row-major by a small kernel when M > 1 (for M == 1
  // the two layouts coincide and the gather writes y directly). Needs a communicator.
  // Uses a workspace per stream, owned by the layer.
  void forwardGathered(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream);

 private:
  std::unique_ptr<DeviceWeight> weight_;
  const Communicator* comm_ = nullptr;
  int rank_ = 0, world_ = 1;
  std::mutex mutex_;
  std::map<CUstream, runtime::DeviceBuffer> workspaces_;
};

class RowParallelLinear {
 public:
  RowParallelLinear(const QuantizedWeight& shard, const Communicator& comm);
  RowParallelLinear(const QuantizedWeight& shard, int rank, int world);  // no communicator

  int rank() const { return rank_; }
  int world() const { return world_; }
  int64_t localInFeatures() const { return weight_->format().K; }
  int64_t inFeatures() const { return weight_->format().K * world_; }
  int64_t outFeatures() const { return weight_->format().N; }
  const DeviceWeight& weight() const { return *weight_; }

  // partial [M, N] = xLocal @ W_rank^T (+ bias on rank 0): this rank's term of the sum.
  void forwardPartial(const DeviceMatrix& xLocal, const DeviceMatrix& partial, CUstream stream) const;
  // y [M, N] = the sum of every rank's partial: computed in f32, ncclAllReduce(sum) in f32 on
  // `stream`, rounded once into y. Needs a communicator (world 1: no collective at all).
  // Uses a workspace per stream, owned by the layer.
  void forward(const DeviceMatrix& xLocal, const DeviceMatrix& y, CUstream stream) const;

 private:
  std::unique_ptr<DeviceWeight> weight_;
  const Communicator* comm_ = nullptr;
  int rank_ = 0, world_ = 1;
  mutable std::mutex partialMutex_;
  // f32 partial sums for the all-reduce, one buffer per stream: calls on two streams run at
  // the same time on the device, and one buffer shared by them mixed their sums.
  mutable std::map<CUstream, runtime::DeviceBuffer> partials_;
};

}  // namespace uintx::parallel
