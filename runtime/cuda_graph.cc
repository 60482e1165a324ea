#include "runtime/cuda_graph.h"

#include <exception>

namespace uintx::runtime {

std::optional<LaunchGraph> LaunchGraph::capture(CUstream stream, const std::function<void()>& launches) {
  const CudaDriverApi& api = cudaDriver();
  if (api.cuStreamBeginCapture_v2(stream, CU_STREAM_CAPTURE_MODE_RELAXED) != CUDA_SUCCESS) return std::nullopt;
  bool launched = true;
  try {
    launches();
  } catch (const std::exception&) {
    launched = false;
  }
  CUgraph graph = nullptr;
  CUresult ended = api.cuStreamEndCapture(stream, &graph);
  if (!launched || ended != CUDA_SUCCESS || !graph) {
    if (graph) api.cuGraphDestroy(graph);
    return std::nullopt;
  }
  CUgraphExec exec = nullptr;
  CUresult made = api.cuGraphInstantiateWithFlags(&exec, graph, 0);
  api.cuGraphDestroy(graph);
  if (made != CUDA_SUCCESS) return std::nullopt;
  LaunchGraph g;
  g.exec_ = exec;
  return g;
}

LaunchGraph::~LaunchGraph() {
  if (exec_) cudaDriver().cuGraphExecDestroy(exec_);
}

void LaunchGraph::launch(CUstream stream) const { checkCuda(cudaDriver().cuGraphLaunch(exec_, stream), "cuGraphLaunch"); }

}  // namespace uintx::runtime
