// Predicted time of a GEMV config, for choosing defaults (docs/PERFORMANCE.md, "The cost
// model"). The GEMV streams weights: it runs at the copy ceiling only while every SM keeps
// enough bytes in flight to cover DRAM latency (Little's law), so the prediction is the weight
// bytes over min(ceiling, in-flight bytes / latency), plus the launch, the per-step overhead of
// each program and each thread, and split-K's partial sums and reduce launch.
#pragma once

#include <cstdint>

#include "cache/gpu_model.h"
#include "kernels/common/quant_spec.h"
#include "kernels/gemv/gemv.h"

namespace uintx::kernels {

double predictGemvUs(const QuantSpec& q, const GemvConfig& c, int64_t M, const cache::GpuModel& gpu);

}  // namespace uintx::kernels
