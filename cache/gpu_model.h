// The few numbers per GPU model that the default-config cost model needs (kernels/*/cost_model),
// read from the GPU's shipped table (tables/*.json, cache/gpu_tables.h) or, for a GPU no table
// names, generic values scaled by its SM count.
#pragma once

namespace uintx::cache {

struct GpuModel {
  int smCount = 132;
  double copyBytesPerUs = 3.0e6;   // device-to-device copy ceiling (bytes read + written per us)
  double memLatencyUs = 0.5;       // loaded DRAM latency: in-flight bytes / latency = bandwidth
  double launchUs = 3.0;           // fixed cost of one kernel in a CUDA graph, ramp-up included
  double splitReduceUs = 0.5;      // fixed cost of the split-K reduce kernel
  double stepUs = 0.2;             // per K step of one program (barrier, loop overhead)
  double threadStepUs = 4e-4;      // issue cost of one thread's K step, per SM (address math, loop)
  double registersPerElement = 1.0;  // registers a GEMV thread holds per tile element it owns
};

// A GPU that no shipped table names: an H100-like model with its own SM count (0: unknown;
// the defaults then fall back to their rules).
inline GpuModel genericGpuModel(int smCount) {
  GpuModel m;
  m.smCount = smCount;
  return m;
}

}  // namespace uintx::cache
