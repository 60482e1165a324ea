// ux.dot on mma.sync (sm_80+): operands through ldmatrix, or a or w from registers.

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

// acc[BM, BN] += a[BM, BK] @ trans(w)[BK, BN] on mma.sync. Both operands are staged through
// shared memory: every thread stores its part of the tiles (each element once per CTA, so
// the dequantization before the dot is not repeated per warp), then each warp reads the
// fragments it needs with ldmatrix. Rows are padded by 16 bytes, which puts the eight rows
// of an 8x8 ldmatrix read in distinct banks.
//
// In bytes, a 32-byte step of k is one mma for every operand type: m16n8k16 for bf16/f16,
// m16n8k32 for int8. Its A fragment is 16 rows x 32 bytes = four 8x8 b16 matrices (rows
// 0-7 | 8-15, bytes 0-15 | 16-31) and its B fragment 8 rows of w x 32 bytes = two. The
// accumulator layout (mmaLayouts().acc) decides which rows each warp computes: local
// accumulator rows 2i, 2i+1 are an m16 block, columns 2j, 2j+1 of rep j an n8 block.
void Lowering::lowerDot(ux::DotOp op) {
  auto trans = op.getB().getDefiningOp<ux::TransOp>();
  if (!trans) fail(op, "the b operand must be trans(w) with w a [N, K] tile (weights are stored [N, K])");
  if (dotUsesWgmma(op)) return lowerWgmmaDot(op);
  if (dotAInRegisters(op)) return lowerRegisterADot(op);
  if (dotWInRegisters(op)) return lowerRegisterDot(op);
  auto accShape = shapeVec(op.getAcc()), aShape = shapeVec(op.getA());
  int64_t BM = accShape[0], BN = accShape[1], BK = aShape[1];
  MmaLayouts m = mmaLayouts(BM, BN, BK, facts_.numWarps);
  Layout lc = Layout::blocked(m.acc);
  Type elem = ux::elementType(op.getA().getType());
  bool isInt = elem.isInteger(8);
  int eb = isInt ? 1 : 2;
  int64_t stride = BK * eb + 16;
  auto [aBase, wBase] = dotOperandsInShared(op);

  Elements c = get(op.getAcc(), lc);
  ThreadElements tc = threadElements(lc, accShape);
  Type i32 = b_.getI32Type();
  // The lane's part of every ldmatrix address: lane = 8 * matrix + row of that matrix.
  Value r = arith::AndIOp::create(b_, loc_, lane_, c32(7));
  Value mat = arith::ShRUIOp::create(b_, loc_, lane_, c32(3));
  Value matLo = arith::AndIOp::create(b_, loc_, mat, c32(1)), matHi = arith::ShRUIOp::create(b_, loc_, mat, c32(1));
  int wnBits = log2i(m.warpsN);
  Value warpN = arith::AndIOp::create(b_, loc_, warp_, c32(m.warpsN - 1));
  Value warpM = arith::AndIOp::create(b_, loc_, arith::ShRUIOp::create(b_, loc_, warp_, c32(wnBits)), c32(m.warpsM - 1));
  // a: matrices (rows 0-7, bytes 0-15), (8-15, 0-15), (0-7, 16-31), (8-15, 16-31).
  Value aRow = add(add(mul(matLo, 8 * m.warpsM), mul(warpM, 8)), r);
  Value aLane = sharedAddress(add(aBase, add(mul(aRow, stride), mul(matHi, 16))));
  // w, two n8 blocks per x4: (block j, bytes 0-15), (j, 16-31), (j + 1, 0-15), (j + 1, 16-31).
  Value wRow = add(add(mul(matHi, 8 * m.warpsN), mul(warpN, 8)), r);
  Value wLane = sharedAddress(add(wBase, add(mul(wRow, stride), mul(matLo, 16))));
  auto ldmatrix = [&](Value addr, int n) {
    Type resT = LLVM::LLVMStructType::getLiteral(ctx_, SmallVector<Type>(n, i32));
    std::string text = "ldmatrix.sync.aligned.m8n8.x" + std::to_string(n) + ".shared.b16 " + regList(0, n) + ", [$" +
                       std::to_string(n) + "];";
    std::string cons;
    for (int i = 0; i < n; ++i) cons += "=r,";
    // Reads shared memory that the stores above wrote: keep it after the barrier.
    Value res = inlineAsm(b_, loc_, resT, ValueRange{addr}, text, cons + "r").getResult(0);
    sharedReadSinceBarrier_ = true;
    SmallVector<Value> regs;
    for (int i = 0; i < n; ++i) regs.push_back(LLVM::ExtractValueOp::create(b_, loc_, res, ArrayRef<int64_t>{i}));
    return regs;
  };

  int mBlocks = tc.countPerDim[0] / 2, nBlocks = tc.countPerDim[1] / 2;
  int64_t steps = BK * eb / 32;
  Elements out = c;
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<SmallVector<Value>> af, wf;
    for (int i = 0; i < mBlocks; ++i) af.push_back(ldmatrix(add(aLane, c32(2 * i * 8 * m.warpsM * stride + 32 * s)), 4));
    for (int j = 0; j < nBlocks; j += 2) {
      auto regs = ldmatrix(add(wLane, c32(j * 8 * m.warpsN * stride + 32 * s)), j + 1 < nBlocks ? 4 : 2);
      wf.push_back({regs[0], regs[1]});
      if (j + 1 < nBlocks) wf.push_back({regs[2], regs[3]});
    }
    for (int i = 0; i < mBlocks; ++i)
      for (int j = 0; j < nBlocks; ++j) {
        mmaIntoBlock(elem, af[i], wf[j], out, tc, i, j);
      }
  }
  set(op, out);
}

