#include "parallel/mlp_block.h"

#include <string>

#include "parallel/device_ops.h"
#include "parallel/shard_plan.h"
#include "uintx/error.h"

namespace uintx::parallel {
namespace {

void* at(const runtime::DeviceBuffer& b, size_t offsetBytes) { return reinterpret_cast<void*>(b.get() + offsetBytes); }

// Two [M, cols] activation buffers back to back, each 16-byte aligned.
size_t alignedBytes(int64_t M, int64_t cols, ScalarType t) {
  return (size_t(M * cols) * elementSize(t) + 15) / 16 * 16;
}

}  // namespace

void reserveBytes(runtime::DeviceBuffer& buffer, size_t bytes) {
  if (buffer.size() < bytes) buffer = runtime::DeviceBuffer(bytes);
}

void checkMlpShapes(const WeightFormat& gate, const WeightFormat& up, const WeightFormat& down) {
  auto s = [](const WeightFormat& f) { return "[" + std::to_string(f.N) + ", " + std::to_string(f.K) + "]"; };
  if (gate.N != up.N || gate.K != up.K || down.N != gate.K || down.K != gate.N)
    throw Error("gated MLP: gate " + s(gate) + ", up " + s(up) + " and down " + s(down) +
                " must be [I, H], [I, H] and [H, I]");
}

GatedMlp::GatedMlp(const QuantizedWeight& gate, const QuantizedWeight& up, const QuantizedWeight& down)
    : gate_((checkMlpShapes(gate.format(), up.format(), down.format()), gate)), up_(up), down_(down) {}

void GatedMlp::forward(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream) {
  const int64_t M = x.rows, I = intermediate();
  const size_t slot = alignedBytes(M, I, x.dtype);
  reserveBytes(workspace_, 2 * slot);
  DeviceMatrix g{at(workspace_, 0), M, I, x.dtype}, u{at(workspace_, slot), M, I, x.dtype};
  linear(x, gate_, g, stream);
  linear(x, up_, u, stream);
  swiGlu(g, u, g, stream);  // in place: each element reads gate and up, then writes h
  linear(g, down_, y, stream);
}

TensorParallelMlp::TensorParallelMlp(const QuantizedWeight& gate, const QuantizedWeight& up,
                                     const QuantizedWeight& down, const Communicator& comm)
    : gate_((checkMlpShapes(gate.format(), up.format(), down.format()),
             shardFor(gate, ShardKind::columnParallel, comm.world(), comm.rank()).weight),
            comm),
      up_(shardFor(up, ShardKind::columnParallel, comm.world(), comm.rank()).weight, comm),
      down_(shardFor(down, ShardKind::rowParallel, comm.world(), comm.rank()).weight, comm) {}

void TensorParallelMlp::forward(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream) {
  const int64_t M = x.rows, Il = localIntermediate();
  const size_t slot = alignedBytes(M, Il, x.dtype);
  reserveBytes(workspace_, 2 * slot);
  DeviceMatrix g{at(workspace_, 0), M, Il, x.dtype}, u{at(workspace_, slot), M, Il, x.dtype};
  gate_.forward(x, g, stream);
  up_.forward(x, u, stream);
  swiGlu(g, u, g, stream);
  down_.forward(g, y, stream);  // partial sum + all-reduce
}

}  // namespace uintx::parallel
