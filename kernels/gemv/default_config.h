// The GEMV config used where no tuned one exists.
#pragma once

#include <cstdint>

#include "cache/gpu_model.h"
#include "kernels/gemv/gemv.h"

namespace uintx::kernels {

// The candidate (kernels/gemv/config_space.h) of least predicted time (kernels/gemv/cost_model.h)
// on this GPU; rows per program and pipelining follow M (ruleGemvConfig), and the rule's own
// config is kept unless a candidate is predicted at least 1% faster.
GemvConfig defaultGemvConfig(const QuantSpec& q, int64_t M, const cache::GpuModel& gpu);

// The same on a GPU known only by its SM count (the generic model); 0: unknown, the rule alone.
GemvConfig defaultGemvConfig(const QuantSpec& q, int64_t M, int smCount);

// Rules from measurements (docs/PERFORMANCE.md, "Why the GEMV defaults"): what the cost model
// starts from, and what runs when no candidate of the grid fits the format.
GemvConfig ruleGemvConfig(const QuantSpec& q, int64_t M, int smCount);

}  // namespace uintx::kernels