// One mma.sync: m16n8k16 for bf16/f16 (f32 accumulators), m16n8k32 for int8 (s32). `a` is the
// four 32-bit registers of the A fragment, `b` the two of the B fragment, `c` the
// accumulators; returns the new accumulators.
SmallVector<Value, 4> Lowering::mmaSync(Type elem, ArrayRef<Value> a, ArrayRef<Value> b, ArrayRef<Value> c) {
  bool isInt = elem.isInteger(8);
  std::string shape = isInt ? "m16n8k32.row.col.s32.s8.s8.s32" : elem.isBF16() ? "m16n8k16.row.col.f32.bf16.bf16.f32"
                                                                               : "m16n8k16.row.col.f32.f16.f16.f32";
  std::string text = "mma.sync.aligned." + shape + " {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};";
  std::string cr = isInt ? "r" : "f";
  std::string cons = "=" + cr + ",=" + cr + ",=" + cr + ",=" + cr + ",r,r,r,r,r,r," + cr + "," + cr + "," + cr + "," + cr;
  Type accT = isInt ? (Type)b_.getI32Type() : (Type)b_.getF32Type();
  Type resT = LLVM::LLVMStructType::getLiteral(ctx_, SmallVector<Type>(4, accT));
  SmallVector<Value> ops(a.begin(), a.end());
  ops.append(b.begin(), b.end());
  ops.append(c.begin(), c.end());
  Value res = inlineAsm(b_, loc_, resT, ops, text, cons, /*sideEffects=*/false).getResult(0);
  SmallVector<Value, 4> out;
  for (int64_t q = 0; q < 4; ++q) out.push_back(LLVM::ExtractValueOp::create(b_, loc_, res, ArrayRef<int64_t>{q}));
  return out;
}

// One mma.sync into the accumulator tile's m16 block i and n8 block j (local rows 2i, 2i + 1
// and columns 2j, 2j + 1 of the accumulator layout `tc`).
void Lowering::mmaIntoBlock(Type elem, ArrayRef<Value> a, ArrayRef<Value> b, Elements& acc, const ThreadElements& tc,
                            int i, int j) {
  int c[4] = {tc.flatten({2 * i, 2 * j}), tc.flatten({2 * i, 2 * j + 1}), tc.flatten({2 * i + 1, 2 * j}),
              tc.flatten({2 * i + 1, 2 * j + 1})};
  auto res = mmaSync(elem, a, b, {acc[c[0]], acc[c[1]], acc[c[2]], acc[c[3]]});
  for (int q = 0; q < 4; ++q) acc[c[q]] = res[q];
}

// Elements first .. first + 4 / bytes of `v` as one 32-bit register (an mma fragment register).
Value Lowering::packRegister(const Elements& v, int first) {
  Type elem = v[first].getType();
  int perReg = 4 / elemBytes(elem);
  Value vec = LLVM::UndefOp::create(b_, loc_, VectorType::get({perReg}, elem));
  for (int i = 0; i < perReg; ++i) vec = LLVM::InsertElementOp::create(b_, loc_, vec, v[first + i], c32(i));
  return LLVM::BitcastOp::create(b_, loc_, b_.getI32Type(), vec);
}

