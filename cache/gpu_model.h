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
  // The tensor-core GEMM's (kernels/gemm/cost_model.h); 0 where not fitted: the rules decide.
  double tensorFlopsPerUs = 0;       // bf16 wgmma (int8: twice as many operations)
  double mmaSyncShare = 0.5;         // the share of that mma.sync reaches
  double decodeUsPerWeight = 6e-6;   // issue time of decoding one weight, per SM
  double gemmStepUs = 0.3;           // least time of one K step (barriers, waits)
  double gemmChainUsPerWeight = 0.01;  // a step's latency per weight each thread decodes
  double gemmLatencyUs = 1.0;        // cp.async ring's loaded latency: in-flight bytes / latency = bandwidth
  double l2BytesPerUs = 1.0e7;       // activations re-read by every column block, from L2
};

// A GPU that no shipped table names: an H100-like model with its own SM count (0: unknown;
// the defaults then fall back to their rules).
inline GpuModel genericGpuModel(int smCount) {
  GpuModel m;
  m.smCount = smCount;
  return m;
}

}  // namespace uintx::cache
