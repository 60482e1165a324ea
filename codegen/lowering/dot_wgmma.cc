// ux.dot on wgmma (sm_90a): operands read by the tensor cores through descriptors, or the a
// operand from registers.

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

// acc[BM, BN] += a[BM, BK] @ trans(w)[BK, BN] on wgmma (sm_90a), BM = 16 or 32 * numWarps:
// each warpgroup (4 warps) computes one or two m64 blocks x BN with one wgmma.mma_async per
// block and 32 bytes of k, both operands read from shared memory through descriptors (128-byte
// swizzle, K-major: 1024 bytes between 8-row atoms; a k step's start moves 32 bytes along the
// 128-byte row, and by a whole [rows, 128 B] block every four steps). The accumulator layout
// (wgmmaLayouts) gives thread (warp w, lane) rows rep*8*numWarps + w*8 + g (g = lane / 4) of
// every n8 block, while wgmma computes rows 16 (w % 4) + g and 16 (w % 4) + 8 + g of an m64
// block: the a tile is stored with its rows permuted to match (tileOffset; reps 2b and 2b + 1
// are block b of the warpgroup), so each thread's registers hold its own rows. Two blocks per
// warpgroup halve the w tile (and its dequantization) per multiply-add. An a the program
// computed (dotAInRegisters) is read from its registers instead, each thread's A fragment rows
// being its accumulator rows (wgmmaRegisterOperandParams). The dot waits for its wgmma group
// before returning (for the previous step's, in a chain).
void Lowering::lowerWgmmaDot(ux::DotOp op) {
  auto accShape = shapeVec(op.getAcc()), aShape = shapeVec(op.getA());
  int64_t BN = accShape[1], BK = aShape[1];
  int nw = facts_.numWarps;
  Layout lc = Layout::blocked(wgmmaLayouts(nw).acc);
  Type elem = ux::elementType(op.getA().getType());
  bool isInt = elem.isInteger(8);
  int eb = isInt ? 1 : 2;
  SharedTile ta = dotOperandTile(op, 0), tw = dotOperandTile(op, 1);
  auto [aBase, wBase] = dotOperandsInShared(op);

  Type i64 = b_.getI64Type(), i32 = b_.getI32Type();
  // Descriptor: start address >> 4 in bits 0-13, leading byte offset >> 4 in 16-29 (unused
  // with this swizzle: 1), stride byte offset >> 4 in 32-45, 128-byte swizzle (1) in 62-63.
  auto descriptor = [&](Value byteOffset) -> Value {
    Value addr = arith::ShRUIOp::create(b_, loc_, sharedAddress(byteOffset), c32(4));
    addr = arith::AndIOp::create(b_, loc_, addr, c32(0x3FFF));
    int64_t fixed = (int64_t(1) << 16) | (int64_t(1024 >> 4) << 32) | (int64_t(1) << 62);
    Value wide = arith::ExtUIOp::create(b_, loc_, i64, addr);
    return arith::OrIOp::create(b_, loc_, wide, arith::ConstantOp::create(b_, loc_, b_.getI64IntegerAttr(fixed)));
  };
  // This warpgroup's m64 blocks of a (tileOffset): block b of warpgroup G is tile block
  // b * nw / 4 + G, 8 atoms of 1024 bytes each.
  const int mBlocks = int(aShape[0] / (16 * nw));
  Value group = arith::ShRUIOp::create(b_, loc_, warp_, c32(2));
  auto aBlock = [&](int b) { return add(aBase, mul(add(group, c32(b * nw / 4)), 8 * 1024)); };
  auto kStep = [&](const SharedTile& t, int64_t s) { return (32 * s / 128) * t.rows * 128 + 32 * s % 128; };

  Elements c = get(op.getAcc(), lc);
  ThreadElements tc = threadElements(lc, accShape);
  int nBlocks = int(BN / 8), regs = 4 * nBlocks;
  // The accumulator registers of block b: local rows 2b (g) and 2b + 1 (g + 8) of the layout.
  std::vector<std::vector<int>> slots(mBlocks, std::vector<int>(regs));
  for (int b = 0; b < mBlocks; ++b)
    for (int j = 0; j < nBlocks; ++j) {
      std::vector<int>& slot = slots[b];
      slot[4 * j + 0] = tc.flatten({2 * b, 2 * j}), slot[4 * j + 1] = tc.flatten({2 * b, 2 * j + 1});
      slot[4 * j + 2] = tc.flatten({2 * b + 1, 2 * j}), slot[4 * j + 3] = tc.flatten({2 * b + 1, 2 * j + 1});
    }
  std::string shape = "m64n" + std::to_string(BN) + (isInt ? "k32.s32.s8.s8" : elem.isBF16() ? "k16.f32.bf16.bf16" : "k16.f32.f16.f16");
  // The a operand: a descriptor, or (aRegs) the four registers of the warp's A fragment.
  const bool aRegs = dotAInRegisters(op);
  const int aOps = aRegs ? 4 : 1;
  auto reg = [](int i) { return "$" + std::to_string(i); };
  std::string text = "{ .reg .pred p; setp.ne.b32 p, " + reg(regs + aOps + 1) + ", 0; wgmma.mma_async.sync.aligned." +
                     shape + " {";
  for (int i = 0; i < regs; ++i) text += (i ? ", " : "") + reg(i);
  text += "}, " + (aRegs ? "{" + reg(regs) + ", " + reg(regs + 1) + ", " + reg(regs + 2) + ", " + reg(regs + 3) + "}"
                         : reg(regs));
  text += ", " + reg(regs + aOps) + ", p" + (isInt ? "" : aRegs ? ", 1, 1, 0" : ", 1, 1, 0, 0") + "; }";
  std::string cr = isInt ? "r" : "f", cons;
  for (int i = 0; i < regs; ++i) cons += "=" + cr + ",";
  cons += aRegs ? "r,r,r,r,l,r" : "l,l,r";
  for (int i = 0; i < regs; ++i) cons += "," + std::to_string(i);
  Type accT = isInt ? (Type)i32 : (Type)b_.getF32Type();
  Type resT = LLVM::LLVMStructType::getLiteral(ctx_, SmallVector<Type>(regs, accT));

  Elements out = c;
  // A k step's descriptor is its tile's plus the step's offset >> 4: start addresses of shared
  // memory (< 2^18 bytes) never carry out of their 14 bits.
  auto stepped = [&](Value desc, int64_t offset) {
    return arith::AddIOp::create(b_, loc_, desc, arith::ConstantOp::create(b_, loc_, b_.getI64IntegerAttr(offset >> 4)));
  };
  Value wDesc0 = descriptor(wBase);
  SmallVector<Value> aDesc0;
  if (!aRegs)
    for (int b = 0; b < mBlocks; ++b) aDesc0.push_back(descriptor(aBlock(b)));
  // In registers (wgmmaRegisterOperandParams): thread elements (row rep, k element); block b's
  // rows are reps 2b (g) and 2b + 1 (g + 8), a k16 step s its elements 4s .. 4s + 3 (the pairs
  // 2c, 2c + 1 and 2c + 8, 2c + 9). Fragment registers: (g, low pair), (g + 8, low pair), (g,
  // high pair), (g + 8, high pair).
  Elements av = aRegs ? get(op.getA()) : Elements();
  ThreadElements tA = threadElements(layoutOf(op.getA()), aShape);
  auto aPair = [&](int rep, int e) -> Value {
    Value v = LLVM::UndefOp::create(b_, loc_, VectorType::get({2}, elem));
    for (int i = 0; i < 2; ++i) v = LLVM::InsertElementOp::create(b_, loc_, v, av[tA.flatten({rep, e + i})], c32(i));
    return LLVM::BitcastOp::create(b_, loc_, i32, v);
  };
  // All A fragments are packed before the first wgmma: an instruction defining a wgmma's input
  // register between the wgmmas of one group makes ptxas serialize them.
  const int64_t kSteps = BK * eb / 32;
  std::vector<SmallVector<Value, 4>> aFrags;
  if (aRegs)
    for (int64_t s = 0; s < kSteps; ++s)
      for (int b = 0; b < mBlocks; ++b) {
        int e = int(4 * s);
        aFrags.push_back({aPair(2 * b, e), aPair(2 * b + 1, e), aPair(2 * b, e + 2), aPair(2 * b + 1, e + 2)});
      }
  inlineAsm(b_, loc_, Type(), ValueRange{}, "wgmma.fence.sync.aligned;", "~{memory}");
  for (int64_t s = 0; s < kSteps; ++s) {
    Value wDesc = stepped(wDesc0, kStep(tw, s));
    for (int b = 0; b < mBlocks; ++b) {
      SmallVector<Value> operands;
      if (aRegs) {
        operands.append(aFrags[s * mBlocks + b].begin(), aFrags[s * mBlocks + b].end());
      } else {
        operands = {stepped(aDesc0[b], kStep(ta, s))};
      }
      operands.append({wDesc, c32(1)});
      for (int i = 0; i < regs; ++i) operands.push_back(out[slots[b][i]]);
      Value res = inlineAsm(b_, loc_, resT, operands, text, cons).getResult(0);
      for (int i = 0; i < regs; ++i) out[slots[b][i]] = LLVM::ExtractValueOp::create(b_, loc_, res, ArrayRef<int64_t>{i});
    }
  }
  inlineAsm(b_, loc_, Type(), ValueRange{}, "wgmma.commit_group.sync.aligned;", "~{memory}");
  // In a chain (the accumulators go only to the next step's wgmmas, wgmmaChains), the
  // previous step's group must be done: its ring buffer is refilled at the next step's top,
  // its staging buffer written by the step after. An a operand in registers ends the chain:
  // the next step writes its fragments into the same registers of the loop body, which a
  // wgmma in flight may not have read yet. The step waits for its group at its end
  // (waitBeforeYield_), so that what follows the dot in the step (the next tile's decode)
  // runs under the wgmmas.
  if (aRegs && wgmmaInFlight_) waitBeforeYield_ = true;
  else wgmmaWait(wgmmaInFlight_ ? 1 : 0);
  sharedReadSinceBarrier_ = true;
  set(op, out);
}

