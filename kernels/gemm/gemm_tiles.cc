#include "kernels/gemm/gemm_tiles.h"

#include <tuple>

#include "kernels/common/pipelined_loop.h"

namespace uintx::kernels {

using namespace uintx::dsl;

// Elements per thread along k: four 32-bit words of codes (one 16-byte load), so that each
// thread unpacks whole words; the dot stages the tiles through shared memory from there.
int gemmVectorWidth(const QuantSpec& q, const GemmConfig& c) { return std::min(c.blockK, 4 * (32 / q.bits)); }

// Programs start in launch order, x fastest. Mapped directly, a wave of programs would sweep
// all of N for one or two row blocks of M, and every row block would read all the weights
// again from memory. Taken in groups of kGroupRows row blocks (Triton's GROUP_M), a wave
// shares its weight tiles and activation rows in L2.
constexpr int kGroupRows = 8;
std::pair<Value, Value> tileOfIndex(KernelBuilder& kb, const GemmConfig& c, Value M, int64_t N, Value t) {
  int columns = int((N + c.blockN - 1) / c.blockN), perGroup = kGroupRows * columns;
  Value rows = (M + (c.blockM - 1)) / c.blockM;
  Value first = t / perGroup * kGroupRows;
  Value groupRows = minimum(rows - first, kGroupRows);
  Value inGroup = t % perGroup;
  return {first + inGroup % groupRows, inGroup / groupRows};
}

ProgramWork programWork(KernelBuilder& kb, const GemmConfig& c, Value M, int64_t N, int64_t K) {
  ProgramWork w;
  if (c.tailSplit > 1) {
    // Slices of a constant length L (c.tailSplit divides the K steps): each program's loop
    // length is one of two constants, so the code generator knows it runs at least once.
    const int S = c.tailSplit;
    const int64_t L = K / c.blockK / S * c.blockK;
    Value full = kb.scalarArg("full_tiles", DType::i32);
    Value p = kb.programId(0);
    w.tail = p >= full, w.whole = p < full;
    w.tailIndex = maximum(p - full, kb.constant(0, DType::i32));
    w.slice = where(w.tail, w.tailIndex % S, kb.constant(0, DType::i32));
    std::tie(w.row, w.column) = tileOfIndex(kb, c, M, N, where(w.tail, full + w.tailIndex / S, p));
    w.kLo = w.slice * int(L);
    w.kLength = where(w.tail, kb.constant(double(L), DType::i32), kb.constant(double(K), DType::i32));
    w.kHi = w.kLo + w.kLength;
    return w;
  }
  int columns = int((N + c.blockN - 1) / c.blockN);
  std::tie(w.row, w.column) = tileOfIndex(kb, c, M, N, kb.programId(1) * columns + kb.programId(0));
  if (c.splitK == 1) {
    w.slice = kb.constant(0, DType::i32);
    w.kLo = kb.constant(0, DType::i32), w.kHi = kb.constant(double(K), DType::i32);
  } else {
    // The K / blockK steps dealt out as evenly as whole steps allow, so that K need only be a
    // multiple of blockK (K = 4160 in 64-deep steps splits 16 + 16 + 16 + 17).
    const int steps = int(K / c.blockK);
    w.slice = kb.programId(2);
    w.kLo = w.slice * steps / c.splitK * c.blockK, w.kHi = (w.slice + 1) * steps / c.splitK * c.blockK;
  }
  return w;
}

GemmOutputs gemmOutputs(KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, DType yType, bool hasBias) {
  GemmOutputs o;
  if (hasBias && c.splitK == 1) o.bias = kb.pointerArg("bias", q.scaleDtype, kWeightData);
  if (c.splitK == 1) o.y = kb.pointerArg("y", yType);
  if (c.splitK > 1 || c.tailSplit > 1) o.partial = kb.pointerArg("partial", DType::f32);
  return o;
}

void storeOutput(KernelBuilder& kb, const GemmConfig& c, const ProgramWork& w, const GemmOutputs& o, Value r, Value rmOut,
                 Value rnOut, Value mask, Value bias, Value M, int64_t N, DType yType) {
  const int n = int(N);
  if (c.splitK > 1) kb.store(o.partial + ((w.slice * M + rmOut) * n + rnOut), r, mask);
  if (c.tailSplit > 1) {
    Value local = (rmOut - w.row * c.blockM) * c.blockN + (rnOut - w.column * c.blockN);
    kb.store(o.partial + (w.tailIndex * (c.blockM * c.blockN) + local), r, mask & w.tail);
  }
  if (!o.y.builder()) return;
  if (bias.builder()) r = r + bias;
  kb.store(o.y + (rmOut * n + rnOut), cast(r, yType), c.tailSplit > 1 ? mask & w.whole : mask);
}

BlockIndices blockIndices(KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, Value M, const ProgramWork& w) {
  BlockIndices b;
  const int N = int(q.N);
  b.rowStart = w.row * c.blockM;
  b.rm = b.rowStart + kb.arange(0, c.blockM);
  b.rmMask2 = expandDims(b.rm < M, 1);
  Value rnW = w.column * c.blockN + kb.arange(0, c.blockN);
  b.rn2 = expandDims(rnW, 1);
  b.rnMask2 = expandDims(rnW < N, 1);
  b.rn = w.column * c.blockN + kb.arange(0, c.blockN);
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
Value kLoop(KernelBuilder& kb, const GemmConfig& c, const ProgramWork& w, Value acc, const LoadStep& load,
            const ComputeStep& step) {
  const bool specialized = c.warpSpecialized;
  if (!w.kLength.builder())
    return pipelinedLoop(kb, w.kLo, w.kHi, c.blockK, {acc}, load, step, /*prefetch=*/false, c.stages, specialized)[0];
  return pipelinedLoop(kb, kb.constant(0, DType::i32), w.kLength, c.blockK, {acc},
                       [&](Value j) { return load(w.kLo + j); },
                       [&](Value j, const std::vector<Value>& t, const std::vector<Value>& a) { return step(w.kLo + j, t, a); },
                       /*prefetch=*/false, c.stages, specialized)[0];
}

// The activation tile [BM, BK] at columns k0 .. k0 + BK.
Value loadActivationTile(KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, const BlockIndices& b,
                                Value x, Value k0) {
  return loadActivationTile(kb, q, b, x, k0, c.blockK);
}

Value loadActivationTile(KernelBuilder& kb, const QuantSpec& q, const BlockIndices& b, Value x, Value k0, int width) {
  if (x.isTensorDesc()) {
    Value block = kb.loadBlock(x, b.rowStart, k0);
    if (block.shape()[1] != width) kb.fail("loadActivationTile", "a tensor of x is read in whole blocks of its steps");
    return block;
  }
  return load(x + (expandDims(b.rm, 1) * int(q.K) + expandDims(k0 + kb.arange(0, width), 0)), b.rmMask2, 0.0);
}

}  // namespace uintx::kernels
