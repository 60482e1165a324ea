#include "parallel/parallel_linear.h"

#include <string>

#include "runtime/cuda_driver.h"
#include "parallel/device_ops.h"
#include "parallel/nccl_library.h"
#include "uintx/error.h"

namespace uintx::parallel {
namespace {

void check(bool ok, const char* layer, const std::string& message) {
  if (!ok) throw Error(std::string("uintx::parallel::") + layer + ": " + message);
}

void checkRank(int rank, int world, const char* layer) {
  check(world >= 1 && rank >= 0 && rank < world, layer,
        "rank " + std::to_string(rank) + " must lie in [0, world = " + std::to_string(world) + ")");
}

// A collective on a device other than the communicator's would hang or fault: refuse early.
void checkDevice(const Communicator& comm, const char* layer) {
  runtime::ensureCudaContext();
  CUdevice device = 0;
  runtime::checkCuda(runtime::cudaDriver().cuCtxGetDevice(&device), "cuCtxGetDevice");
  check(int(device) == comm.device(), layer,
        "the current CUDA context is on device " + std::to_string(device) + " but rank " +
            std::to_string(comm.rank()) + "'s communicator is on device " + std::to_string(comm.device()));
}

ncclDataType_t ncclTypeOf(ScalarType t, const char* layer) {
  if (t == ScalarType::bf16) return ncclBfloat16;
  if (t == ScalarType::f16) return ncclFloat16;
  check(false, layer, std::string("activations must be bf16 or fp16, got ") + scalarTypeName(t));
  return ncclBfloat16;
}

const Communicator& needComm(const Communicator* comm, const char* layer, const char* call) {
  check(comm != nullptr, layer, std::string(call) + " needs a communicator; this layer was made without one");
  return *comm;
}

}  // namespace

ColumnParallelLinear::ColumnParallelLinear(const QuantizedWeight& shard, const Communicator& comm)
    : ColumnParallelLinear(shard, comm.rank(), comm.world()) {
  checkDevice(comm, "ColumnParallelLinear");
  comm_ = &comm;
}

ColumnParallelLinear::ColumnParallelLinear(const QuantizedWeight& shard, int rank, int world)
    : rank_(rank), world_(world) {
  checkRank(rank, world, "ColumnParallelLinear");
  weight_ = std::make_unique<DeviceWeight>(shard);
}

void ColumnParallelLinear::forward(const DeviceMatrix& x, const DeviceMatrix& yLocal, CUstream stream) const {
  linear(x, *weight_, yLocal, stream);
}

void ColumnParallelLinear::forwardGathered(const DeviceMatrix& x, const DeviceMatrix& y, CUstream stream) {
  const char* layer = "ColumnParallelLinear::forwardGathered";
  const Communicator& comm = needComm(comm_, layer, "forwardGathered");
  const int64_t M = x.rows, Nl = localOutFeatures();
  // Before the workspace is sized from M (a negative M wrapped the byte count).
  check(M >= 1, layer, "x must have at least one row, got " + std::to_string(M));
  check(y.rows == M && y.cols == outFeatures() && y.dtype == x.dtype && y.data, layer,
        "y must be [" + std::to_string(M) + ", " + std::to_string(outFeatures()) + "] " + scalarTypeName(x.dtype) +
            ", got [" + std::to_string(y.rows) + ", " + std::to_string(y.cols) + "] " + scalarTypeName(y.dtype));
  ncclDataType_t type = ncclTypeOf(x.dtype, layer);
  const size_t esize = elementSize(x.dtype), slotBytes = size_t(M * Nl) * esize;
  // M == 1: rank-major [world, 1, Nl] is row-major [1, N]: gather straight into y.
  const bool direct = M == 1;
  CUdeviceptr gathered = CUdeviceptr(y.data), local = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    runtime::DeviceBuffer& ws = workspaces_[stream];
    // Gathered blocks, then a spare slot. The spare slot is used exactly when the rank's block
    // is not 16-byte aligned, so it must itself start aligned (linear's rule for y), not right
    // after the blocks.
    const size_t spare = direct ? 0 : (slotBytes * world_ + 15) / 16 * 16;
    const size_t need = spare + slotBytes;
    if (ws.size() < need) ws = runtime::DeviceBuffer(need);
    if (!direct) gathered = ws.get();
    local = ws.get() + spare;
  }
  // Compute in place in the rank's own slot when it is aligned as linear needs (NCCL's
  // in-place all-gather); otherwise in the spare slot.
  CUdeviceptr slot = gathered + rank_ * slotBytes;
  bool inPlace = slot % 16 == 0;
  CUdeviceptr out = inPlace ? slot : local;
  linear(x, *weight_, {reinterpret_cast<void*>(out), M, Nl, x.dtype}, stream);
  if (world_ > 1 || !inPlace) {
    checkNccl(nccl().ncclAllGather(reinterpret_cast<void*>(out), reinterpret_cast<void*>(gathered), size_t(M * Nl),
                                   type, comm.get(), stream),
              "ncclAllGather", comm.get());
  }
  if (!direct) rankMajorToRowMajor(gathered, world_, y, stream);
}

