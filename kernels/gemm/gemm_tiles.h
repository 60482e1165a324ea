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
  dsl::Value rowStart;         // the block's first row of x
  dsl::Value rm, rmMask2;      // activation / output rows [BM], and their mask as [BM, 1]
  dsl::Value rn2, rnMask2;     // weight rows as [BN, 1]
  dsl::Value rn, rnMask;       // output columns [BN]
  dsl::Value numGroups;        // scale groups per weight row
};

// Elements per thread along k: four 32-bit words of codes (one 16-byte load), so that each
// thread unpacks whole words; the dot stages the tiles through shared memory from there.
int gemmVectorWidth(const QuantSpec& q, const GemmConfig& c);

// The output tile and the K slice [kLo, kHi) one program computes.
struct ProgramWork {
  dsl::Value row, column;  // row block of x and y, column block of y
  dsl::Value kLo, kHi;
  dsl::Value kLength;  // tailSplit > 1 only: kHi - kLo, a choice of two constants
  dsl::Value slice;  // the f32 partial it writes: split-K program_id(2), or its tail tile's slice
  dsl::Value tail, whole;  // tailSplit > 1 only: the program computes a slice of a tail tile / a whole tile
  dsl::Value tailIndex;    // tailSplit > 1 only: among the tail programs, tail tile * tailSplit + slice
};

// Where a program's output goes: y (bf16/f16/f32), f32 partials (split-K: [splitK, M, N]; a
// tail split: one [blockM, blockN] tile per tail program, in tailIndex order), the bias (added
// to y; the reduce adds it to partials).
struct GemmOutputs {
  dsl::Value y, partial, bias;
};
// Declares the output parameters a config writes ("bias", "y", "partial", in that order).
GemmOutputs gemmOutputs(dsl::KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, dsl::DType yType, bool hasBias);
// Stores the f32 tile r, rows rmOut and columns rnOut (broadcastable to r) under mask: as a
// partial at the program's slice, or (+ bias, a [BN] tile broadcastable as rnOut) into y.
void storeOutput(dsl::KernelBuilder& kb, const GemmConfig& c, const ProgramWork& w, const GemmOutputs& o, dsl::Value r,
                 dsl::Value rmOut, dsl::Value rnOut, dsl::Value mask, dsl::Value bias, dsl::Value M, int64_t N,
                 dsl::DType yType);

// Programs over tiles, and tiles over (row block, column block). A tile index t is taken in
// groups of row blocks so that a wave of programs shares weight tiles and activation rows in
// L2. Unsplit or split-K: the grid is (ceil(N / blockN), ceil(M / blockM), splitK), one tile per
// (x, y) program, its K slice program_id(2)'s. With c.tailSplit > 1 the grid
// is one-dimensional: programs below the scalar argument `full_tiles` compute tiles 0 ..
// full_tiles - 1 whole; each later tile is computed by c.tailSplit programs in a row, one K
// slice of equal length each (TailSplit, kernels/gemm/tail_reduce.h).
std::pair<dsl::Value, dsl::Value> tileOfIndex(dsl::KernelBuilder& kb, const GemmConfig& c, dsl::Value M, int64_t N,
                                              dsl::Value t);
ProgramWork programWork(dsl::KernelBuilder& kb, const GemmConfig& c, dsl::Value M, int64_t N, int64_t K);
BlockIndices blockIndices(dsl::KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, dsl::Value M,
                          const ProgramWork& w);

// The packed 32-bit words of the weight tile: rows rn2 [BN, 1] masked by rnMask2, columns
// k0 .. k0 + blockK; [BN, blockK / (32 / bits)] of u32.
dsl::Value loadWordTile(dsl::KernelBuilder& kb, const QuantSpec& q, int blockK, dsl::Value qweight, dsl::Value rn2,
                        dsl::Value rnMask2, dsl::Value k0);

// The int8 GEMM's K loop, pipelined through `stages` shared-memory buffers by the code
// generator (the weight-only GEMM writes its loop by hand: it carries dequantized weights).
// Over a tail split's slices the loop runs j over [0, kLength) at k = kLo + j: its length is
// one of two constants, so that it has no zero-trip path, whose merge would convert the wgmma
// accumulators before their wait (ptxas then serializes the wgmmas, C7514).
dsl::Value kLoop(dsl::KernelBuilder& kb, const GemmConfig& c, const ProgramWork& w, dsl::Value acc,
                 const LoadStep& load, const ComputeStep& step);

// The activation tile [BM, BK] at columns k0 .. k0 + BK, or [BM, width] at k0 .. k0 + width;
// from x's pointer, or (GemmConfig::tmaCopies) its [BM, BK] block (the whole step only).
dsl::Value loadActivationTile(dsl::KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c,
                              const BlockIndices& b, dsl::Value x, dsl::Value k0);
dsl::Value loadActivationTile(dsl::KernelBuilder& kb, const QuantSpec& q, const BlockIndices& b, dsl::Value x,
                              dsl::Value k0, int width);

}  // namespace uintx::kernels
