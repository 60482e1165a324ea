// Scratch device memory for calls (split-K partials, int8 activations), one buffer per
// (context, stream). Calls on one stream run in order, so they can share a buffer; calls on
// different streams never do. A caller holds its stream's buffer (a Lease) from the moment it
// takes the address until its kernels are enqueued, so another thread on the same stream can
// neither grow nor free it in between. Buffers grow only after the stream's earlier work is
// done, and at most kMaxStreams buffers are kept (the least recently used is freed after a
// context synchronize), so short-lived streams do not leak memory.
#pragma once

#include <cuda.h>

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "runtime/device_buffer.h"

namespace uintx::dispatch {

class WorkspacePool {
 public:
  static constexpr size_t kMaxStreams = 16;

  // The stream's buffer of at least `bytes`, held until the lease is destroyed.
  class Lease {
   public:
    CUdeviceptr get() const { return address_; }

   private:
    friend class WorkspacePool;
    std::unique_lock<std::mutex> hold_;
    CUdeviceptr address_ = 0;
  };
  Lease acquire(CUcontext ctx, CUstream stream, size_t bytes);

  size_t buffersHeld();

 private:
  struct Slot {
    std::mutex inUse;
    runtime::DeviceBuffer buffer;
  };
  using Key = std::pair<CUcontext, CUstream>;
  std::mutex mutex_;
  std::map<Key, std::shared_ptr<Slot>> slots_;
  std::list<Key> recency_;  // most recently used first
};

// The process's pool (what uintx::linear uses).
WorkspacePool& workspacePool();

}  // namespace uintx::dispatch