// True when every dot in the body runs on wgmma with its operands in rings or staged from
// registers, and each dot's result is only carried to the next step as that same dot's
// accumulator: then the wgmmas of one step can keep running while the next step waits for its
// copies and dequantizes its operands, nothing reads their registers in between. `staged`
// gets the dots that stage an operand, with the bytes they stage: each needs two staging
// buffers (stagingBuffers_).
bool Lowering::wgmmaChains(scf::ForOp loop, const std::vector<std::pair<AsyncLoad, Ring>>& async,
                           std::vector<std::pair<ux::DotOp, int64_t>>& staged) {
  auto inRing = [&](Value v) {
    return llvm::any_of(async, [&](const auto& a) { return a.first.result() == v && a.second.tile.swizzled; });
  };
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  bool any = false;
  for (Operation& o : loop.getBody()->without_terminator()) {
    auto dot = dyn_cast<ux::DotOp>(o);
    if (!dot) continue;
    any = true;
    auto trans = dot.getB().getDefiningOp<ux::TransOp>();
    if (!trans || !dotUsesWgmma(dot)) return false;
    auto acc = shapeVec(dot.getAcc());
    int64_t bytes = (inRing(dot.getA()) || dotAInRegisters(dot) ? 0 : acc[0] * dotOperandTile(dot, 0).rowBytes) +
                    (inRing(trans.getSrc()) ? 0 : acc[1] * dotOperandTile(dot, 1).rowBytes);
    if (bytes) staged.emplace_back(dot, bytes);
    if (!dot.getResult().hasOneUse() || *dot.getResult().getUsers().begin() != yield.getOperation()) return false;
    auto arg = dyn_cast<BlockArgument>(dot.getAcc());
    if (!arg || arg.getOwner() != loop.getBody() || arg.getArgNumber() == 0) return false;
    unsigned carried = arg.getArgNumber() - 1;
    if (yield.getOperand(carried) != dot.getResult() || !arg.hasOneUse()) return false;
  }
  return any;
}

}  // namespace uintx::codegen
