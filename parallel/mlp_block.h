// The gated MLP block of Llama-style models, y = down(silu(gate(x)) * up(x)), with 4-bit (or
// any uintx) weights: gate, up [I, H] and down [H, I]; x and y [M, H], bf16 or fp16.
//  - GatedMlp: the whole block on one GPU (the unsharded reference).
//  - TensorParallelMlp: one rank of the block sharded Megatron-style: gate and up
//    column-parallel (each rank holds I/world of the intermediate features), SiLU*up on the
//    local slice, down row-parallel; one all-reduce per block, none between the layers.
// Both upload their weights to the current context at construction and run on the caller's
// current context and stream. Intermediates live in a workspace owned by the object, so
// one object serves one call at a time.
#pragma once
#include <cuda.h>

#include <memory>

#include "parallel/communicator.h"
#include "runtime/device_buffer.h"
#include "parallel/parallel_linear.h"
#include "uintx/uintx.h"

namespace uintx::parallel {

// Throws uintx::Error unless gate, up [I, H] and down [H, I] fit together.
void checkMlpShapes(const WeightFormat& gate, const WeightFormat& up, const WeightFormat& down);

class GatedMlp {
 public:
  GatedMlp(const QuantizedWeight& gate, const QuantizedWeight& up, const QuantizedWeight& down);
  int64_t hidden() const { return down_.format().N; }
  int64_t intermediate() const { return gate_.format().N; }
  void forward(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream);

 private:
  DeviceWeight gate_, up_, down_;
  runtime::DeviceBuffer workspace_;
};

class TensorParallelMlp {
 public:
  // Cuts this rank's shards from the whole weights (shard_plan.h rules) and uploads them.
  TensorParallelMlp(const QuantizedWeight& gate, const QuantizedWeight& up, const QuantizedWeight& down,
                    const Communicator& comm);
  int64_t hidden() const { return down_.outFeatures(); }
  int64_t localIntermediate() const { return gate_.localOutFeatures(); }
  // y [M, H], the same on every rank after the all-reduce; x [M, H] replicated on every rank.
  void forward(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream);

 private:
  ColumnParallelLinear gate_, up_;
  RowParallelLinear down_;
  runtime::DeviceBuffer workspace_;
};

// Grows `buffer` (in the current context) to at least `bytes`.
void reserveBytes(runtime::DeviceBuffer& buffer, size_t bytes);

}  // namespace uintx::parallel
