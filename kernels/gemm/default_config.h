// The tensor-core GEMM config used where no tuned one exists (weight-only and int8).
#pragma once

#include <cstdint>

#include "cache/gpu_model.h"
#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// Up to this many rows of x, int8 activations with 8-bit weights take the transposed GEMM
// (GemmConfig::weightsAsA): x on the tensor cores' narrow side rather than padded to 64 rows.
constexpr int64_t kInt8WeightsAsAMaxM = 64;

// Up to this many rows of x, weight-only codes of up to 4 bits take the transposed GEMM with
// one stage (GemmConfig::weightsAsA, stages 1): x on mma.sync's n side, the next step's words
// and activations loaded into registers.
constexpr int64_t kRegisterTransposedMaxM = 32;

// The config where no tuned one exists: the rule (ruleGemmConfig). The cost model's choice
// (modelGemmConfig) with $UINTX_GEMM_COST_MODEL=1: on layers it was not fitted on it lost to the
// rules (docs/PERFORMANCE.md, "The cost model (GEMM)", run 21). Either with TMA copies where
// they apply (withTmaCopies).
GemmConfig defaultGemmConfig(const QuantSpec& q, int64_t M, bool int8Activations, const cache::GpuModel& gpu);

// TMA copies (GemmConfig::tmaCopies) are in the defaults and the tuner's space only with
// $UINTX_TMA_COPIES=1, and warp-specialized with 2 (GemmConfig::warpSpecialized, where it
// applies): slower than cp.async where measured (docs/PERFORMANCE.md, runs 25 and 26), and one
// binary then times every way.
bool tmaCopiesEnabled();

// `c` taking its K loop's blocks by TMA copies where it can (tiles on wgmma: int8 activations
// with 8-bit symmetric weights, or weight-only tiles of more than 16 rows) and
// tmaCopiesEnabled(), warp-specialized with $UINTX_TMA_COPIES=2 where that applies; else `c`.
GemmConfig withTmaCopies(const QuantSpec& q, GemmConfig c, bool int8Activations);

// The candidate of the tuner's space (kernels/gemm/config_space.h) of least predicted time
// (kernels/gemm/cost_model.h) on this GPU; the rule's config is kept unless a candidate is
// predicted kGemmModelMargin faster. A GPU whose table has no fitted GEMM constants
// (tensorFlopsPerUs 0) keeps the rule.
GemmConfig modelGemmConfig(const QuantSpec& q, int64_t M, bool int8Activations, const cache::GpuModel& gpu);
constexpr double kGemmModelMargin = 0.05;

// Rules from measurements (docs/PERFORMANCE.md, "Why the GEMM defaults") for this format and M
// on a GPU of `smCount` SMs (0: unknown, no split-K): what the cost model starts from.
GemmConfig ruleGemmConfig(const QuantSpec& q, int64_t M, bool int8Activations, int smCount);

// `c` (of `programs` unsplit programs) split along K into the 2..8 slices that fill the most
// SMs in at most two waves of one program per SM (86 programs on 132 SMs: 3 slices, 258
// programs), where the format allows it and it fills a tenth more of them: the rule of tiles
// that fill an SM.
GemmConfig splitToFillSms(const QuantSpec& q, GemmConfig c, int64_t programs, bool int8Activations, int smCount);

// `c` split along K into the fewest slices (up to 8) that give every one of `smCount` SMs a
// program, where the format allows it.
GemmConfig splitToReach(const QuantSpec& q, GemmConfig c, int64_t programs, bool int8Activations, int smCount);

}  // namespace uintx::kernels