RowParallelLinear::RowParallelLinear(const QuantizedWeight& shard, const Communicator& comm)
    : RowParallelLinear(shard, comm.rank(), comm.world()) {
  checkDevice(comm, "RowParallelLinear");
  comm_ = &comm;
}

RowParallelLinear::RowParallelLinear(const QuantizedWeight& shard, int rank, int world)
    : rank_(rank), world_(world) {
  checkRank(rank, world, "RowParallelLinear");
  check(rank == 0 || !shard.hasBias(), "RowParallelLinear",
        "rank " + std::to_string(rank) + "'s shard has a bias; only rank 0 may (the all-reduce would add it " +
            std::to_string(world) + " times)");
  weight_ = std::make_unique<DeviceWeight>(shard);
}

void RowParallelLinear::forwardPartial(const DeviceMatrix& xLocal, const DeviceMatrix& partial, CUstream stream) const {
  linear(xLocal, *weight_, partial, stream);
}

void RowParallelLinear::forward(const DeviceMatrix& xLocal, const DeviceMatrix& y, CUstream stream) const {
  const char* layer = "RowParallelLinear::forward";
  const Communicator& comm = needComm(comm_, layer, "forward");
  ncclTypeOf(y.dtype, layer);  // checks y's dtype
  if (world_ == 1) return linear(xLocal, *weight_, y, stream);
  // The partial sums stay in f32 through the all-reduce and are rounded once at the end, so
  // the result differs from the unsharded layer's only by the order of the sums (a bf16
  // all-reduce would round every rank's partial first: ~1 bf16 ulp of error).
  // Before the buffer is sized from y (a negative count wrapped the byte count).
  check(y.rows >= 1 && y.cols == outFeatures(), layer,
        "y must be [M >= 1, N = " + std::to_string(outFeatures()) + "], got [" + std::to_string(y.rows) + ", " +
            std::to_string(y.cols) + "]");
  size_t n = size_t(y.rows * y.cols);
  CUdeviceptr partial;
  {
    std::lock_guard<std::mutex> lock(partialMutex_);
    runtime::DeviceBuffer& buffer = partials_[stream];
    if (buffer.size() < n * 4) buffer = runtime::DeviceBuffer(n * 4);
    partial = buffer.get();
  }
  linear(xLocal, *weight_, {reinterpret_cast<const void*>(partial), y.rows, y.cols, ScalarType::f32}, stream);
  void* data = reinterpret_cast<void*>(partial);
  checkNccl(nccl().ncclAllReduce(data, data, n, ncclFloat, ncclSum, comm.get(), stream), "ncclAllReduce", comm.get());
  sumPartials(partial, 1, y, stream, /*f32Partials=*/true);
}

}  // namespace uintx::parallel
