// A captured CUDA graph of several launches, replayed as one: timing a replay leaves out the
// CPU's launch overhead between the kernels, which for microsecond kernels would otherwise be
// part of what gets timed (the tuner; linear_vs_cublas --graph). Serving stacks replay graphs
// of their decode steps the same way.
#pragma once

#include <functional>
#include <optional>

#include "runtime/cuda_driver.h"

namespace uintx::runtime {

class LaunchGraph {
 public:
  // Captures what `launches` enqueues on `stream` (relaxed capture mode). Nullopt when capture
  // fails, e.g. a library that cannot be captured (the caller then times direct launches).
  static std::optional<LaunchGraph> capture(CUstream stream, const std::function<void()>& launches);
  LaunchGraph(LaunchGraph&& o) noexcept : exec_(o.exec_) { o.exec_ = nullptr; }
  LaunchGraph& operator=(LaunchGraph&&) = delete;
  ~LaunchGraph();
  void launch(CUstream stream) const;

 private:
  LaunchGraph() = default;
  CUgraphExec exec_ = nullptr;
};

}  // namespace uintx::runtime
