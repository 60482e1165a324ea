// The tensor-core GEMM search space of the autotuner ("gemm", "gemm_int8"): candidate
// launch configs for one kernel key, pruned to the ones worth timing (rules: docs/CACHE.md,
// "GEMM search space").
#pragma once

#include <string>
#include <vector>

#include "cache/kernel_key.h"
#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// The families this space serves: what uintx::kernelFamily names for tensor cores.
bool isGemmFamily(cache::KernelFamily family);

// The key of a GEMM call of this format and M (activations and output bf16: the spaces and the
// cost model do not depend on them).
cache::KernelKey gemmKeyOf(const kernels::QuantSpec& q, int64_t M, bool int8Activations);

// Register budget, per thread: accumulators alone, and the estimate of gemmRegisterEstimate.
constexpr int kMaxGemmAccumulatorsPerThread = 128;
constexpr int kMaxGemmRegistersPerThread = 192;
// Longest list returned for one key.
constexpr int kMaxGemmConfigs = 40;
// 32-bit registers a thread holds for the tile math: f32 accumulators BM*BN/(32*warps), plus
// on mma.sync the per-warp operand fragments of one K step (a: [BM/warpsM, BK], w:
// [BN/warpsN, BK], two 16-bit or four 8-bit values per register over 32 lanes; wgmma reads
// them from shared memory), plus for the weight-only GEMM the next step's dequantized weight
// tile (BN*BK/(2*32*warps)). warpsM x warpsN is codegen::mmaLayouts' split; -1 if none.
int gemmRegisterEstimate(const kernels::GemmConfig& c, bool int8Activations);

// Shared memory of the K loop: without pipelining (stages 1) the dot's staged operands
// (codegen::pipelinedDotBytes without rings); pipelined, a ring of `stages` buffers for the activations and
// for the weights as loaded (int8 codes, which the dot reads in place, or packed words, next to
// the dequantized tile the dot stages, twice on wgmma from three stages), each buffer rounded
// up to 128 bytes.
int64_t gemmSharedBytes(const cache::KernelKey& key, const kernels::GemmConfig& c);

// Empty when `c` is worth timing for `key` on a GPU of `smCount` SMs, else the pruning rule
// it breaks (the rules of docs/CACHE.md, "GEMM search space").
std::string gemmPruneReason(const cache::KernelKey& key, const kernels::GemmConfig& c, int smCount);

// Candidates for `key`: the rule's config (ruleGemmConfig at M = m_bucket; the tuner's space,
// kernels::configSpace, puts the default first where the cost model chose another) first, then
// the configs of the grid that no rule prunes, most plausible first, at most kMaxGemmConfigs.
// Every one passes kernels::gemmSupports and codegen::mmaLayouts. Throws uintx::Error for a
// family other than "gemm"/"gemm_int8", an invalid format, or a format the GEMM programs
// cannot run.
std::vector<kernels::GemmConfig> gemmConfigSpace(const cache::KernelKey& key, int smCount);

}  // namespace uintx::kernels
