// Tensor-core GEMM family for larger M, written in the DSL around `dot` (mma.sync):
//  - weight-only: y = x @ dequant(W)^T, weights dequantized in registers to the activation
//    dtype right before the dot (4- and 8-bit, whole-word formats);
//  - int8 dynamic activations (torchao's Int8DynamicActivation...): x is quantized per row
//    to int8 (quantizeRows), then int8 x int8 -> int32 on tensor cores; 8-bit symmetric
//    weights scale once at the end, 4-bit asymmetric weights per group.
#pragma once

#include "dsl/kernel_builder.h"
#include "cache/kernel_key.h"
#include "kernels/common/quant_spec.h"

namespace uintx::kernels {

struct GemmConfig {
  int blockM = 64;
  int blockN = 128;
  int blockK = 32;
  int numWarps = 4;
  int stages = 2;  // >= 2: the K loop is pipelined through `stages` shared-memory buffers (cp.async)
  int splitK = 1;  // > 1: K slices in parallel programs, f32 partials summed by buildSplitKReduce
  // 1: the problem transposed, y^T = W x^T: the dequantized weights are the tensor cores' a
  // operand, fed from the registers they were dequantized in (blockN rows), the activations
  // their b operand from shared memory (blockM rows). On wgmma where the tile allows it (16 or
  // 32 weight rows per warp), else on mma.sync (blockM from 8: few rows of x pad the mma's n8
  // side, not its m16). Weight-only, 1/2/4-bit codes.
  int weightsAsA = 0;
  // 1: the transposed mma.sync tile with one stage, its K steps within one group or of whole
  // groups (blockK dividing the group size or a multiple of it, or per-row scales), does not
  // dequantize: the codes go to the mma as unpacked, a second mma sums x, and each group's
  // products take its zero and scale in f32 (buildGemm). Fewer instructions per weight, more
  // registers. Where the 16-bit decode does not apply it is ignored.
  int correctProducts = 0;
  // > 1 (unsplit configs): the tiles past the last whole wave of programs (a wave: one program
  // per SM) are split along K into up to tailSplit slices whose f32 partials a second kernel
  // sums (buildTailReduce), so that a last wave of few tiles does not run as long as a full
  // one. How many tiles and slices is decided per call from M and the SM count (tailSplitOf).
  int tailSplit = 1;
  // 1 (tiles on wgmma): the K loop's blocks come by TMA copies (tensor descriptors,
  // dsl/tensor_block.h) completing on mbarriers, not by cp.async from every thread: with int8
  // activations and 8-bit symmetric weights both operands', weight-only (more than 16 rows of
  // x, dequantized a step ahead) the activations'.
  int tmaCopies = 0;
  // 1 (with tmaCopies, int8 activations): a producer warpgroup issues the K loop's copies while
  // the numWarps warps compute, with no barrier between them (forLoop's warpSpecialized).
  int warpSpecialized = 0;
  // "BM=128 BN=128 BK=128 warps=8 stages=4 splitK=2", then the fields and flags set past
  // their defaults ("weightsAsA", "tailSplit=4", ...); fromString reads it back (the tuner's
  // timing logs), throwing uintx::Error on text it did not write.
  std::string toString() const;
  static GemmConfig fromString(const std::string& text);
};

// The largest tiles a config may ask for, per thread: accumulators [BM, BN], weights [BN, BK]
// and activations [BM, BK] over 32 * numWarps threads. Every tile of the search space and of
// the defaults is at most 576; a config from a file beyond it would only burden the compiler.
constexpr int kMaxGemmTileElementsPerThread = 1024;

// The config cache's form of a GemmConfig (BLOCK_M, BLOCK_N, BLOCK_K, num_warps, num_stages,
// split_k, weights_as_a, correct_products, tail_split, tma_copies, warp_specialized), both ways.
GemmConfig gemmConfigFrom(const cache::KernelConfig& config);
cache::KernelConfig toKernelConfig(const GemmConfig& config);

// The K extent of one pair of dots of a correctProducts step: the step, or its group's part of
// it when the step spans several groups.
int correctedSubStep(const QuantSpec& q, const GemmConfig& c);

// True when this format and config can use the GEMM programs (else: the GEMV family).
bool gemmSupports(const QuantSpec& q, const GemmConfig& c, bool int8Activations);

// Throws uintx::Error when gemmSupports is false; the message names the rule that fails.
void validateGemmConfig(const QuantSpec& q, const GemmConfig& c, bool int8Activations);

// Weight-only. Parameters: x [M, K], qweight (u32 words), scales, zeros (asymmetric only),
// bias (if hasBias; splitK == 1 only), out, M. Grid: (ceil(N / blockN), ceil(M / blockM), splitK).
// out is y [M, N] when splitK == 1, else f32 partials [splitK, M, N] that buildSplitKReduce
// sums (+ bias) into y; with a tail split (c.tailSplit > 1) y, partial and full_tiles on a
// one-dimensional grid (kernels/gemm/tail_reduce.h). K must be a multiple of blockK; split-K
// deals the K / blockK steps out to the slices (programWork), at least one each.
dsl::KernelProgram buildGemm(const QuantSpec& q, dsl::DType act, bool hasBias, const GemmConfig& c,
                             std::optional<dsl::DType> out = std::nullopt);

}  // namespace uintx::kernels
