#include "kernels/gemm/gemm_tiles.h"

#include "kernels/common/pipelined_loop.h"

namespace uintx::kernels {

using namespace uintx::dsl;

// Elements per thread along k: four 32-bit words of codes (one 16-byte load), so that each
// thread unpacks whole words; the dot stages the tiles through shared memory from there.
int gemmVectorWidth(const QuantSpec& q, const GemmConfig& c) { return std::min(c.blockK, 4 * (32 / q.bits)); }

// Programs start in launch order, x fastest. Mapped directly, a wave of programs would sweep
// all of N for one or two row blocks of M, and every row block would read all the weights
// again from memory. Taken in groups of kGroupRows row blocks (Triton's GROUP_M), a wave
// shares its weight tiles and activation rows in L2. Returns the (row block, column block)
// of this program; the grid is unchanged, (ceil(N / blockN), ceil(M / blockM)).
constexpr int kGroupRows = 8;
std::pair<Value, Value> tileOfProgram(KernelBuilder& kb, const GemmConfig& c, Value M, int64_t N) {
  int columns = int((N + c.blockN - 1) / c.blockN), perGroup = kGroupRows * columns;
  Value rows = (M + (c.blockM - 1)) / c.blockM;
  Value linear = kb.programId(1) * columns + kb.programId(0);
  Value first = linear / perGroup * kGroupRows;
  Value groupRows = minimum(rows - first, kGroupRows);
  Value inGroup = linear % perGroup;
  return {first + inGroup % groupRows, inGroup / groupRows};
}

std::pair<Value, Value> kSliceOfProgram(KernelBuilder& kb, const GemmConfig& c, int64_t K) {
  if (c.splitK == 1) return {kb.constant(0, DType::i32), kb.constant(double(K), DType::i32)};
  const int steps = int(K / c.blockK);
  Value pid = kb.programId(2);
  return {pid * steps / c.splitK * c.blockK, (pid + 1) * steps / c.splitK * c.blockK};
}

BlockIndices blockIndices(KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, Value M) {
  BlockIndices b;
  const int N = int(q.N);
  auto [row, column] = tileOfProgram(kb, c, M, q.N);
  b.rm = row * c.blockM + kb.arange(0, c.blockM);
  b.rmMask2 = expandDims(b.rm < M, 1);
  Value rnW = column * c.blockN + kb.arange(0, c.blockN);
  b.rn2 = expandDims(rnW, 1);
  b.rnMask2 = expandDims(rnW < N, 1);
  b.rn = column * c.blockN + kb.arange(0, c.blockN);
  b.rnMask = b.rn < N;
  b.numGroups = kb.constant(double(q.K / q.groupSize), DType::i32);
  return b;
}

// The packed 32-bit words of the weight tile: rows rn2 [BN, 1] masked by rnMask2, columns
// k0 .. k0 + blockK; [BN, blockK / (32 / bits)] of u32.
Value loadWordTile(KernelBuilder& kb, const QuantSpec& q, int blockK, Value qweight, Value rn2,
                          Value rnMask2, Value k0) {
  int per = 32 / q.bits;
  int wordsPerRow = int(q.rowBytes() / 4);
  Value rw = k0 / per + kb.arange(0, blockK / per);
  return load(qweight + (rn2 * wordsPerRow + expandDims(rw, 0)), rnMask2, 0.0);
}

// The int8 GEMM's K loop: with stages >= 2 the code generator pipelines it, every tile whose
// loads allow it (activations, weight codes or words) coming through a shared-memory ring
// `stages` deep (cp.async, see codegen/async_loads.h); the rest is loaded in the step. (The
// weight-only GEMM writes its loop by hand: it carries its dequantized weights.)
Value kLoop(KernelBuilder& kb, const GemmConfig& c, Value lo, Value hi, Value acc, const LoadStep& load,
                   const ComputeStep& step) {
  return pipelinedLoop(kb, lo, hi, c.blockK, {acc}, load, step, /*prefetch=*/false, c.stages)[0];
}

// The activation tile [BM, BK] at columns k0 .. k0 + BK.
Value loadActivationTile(KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, const BlockIndices& b,
                                Value x, Value k0) {
  return loadActivationTile(kb, q, b, x, k0, c.blockK);
}

Value loadActivationTile(KernelBuilder& kb, const QuantSpec& q, const BlockIndices& b, Value x, Value k0, int width) {
  return load(x + (expandDims(b.rm, 1) * int(q.K) + expandDims(k0 + kb.arange(0, width), 0)), b.rmMask2, 0.0);
}

}  // namespace uintx::kernels