// `bytes` of shared memory from absolute byte `at` (16-byte aligned runs), as 32-bit registers
// in order, read with loads of up to 16 bytes.
SmallVector<Value> Lowering::sharedRegisters(Value at, int bytes) {
  Type i32 = b_.getI32Type();
  SmallVector<Value> regs;
  for (int off = 0; off < bytes; off += 16) {
    int n = std::min(16, bytes - off) / 4;
    Value ptr = sharedPtrAt(add(at, c32(off)));
    Value v = LLVM::LoadOp::create(b_, loc_, VectorType::get({n}, i32), ptr, /*alignment=*/n * 4);
    for (int i = 0; i < n; ++i) regs.push_back(LLVM::ExtractElementOp::create(b_, loc_, v, c32(i)));
  }
  sharedReadSinceBarrier_ = true;
  return regs;
}

// acc[BM, BN] += a[BM, BK] @ trans(w)[BK, BN] on mma.sync with w in registers, in the form of
// mmaRegisterOperandParams: thread (g, c) holds rows of w, one per n8 block, and runs of S
// consecutive k. The a tile goes through shared memory as for lowerDot (padded rows, a ring
// or staged), and each thread reads the a rows its fragments need (16 i + g, 16 i + 8 + g)
// over its own k run with ld.shared. A k step of the mma takes 8 bytes of the run: the first
// 4 bytes are the fragment's k 2c, 2c+1 (16-bit; 4c..4c+3 for int8), the next 4 its k 2c+8,
// 2c+9 (16+4c..), in both fragments, so each product pairs the same k of a and w.
void Lowering::lowerRegisterDot(ux::DotOp op) {
  Value w = op.getB().getDefiningOp<ux::TransOp>().getSrc();
  auto accShape = shapeVec(op.getAcc()), aShape = shapeVec(op.getA());
  int64_t BM = accShape[0], BN = accShape[1], BK = aShape[1];
  Layout lc = Layout::blocked(mmaLayouts(BM, BN, BK, facts_.numWarps).acc);
  Type elem = ux::elementType(op.getA().getType());
  int eb = elemBytes(elem);
  int64_t stride = dotOperandTile(op, 0).rowBytes;
  Value aBase = dotOperandsInShared(op).first;

  const Layout& lw = layoutOf(w);
  ThreadElements tw = threadElements(lw, shapeVec(w));
  Elements wv = get(w);
  const int runBytes = lw.params.sizePerThread[1] * eb, perReg = 4 / eb;
  const int64_t kBlocks = BK * eb / (4 * runBytes);
  // Each thread's a rows 16 i + 8 h + g, from byte c * runBytes of every 4 * runBytes k block.
  Value g = arith::ShRUIOp::create(b_, loc_, lane_, c32(2));
  Value cq = arith::AndIOp::create(b_, loc_, lane_, c32(3));
  Value aLane = add(aBase, add(mul(g, stride), mul(cq, runBytes)));
  auto aRun = [&](int64_t row, int64_t kb) { return sharedRegisters(add(aLane, c32(row * stride + kb * 4 * runBytes)), runBytes); };

  Elements out = get(op.getAcc(), lc);
  ThreadElements tc = threadElements(lc, accShape);
  const int mBlocks = int(BM / 16), nBlocks = tw.countPerDim[0];
  for (int64_t kb = 0; kb < kBlocks; ++kb) {
    std::vector<std::array<SmallVector<Value>, 2>> arows(mBlocks);
    for (int i = 0; i < mBlocks; ++i) arows[i] = {aRun(16 * i, kb), aRun(16 * i + 8, kb)};
    for (int s = 0; s < runBytes / 8; ++s) {
      for (int j = 0; j < nBlocks; ++j) {
        int first = tw.flatten({j, int(kb * runBytes / eb + s * 8 / eb)});
        SmallVector<Value> bf{packRegister(wv, first), packRegister(wv, first + perReg)};
        for (int i = 0; i < mBlocks; ++i) {
          SmallVector<Value> af{arows[i][0][2 * s], arows[i][1][2 * s], arows[i][0][2 * s + 1], arows[i][1][2 * s + 1]};
          mmaIntoBlock(elem, af, bf, out, tc, i, j);
        }
      }
    }
  }
  set(op, out);
}

