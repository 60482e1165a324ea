// Predicted time of a tensor-core GEMM config (weight-only and int8 activations), for choosing
// defaults (docs/PERFORMANCE.md, "The cost model"). A program computes one BM x BN tile over its
// K slice, step by step; the programs resident on an SM share its memory bandwidth (bounded by
// the weight bytes they keep in flight, Little's law), its tensor cores and its issue slots
// (the weight decode). A step of the SM's programs costs the largest of those, and at least
// the latency of one step (barriers, waits); the grid runs in waves of resident programs.
#pragma once

#include <cstdint>

#include "cache/gpu_model.h"
#include "kernels/common/quant_spec.h"
#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

double predictGemmUs(const QuantSpec& q, const GemmConfig& c, int64_t M, bool int8, const cache::GpuModel& gpu);

}  // namespace uintx::kernels
