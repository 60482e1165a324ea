#include "examples/example_kernels.h"

namespace uintx::examples {

using namespace uintx::dsl;

KernelProgram vectorAdd(int block, int numWarps) {
  KernelBuilder kb("vector_add");
  Value x = kb.pointerArg("x", DType::f32);
  Value y = kb.pointerArg("y", DType::f32);
  Value z = kb.pointerArg("z", DType::f32);
  Value n = kb.scalarArg("n", DType::i32, /*divisibility=*/16);
  kb.setNumWarps(numWarps);
  Value offs = kb.programId(0) * block + kb.arange(0, block);
  Value mask = offs < n;
  kb.store(z + offs, load(x + offs, mask) + load(y + offs, mask), mask);
  return kb.finish();
}

KernelProgram fusedChain(int block, int numWarps) {
  KernelBuilder kb("fused_chain");
  Value x = kb.pointerArg("x", DType::bf16);
  Value y = kb.pointerArg("y", DType::bf16);
  Value out = kb.pointerArg("out", DType::f32);
  Value a = kb.scalarArg("a", DType::f32);
  Value n = kb.scalarArg("n", DType::i32);
  kb.setNumWarps(numWarps);
  Value offs = kb.programId(0) * block + kb.arange(0, block);
  Value mask = offs < n;
  Value xf = cast(load(x + offs, mask, 0.0), DType::f32);
  Value yf = cast(load(y + offs, mask, 0.0), DType::f32);
  Value r = maximum(xf * a + yf, 0.0) * where(xf > yf, kb.constant(2, DType::f32), 0.5) - yf / 4.0;
  kb.store(out + offs, r, mask);
  return kb.finish();
}

KernelProgram rowSumMax(int blockRows, int blockCols, int numWarps) {
  KernelBuilder kb("row_sum_max");
  Value x = kb.pointerArg("x", DType::f32);
  Value rowSum = kb.pointerArg("row_sum", DType::f32);
  Value rowMax = kb.pointerArg("row_max", DType::f32);
  Value rows = kb.scalarArg("rows", DType::i32);
  Value cols = kb.scalarArg("cols", DType::i32);
  kb.setNumWarps(numWarps);
  Value r = kb.programId(0) * blockRows + kb.arange(0, blockRows);
  Value c = kb.arange(0, blockCols);
  Value r2 = expandDims(r, 1), c2 = expandDims(c, 0);
  Value mask = (r2 < rows) & (c2 < cols);
  Value tile = load(x + (r2 * cols + c2), mask, -INFINITY);
  kb.store(rowMax + r, max(tile, 1), r < rows);
  kb.store(rowSum + r, sum(where(mask, tile, 0.0), 1), r < rows);
  return kb.finish();
}

KernelProgram unpackInt4(int block, int group, int numWarps) {
  KernelBuilder kb("unpack_int4");
  Value words = kb.pointerArg("words", DType::u32);
  Value scales = kb.pointerArg("scales", DType::f32);
  Value zeros = kb.pointerArg("zeros", DType::f32);
  Value out = kb.pointerArg("out", DType::bf16);
  Value n = kb.scalarArg("n", DType::i32);
  kb.setNumWarps(numWarps);
  Value offs = kb.programId(0) * block + kb.arange(0, block);
  Value mask = offs < n;
  Value word = load(words + offs / 8, mask, 0.0);
  Value q = (word >> cast((offs % 8) * 4, DType::u32)) & 0xF;
  Value s = load(scales + offs / group, mask, 0.0);
  Value zp = load(zeros + offs / group, mask, 0.0);
  Value w = (cast(q, DType::f32) - zp) * s;
  kb.store(out + offs, cast(w, DType::bf16), mask);
  return kb.finish();
}

KernelProgram unpackToHalf(int bits, DType half, int block, int group, int numWarps) {
  KernelBuilder kb("unpack_to_half_w" + std::to_string(bits));
  const int per = 32 / bits;
  Value words = kb.pointerArg("words", DType::u32);
  Value scales = kb.pointerArg("scales", half);
  Value zeros = kb.pointerArg("zeros", half);
  Value out = kb.pointerArg("out", half);
  Value n = kb.scalarArg("n", DType::i32);  // a multiple of 32 / bits
  kb.setNumWarps(numWarps);
  kb.setVectorWidth(std::max(per, 8));
  Value offs = kb.programId(0) * block + kb.arange(0, block);
  Value mask = offs < n;
  Value wordOffs = kb.programId(0) * (block / per) + kb.arange(0, block / per);
  Value v = unpackBits(load(words + wordOffs, wordOffs < n / per, 0.0), bits, half);  // magic + u
  Value s = load(scales + offs / group, mask, 0.0);
  Value zp = load(zeros + offs / group, mask, 0.0);
  kb.store(out + offs, ((v - halfMagic(half)) - zp) * s, mask);
  return kb.finish();
}

KernelProgram blockCopy(DType dtype, int rows, int cols, int numWarps) {
  KernelBuilder kb(std::string("block_copy_") + dtypeName(dtype));
  Value x = kb.tensorArg("x", dtype, {rows, cols});
  Value out = kb.pointerArg("out", dtype);
  Value ldo = kb.scalarArg("ldo", DType::i32);
  Value dr = kb.scalarArg("dr", DType::i32);
  Value dc = kb.scalarArg("dc", DType::i32);
  kb.setNumWarps(numWarps);
  Value row = kb.programId(1) * rows, col = kb.programId(0) * cols;
  Value block = kb.loadBlock(x, row + dr, col + dc);
  Value r = expandDims(row + kb.arange(0, rows), 1), c = expandDims(col + kb.arange(0, cols), 0);
  kb.store(out + (r * ldo + c), block);
  return kb.finish();
}

KernelProgram blockRowSum(int blockRows, int blockCols, int stages, int numWarps) {
  KernelBuilder kb("block_row_sum");
  Value x = kb.tensorArg("x", DType::f32, {blockRows, blockCols});
  Value rowSum = kb.pointerArg("row_sum", DType::f32);
  Value rows = kb.scalarArg("rows", DType::i32);
  Value cols = kb.scalarArg("cols", DType::i32);
  kb.setNumWarps(numWarps);
  Value row = kb.programId(0) * blockRows;
  auto out = kb.forLoop(0, cols, blockCols, {kb.zeros({blockRows}, DType::f32)},
                        [&](Value c, const std::vector<Value>& acc) -> std::vector<Value> {
                          return {acc[0] + sum(kb.loadBlock(x, row, c), 1)};
                        }, stages);
  Value r = row + kb.arange(0, blockRows);
  kb.store(rowSum + r, out[0], r < rows);
  return kb.finish();
}

KernelProgram blockMatmul(DType dtype, int BM, int BN, int BK, int stages, int numWarps, bool warpSpecialized) {
  KernelBuilder kb(std::string("block_matmul_") + dtypeName(dtype) + (warpSpecialized ? "_ws" : ""));
  const DType accType = dtype == DType::i8 ? DType::i32 : DType::f32;
  Value x = kb.tensorArg("x", dtype, {BM, BK});
  Value w = kb.tensorArg("w", dtype, {BN, BK}, PointerAccess::constant);
  Value y = kb.pointerArg("y", accType);
  Value M = kb.scalarArg("M", DType::i32);
  Value N = kb.scalarArg("N", DType::i32);
  Value K = kb.scalarArg("K", DType::i32);
  kb.setNumWarps(numWarps);
  Value m0 = kb.programId(1) * BM, n0 = kb.programId(0) * BN;
  auto acc = kb.forLoop(0, K, BK, {kb.zeros({BM, BN}, accType)},
                        [&](Value k, const std::vector<Value>& a) -> std::vector<Value> {
                          return {dot(kb.loadBlock(x, m0, k), trans(kb.loadBlock(w, n0, k)), a[0])};
                        }, stages, warpSpecialized);
  Value rm = expandDims(m0 + kb.arange(0, BM), 1), rn = expandDims(n0 + kb.arange(0, BN), 0);
  kb.store(y + (rm * N + rn), acc[0], (rm < M) & (rn < N));
  return kb.finish();
}

}  // namespace uintx::examples
