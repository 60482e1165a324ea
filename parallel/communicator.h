// One rank's NCCL communicator: the handle, its rank, the group size and the CUDA device
// it runs on. Owns the handle (ncclCommDestroy on destruction); move-only.
#pragma once
#include <nccl.h>

#include <vector>

namespace uintx::parallel {

class Communicator {
 public:
  // Every rank of one process, rank r on devices[r] (ncclCommInitAll). The simplest way to
  // drive several GPUs from one process: a thread per rank, each with its device's primary
  // context current, then calls collectives on its own communicator.
  static std::vector<Communicator> createAll(const std::vector<int>& devices);

  // One rank of a group spread over processes (ncclCommInitRank) on the device of the
  // calling thread's current context (made current by runtime::ensureCudaContext if none). `id` comes
  // from uniqueId() on rank 0, shared with the others out of band.
  static ncclUniqueId uniqueId();
  static Communicator createRank(const ncclUniqueId& id, int world, int rank);

  Communicator(Communicator&& other) noexcept;
  Communicator& operator=(Communicator&& other) noexcept;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  ~Communicator();

  ncclComm_t get() const { return comm_; }
  int rank() const { return rank_; }
  int world() const { return world_; }
  int device() const { return device_; }  // CUDA device ordinal

 private:
  Communicator(ncclComm_t comm, int rank, int world, int device)
      : comm_(comm), rank_(rank), world_(world), device_(device) {}
  void release() noexcept;

  ncclComm_t comm_ = nullptr;
  int rank_ = 0, world_ = 1, device_ = 0;
};

}  // namespace uintx::parallel
