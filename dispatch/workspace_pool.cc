#include "dispatch/workspace_pool.h"

#include <algorithm>

#include "runtime/cuda_driver.h"

namespace uintx::dispatch {

WorkspacePool::Lease WorkspacePool::acquire(CUcontext ctx, CUstream stream, size_t bytes) {
  Lease lease;
  std::shared_ptr<Slot> slot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Key key{ctx, stream};
    auto it = slots_.find(key);
    if (it == slots_.end()) {
      // Too many streams: free the least recently used buffer nobody holds, once every kernel
      // that may still read it has finished (its stream may be gone: synchronize the context).
      if (slots_.size() >= kMaxStreams) {
        for (auto victim = recency_.rbegin(); victim != recency_.rend(); ++victim) {
          if (victim->first != ctx) continue;  // freed after a synchronize of its own context only
          auto& candidate = slots_.at(*victim);
          std::unique_lock<std::mutex> held(candidate->inUse, std::try_to_lock);
          if (!held.owns_lock()) continue;
          runtime::checkCuda(runtime::cudaDriver().cuCtxSynchronize(), "cuCtxSynchronize");
          candidate->buffer = runtime::DeviceBuffer();
          held.unlock();
          slots_.erase(*victim);
          recency_.erase(std::next(victim).base());
          break;
        }
      }
      it = slots_.emplace(key, std::make_shared<Slot>()).first;
    }
    slot = it->second;
    recency_.remove(key);
    recency_.push_front(key);
    // Taken under the pool's lock, so that no eviction can pick the slot in between.
    lease.hold_ = std::unique_lock<std::mutex>(slot->inUse);
  }
  if (slot->buffer.size() < bytes) {
    // Kernels enqueued earlier on this stream may still read the old buffer.
    if (slot->buffer.size() > 0)
      runtime::checkCuda(runtime::cudaDriver().cuStreamSynchronize(stream), "cuStreamSynchronize");
    slot->buffer = runtime::DeviceBuffer();
    slot->buffer = runtime::DeviceBuffer(bytes);
  }
  lease.address_ = slot->buffer.get();
  return lease;
}

size_t WorkspacePool::buffersHeld() {
  std::lock_guard<std::mutex> lock(mutex_);
  return slots_.size();
}

WorkspacePool& workspacePool() {
  static WorkspacePool pool;
  return pool;
}

}  // namespace uintx::dispatch
