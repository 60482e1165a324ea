// The tile arithmetic both tensor-core GEMM families (weight-only and int8) build their
// programs from: which output block a program computes, its index tiles, and the loads of one
// K step.
#pragma once

#include <utility>

#include "dsl/kernel_builder.h"
#include "kernels/common/pipelined_loop.h"
#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// The index tiles of one [BM, BN] output block. They are built separately for the weight
// rows (rn2) and the output columns (rn): each side has its own tensor-core layout, and an
// arange costs nothing to rebuild.
struct BlockIndices {
  dsl::Value rm, rmMask2;      // activation / output rows [BM], and their mask as [BM, 1]
  dsl::Value rn2, rnMask2;     // weight rows as [BN, 1]
  dsl::Value rn, rnMask;       // output columns [BN]
  dsl::Value numGroups;        // scale groups per weight row
};

// Elements per thread along k: four 32-bit words of codes (one 16-byte load), so that each
// thread unpacks whole words; the dot stages the tiles through shared memory from there.
int gemmVectorWidth(const QuantSpec& q, const GemmConfig& c);

// The (row block, column block) of this program, taken in groups of row blocks so that a wave
// of programs shares weight tiles and activation rows in L2; the grid is (ceil(N / blockN),
// ceil(M / blockM)).
std::pair<dsl::Value, dsl::Value> tileOfProgram(dsl::KernelBuilder& kb, const GemmConfig& c, dsl::Value M, int64_t N);
BlockIndices blockIndices(dsl::KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, dsl::Value M);

// This program's K slice [lo, hi) under split-K (program_id(2) of c.splitK): the K / blockK
// steps dealt out as evenly as whole steps allow, so that K need only be a multiple of blockK
// (K = 4160 in 64-deep steps splits 16 + 16 + 16 + 17). Unsplit: [0, K).
std::pair<dsl::Value, dsl::Value> kSliceOfProgram(dsl::KernelBuilder& kb, const GemmConfig& c, int64_t K);

// The packed 32-bit words of the weight tile: rows rn2 [BN, 1] masked by rnMask2, columns
// k0 .. k0 + blockK; [BN, blockK / (32 / bits)] of u32.
dsl::Value loadWordTile(dsl::KernelBuilder& kb, const QuantSpec& q, int blockK, dsl::Value qweight, dsl::Value rn2,
                        dsl::Value rnMask2, dsl::Value k0);

// The int8 GEMM's K loop, pipelined through `stages` shared-memory buffers by the code
// generator (the weight-only GEMM writes its loop by hand: it carries dequantized weights).
dsl::Value kLoop(dsl::KernelBuilder& kb, const GemmConfig& c, dsl::Value lo, dsl::Value hi, dsl::Value acc,
                 const LoadStep& load, const ComputeStep& step);

// The activation tile [BM, BK] at columns k0 .. k0 + BK, or [BM, width] at k0 .. k0 + width.
dsl::Value loadActivationTile(dsl::KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c,
                              const BlockIndices& b, dsl::Value x, dsl::Value k0);
dsl::Value loadActivationTile(dsl::KernelBuilder& kb, const QuantSpec& q, const BlockIndices& b, dsl::Value x,
                              dsl::Value k0, int width);

}  // namespace uintx::kernels
