// Tensor parallelism simulated on ONE GPU: every rank's shard runs on the current GPU, one
// rank after another, and the ranks are combined on the device in place of NCCL (sum of the
// partials for an all-reduce, a rearrange for an all-gather). The sharding logic (plans,
// slices, the layers' local parts, the kernels between them) is thereby checked on every
// GPU run, even when only one GPU is lent. Not a way to run fast: it does world times the
// launches of the unsharded layer.
#pragma once
#include <cuda.h>

#include <memory>
#include <vector>

#include "runtime/device_buffer.h"
#include "parallel/parallel_linear.h"
#include "uintx/uintx.h"

namespace uintx::parallel {

// A column-parallel layer with its all-gather: y [M, N] from the ranks' [M, N/world] blocks.
class SimulatedColumnParallelLinear {
 public:
  SimulatedColumnParallelLinear(const QuantizedWeight& weight, int world);
  void forward(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream);

 private:
  std::vector<std::unique_ptr<ColumnParallelLinear>> ranks_;
  runtime::DeviceBuffer gathered_;
};

// The gated MLP block (mlp_block.h) sharded over `world` simulated ranks: per rank, gate and
// up column-parallel, SiLU*up, down row-parallel into the rank's partial; then the partials
// are summed in f32 in rank order and rounded once (an all-reduce's result, up to the order).
class SimulatedTensorParallelMlp {
 public:
  SimulatedTensorParallelMlp(const QuantizedWeight& gate, const QuantizedWeight& up, const QuantizedWeight& down,
                             int world);
  void forward(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream);

 private:
  int world_;
  std::vector<std::unique_ptr<ColumnParallelLinear>> gate_, up_;
  std::vector<std::unique_ptr<RowParallelLinear>> down_;
  runtime::DeviceBuffer workspace_, partials_;
};

}  // namespace uintx::parallel