// acc[BM, BN] += a[BM, BK] @ trans(w)[BK, BN] on mma.sync with a in registers, in the form of
// mmaRegisterOperandAParams (a the program computed: dequantized weights, the activations
// being w here). Thread (g, c) holds a rows rep*8*numWarps + 8v + g and runs of S consecutive
// k; reps 2i and 2i + 1 make the A fragment of m16 block i, with the same permuted k order as
// lowerRegisterDot. w goes through shared memory (padded rows, a ring or staged), and every
// warp reads the B fragments of all BN columns: row 8 j + g of w over the thread's k run, one
// n8 block j each. The fragments' registers come whole from the program's values (A) and from
// 16-byte shared loads in fragment order (B), so the mma needs no register moves.
void Lowering::lowerRegisterADot(ux::DotOp op) {
  auto accShape = shapeVec(op.getAcc()), aShape = shapeVec(op.getA());
  int64_t BM = accShape[0], BN = accShape[1], BK = aShape[1];
  Layout lc = Layout::blocked(mmaLayouts(BM, BN, BK, facts_.numWarps).acc);
  Type elem = ux::elementType(op.getA().getType());
  int eb = elemBytes(elem);
  int64_t stride = dotOperandTile(op, 1).rowBytes;
  Value wBase = dotOperandsInShared(op).second;

  const Layout& la = layoutOf(op.getA());
  ThreadElements ta = threadElements(la, aShape);
  Elements av = get(op.getA());
  const int runBytes = la.params.sizePerThread[1] * eb, perReg = 4 / eb;
  const int64_t kBlocks = BK * eb / (4 * runBytes);
  Value g = arith::ShRUIOp::create(b_, loc_, lane_, c32(2));
  Value cq = arith::AndIOp::create(b_, loc_, lane_, c32(3));
  Value wLane = add(wBase, add(mul(g, stride), mul(cq, runBytes)));

  Elements out = get(op.getAcc(), lc);
  ThreadElements tc = threadElements(lc, accShape);
  const int mBlocks = ta.countPerDim[0] / 2, nBlocks = int(BN / 8);
  // An a and an accumulator of equal elements (constants: the sums of x over k that the
  // transposed GEMM takes with a = 1) give every m16 block the same result: block 0's
  // products are computed, and copied to the others.
  const bool sameBlocks = isSplatConstant(op.getA()) && isSplatConstant(op.getAcc());
  for (int64_t kb = 0; kb < kBlocks; ++kb) {
    std::vector<SmallVector<Value>> wrows;
    for (int j = 0; j < nBlocks; ++j)
      wrows.push_back(sharedRegisters(add(wLane, c32(8 * j * stride + kb * 4 * runBytes)), runBytes));
    for (int s = 0; s < runBytes / 8; ++s) {
      for (int i = 0; i < (sameBlocks ? 1 : mBlocks); ++i) {
        int k = int(kb * runBytes / eb + s * 8 / eb);
        int g0 = ta.flatten({2 * i, k}), g8 = ta.flatten({2 * i + 1, k});
        SmallVector<Value> af{packRegister(av, g0), packRegister(av, g8), packRegister(av, g0 + perReg),
                              packRegister(av, g8 + perReg)};
        for (int j = 0; j < nBlocks; ++j) {
          mmaIntoBlock(elem, af, {wrows[j][2 * s], wrows[j][2 * s + 1]}, out, tc, i, j);
        }
      }
    }
  }
  if (sameBlocks)
    for (int i = 1; i < mBlocks; ++i)
      for (int r = 0; r < 2; ++r)
        for (int j = 0; j < tc.countPerDim[1]; ++j) out[tc.flatten({2 * i + r, j})] = out[tc.flatten({r, j})];
  set(op, out);
}

// A tile of one value: a splat of a scalar constant (KernelBuilder::full), or a dense splat.
bool Lowering::isSplatConstant(Value v) {
  if (auto s = v.getDefiningOp<ux::SplatOp>()) return bool(s.getSrc().getDefiningOp<arith::ConstantOp>());
  auto c = v.getDefiningOp<arith::ConstantOp>();
  auto dense = c ? dyn_cast<DenseElementsAttr>(c.getValue()) : DenseElementsAttr();
  return dense && dense.isSplat();
}

}  // namespace uintx::codegen
