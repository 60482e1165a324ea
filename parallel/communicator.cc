#include "parallel/communicator.h"

#include <set>
#include <string>
#include <utility>

#include "runtime/cuda_driver.h"
#include "parallel/nccl_library.h"
#include "uintx/error.h"

namespace uintx::parallel {

std::vector<Communicator> Communicator::createAll(const std::vector<int>& devices) {
  if (devices.empty()) throw Error("Communicator::createAll: needs at least one device, got none");
  std::set<int> distinct(devices.begin(), devices.end());
  for (int d : devices)
    if (d < 0) throw Error("Communicator::createAll: device ordinal " + std::to_string(d) + " must be >= 0");
  if (distinct.size() != devices.size())
    throw Error("Communicator::createAll: each rank needs its own device; the list repeats a device");
  disableNvlinkMulticast();
  const NcclApi& api = nccl();  // a missing NCCL is reported here, before any GPU work
  std::vector<ncclComm_t> comms(devices.size(), nullptr);
  checkNccl(api.ncclCommInitAll(comms.data(), int(devices.size()), devices.data()), "ncclCommInitAll");
  std::vector<Communicator> out;
  for (size_t r = 0; r < devices.size(); ++r)
    out.push_back(Communicator(comms[r], int(r), int(devices.size()), devices[r]));
  return out;
}

ncclUniqueId Communicator::uniqueId() {
  disableNvlinkMulticast();
  ncclUniqueId id;
  checkNccl(nccl().ncclGetUniqueId(&id), "ncclGetUniqueId");
  return id;
}

Communicator Communicator::createRank(const ncclUniqueId& id, int world, int rank) {
  if (world < 1 || rank < 0 || rank >= world)
    throw Error("Communicator::createRank: rank " + std::to_string(rank) + " must lie in [0, world = " +
                std::to_string(world) + ")");
  disableNvlinkMulticast();
  const NcclApi& api = nccl();
  // NCCL works on the CUDA runtime's current device, which follows the current primary context.
  runtime::ensureCudaContext();
  CUdevice device = 0;
  runtime::checkCuda(runtime::cudaDriver().cuCtxGetDevice(&device), "cuCtxGetDevice");
  ncclComm_t comm = nullptr;
  checkNccl(api.ncclCommInitRank(&comm, world, id, rank), "ncclCommInitRank");
  return Communicator(comm, rank, world, int(device));
}

Communicator::Communicator(Communicator&& other) noexcept
    : comm_(std::exchange(other.comm_, nullptr)), rank_(other.rank_), world_(other.world_), device_(other.device_) {}

Communicator& Communicator::operator=(Communicator&& other) noexcept {
  if (this != &other) {
    release();
    comm_ = std::exchange(other.comm_, nullptr);
    rank_ = other.rank_;
    world_ = other.world_;
    device_ = other.device_;
  }
  return *this;
}

Communicator::~Communicator() { release(); }

void Communicator::release() noexcept {
  if (!comm_) return;
  std::string why;
  if (ncclAvailable(&why)) nccl().ncclCommDestroy(comm_);  // errors ignored: may run at exit
  comm_ = nullptr;
}

}  // namespace uintx::parallel
