// Dot operands in shared memory: the form each tensor-core path reads (padded rows for
// mma.sync, 128-byte swizzle for wgmma), staging from registers, and which operands a
// dot takes from shared memory at all.

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

Value Lowering::tileOffset(const SharedTile& t, Value row, Value colByte) {
  if (!t.swizzled) return add(mul(row, t.rowBytes), colByte);
  auto shr = [&](Value v, int b) -> Value { return arith::ShRUIOp::create(b_, loc_, v, c32(b)); };
  auto band = [&](Value v, int64_t m) -> Value { return arith::AndIOp::create(b_, loc_, v, c32(m)); };
  if (int nw = t.permutedWarps) {
    // r = rep*8nw + w*8 + g  ->  64 * block + 16 (w % 4) + 8 (rep % 2) + g, where block =
    // (rep / 2) * nw / 4 + w / 4 is the m64 block the warp's warpgroup computes for that rep
    // (16w + 8rep + g when every warpgroup has one block).
    Value w = band(shr(row, 3), nw - 1), rep = shr(row, 3 + log2i(nw));
    Value block = add(mul(shr(rep, 1), nw / 4), shr(w, 2));
    row = add(add(mul(block, 64), mul(band(w, 3), 16)), add(mul(band(rep, 1), 8), band(row, 7)));
  }
  Value r8 = band(row, 7);
  Value chunk = arith::XOrIOp::create(b_, loc_, band(shr(colByte, 4), 7), r8);
  Value block = add(mul(shr(colByte, 7), t.rows * 128), mul(row, 128));  // row = 8 * atom + r8
  return add(block, add(mul(chunk, 16), band(colByte, 15)));
}

bool Lowering::dotUsesWgmma(ux::DotOp dot) {
  auto acc = shapeVec(dot.getAcc()), a = shapeVec(dot.getA());
  return useWgmma(acc[0], acc[1], a[1], facts_.numWarps, elemBytes(ux::elementType(dot.getA().getType())));
}

// The shared-memory form of a dot's operand (0: a, 1: w): mma.sync reads row-major tiles with
// rows padded by 16 bytes (the eight rows of an 8x8 ldmatrix read fall in distinct banks);
// wgmma reads the 128-byte swizzled form (SharedTile).
Lowering::SharedTile Lowering::dotOperandTile(ux::DotOp dot, int operand) {
  auto a = shapeVec(dot.getA());
  SharedTile t;
  t.rows = operand == 0 ? a[0] : shapeVec(dot.getAcc())[1];
  t.rowBytes = a[1] * elemBytes(ux::elementType(dot.getA().getType()));
  if (!dotUsesWgmma(dot)) {
    t.rowBytes += 16;
    return t;
  }
  t.swizzled = true;
  if (operand == 0) t.permutedWarps = facts_.numWarps;
  return t;
}

// Writes a dot operand tile [rows, BK] (in its own layout) into shared memory at absolute
// byte `base`, laid out as `t`; each thread stores its contiguous runs along k with
// vector stores of up to 16 bytes.
void Lowering::stageOperand(Value v, Value base, const SharedTile& t) {
  const Layout& l = layoutOf(v);
  auto shape = shapeVec(v);
  ThreadElements te = threadElements(l, shape);
  Elements e = get(v);
  Type elem = e[0].getType();
  int eb = elemBytes(elem);
  int w = 1;
  while (w * 2 <= te.runPerDim[1] && w * 2 * eb <= 16) w *= 2;
  for (int k = 0; k < te.count(); k += w) {
    auto idx = te.split(k);
    Value row = coordinate(l, te, idx, 0), col = coordinate(l, te, idx, 1);
    Value off = add(base, tileOffset(t, row, mul(col, eb)));
    Value val = e[k];
    if (w > 1) {
      Value vec = LLVM::UndefOp::create(b_, loc_, VectorType::get({w}, elem));
      for (int i = 0; i < w; ++i) vec = LLVM::InsertElementOp::create(b_, loc_, vec, e[k + i], c32(i));
      val = w * eb >= 4 ? (Value)LLVM::BitcastOp::create(b_, loc_, VectorType::get({w * eb / 4}, b_.getI32Type()), vec)
                        : vec;
    }
    LLVM::StoreOp::create(b_, loc_, val, sharedPtrAt(off), /*alignment=*/w * eb);
  }
}

// The absolute byte offsets of a dot's operand tiles in shared memory for this step: the
// ring buffer when the loop pipelines the operand's load (already there: the loop waited and
// synchronized), else staged here, in the scratch area, in the form the dot reads
// (dotOperandTile). A w the dot takes from registers (dotWInRegisters) is left alone.
std::pair<Value, Value> Lowering::dotOperandsInShared(ux::DotOp op) {
  Value a = op.getA(), w = op.getB().getDefiningOp<ux::TransOp>().getSrc();
  SharedTile ta = dotOperandTile(op, 0), tw = dotOperandTile(op, 1);
  auto ringOf = [&](Value v, const SharedTile& want) -> const Ring* {
    auto it = rings_.find(v);
    if (it == rings_.end()) return nullptr;
    const SharedTile& t = it->second.tile;
    if (t.swizzled != want.swizzled || t.rowBytes != want.rowBytes || t.permutedWarps != want.permutedWarps)
      fail(op, "an operand's ring does not have the dot's layout");
    return &it->second;
  };
  const bool wInRegisters = dotWInRegisters(op), aInRegisters = dotAInRegisters(op);
  const Ring *ra = aInRegisters ? nullptr : ringOf(a, ta), *rw = wInRegisters ? nullptr : ringOf(w, tw);
  int64_t aBytes = ra || aInRegisters ? 0 : shapeVec(op.getAcc())[0] * ta.rowBytes;
  int64_t wBytes = rw || wInRegisters ? 0 : shapeVec(op.getAcc())[1] * tw.rowBytes;
  // w staged alone by a dot before (the transposed GEMM's products and sums of one activation
  // tile) and not overwritten since: read there, with no second staging and barrier.
  if (aBytes == 0 && wBytes && stagedW_.w == w && stagedW_.rowBytes == tw.rowBytes) return {c32(0), stagedW_.base};
  // Staged in the scratch area, or in this step's buffer of a wgmma chain (stagingBuffers_):
  // that one's last readers, two steps back, finished before the loop's barrier of this step.
  Value base = c32(scratchBase_);
  if (aBytes + wBytes) {
    auto buffers = stagingBuffers_.find(op.getOperation());
    if (buffers != stagingBuffers_.end()) {
      if (buffers->second.second < aBytes + wBytes) fail(op, "staging buffer too small");
      base = add(c32(buffers->second.first), mul(stagingParity_, buffers->second.second));
    } else {
      useShared(aBytes + wBytes, op);
      // The previous readers of this memory (an earlier step's dot) must be done.
      if (sharedReadSinceBarrier_) barrier();
    }
    if (!ra && !aInRegisters) stageOperand(a, base, ta);
    if (!rw && !wInRegisters) stageOperand(w, add(base, c32(aBytes)), tw);
    if (ta.swizzled) proxyFence();  // generic-proxy stores, read by wgmma through the async proxy
    barrier();
    if (aBytes == 0 && buffers == stagingBuffers_.end()) stagedW_ = {w, base, tw.rowBytes};
  }
  return {ra ? ra->readOffset : base, rw ? rw->readOffset : add(base, c32(aBytes))};
}

// True when the dot's w operand has the register form of mmaRegisterOperandParams (the layout
// pass gave it that layout) and a is not in registers: lowerRegisterDot then takes the B
// fragments from registers.
bool Lowering::dotWInRegisters(ux::DotOp dot) {
  auto trans = dot.getB().getDefiningOp<ux::TransOp>();
  if (!trans || dotUsesWgmma(dot) || dotAInRegisters(dot)) return false;
  auto acc = shapeVec(dot.getAcc()), a = shapeVec(dot.getA());
  auto p = mmaRegisterOperandParams(acc[0], acc[1], a[1], facts_.numWarps,
                                    elemBytes(ux::elementType(dot.getA().getType())), options_.vec);
  return p && layoutOf(trans.getSrc()) == Layout::blocked(*p);
}

// True when the dot's a operand is one the program computed (not a load) and has the register
// form of wgmmaRegisterOperandParams (wgmma) or mmaRegisterOperandAParams (mma.sync), which the
// layout pass gives it: lowerWgmmaDot or lowerRegisterADot then take the A fragments from
// registers.
bool Lowering::dotAInRegisters(ux::DotOp dot) {
  if (dot.getA().getDefiningOp<ux::LoadOp>() || dot.getA().getDefiningOp<ux::LoadBlockOp>()) return false;
  auto acc = shapeVec(dot.getAcc()), a = shapeVec(dot.getA());
  int eb = elemBytes(ux::elementType(dot.getA().getType()));
  auto p = dotUsesWgmma(dot) ? wgmmaRegisterOperandParams(acc[0], acc[1], a[1], facts_.numWarps, eb)
                             : mmaRegisterOperandAParams(acc[0], acc[1], a[1], facts_.numWarps, eb, options_.vec);
  return p && layoutOf(dot.getA()) == Layout::blocked(*p);
}

// True when every use of `v` is as a dot operand (a, or w under trans(w) as b) read from
// shared memory by the dot itself: such a tile never needs registers. (A w the dot takes
// from registers, dotWInRegisters, does.)
bool Lowering::feedsOnlyDots(Value v) {
  auto isDotB = [&](Operation* t) {
    return isa<ux::TransOp>(t) && !t->use_empty() && llvm::all_of(t->getUses(), [&](OpOperand& u) {
      auto d = dyn_cast<ux::DotOp>(u.getOwner());
      return d && u.getOperandNumber() == 1 && !dotWInRegisters(d);
    });
  };
  auto isDotA = [&](OpOperand& u) {
    auto d = dyn_cast<ux::DotOp>(u.getOwner());
    return d && u.getOperandNumber() == 0 && !dotAInRegisters(d);
  };
  return !v.use_empty() && llvm::all_of(v.getUses(), [&](OpOperand& u) { return isDotA(u) || isDotB(u.getOwner()); });
}

// The first dot that reads `v` from shared memory, and as which operand (0: a, 1: w under trans).
std::optional<std::pair<ux::DotOp, int>> Lowering::dotUseOf(Value v) {
  for (OpOperand& u : v.getUses()) {
    if (auto d = dyn_cast<ux::DotOp>(u.getOwner()); d && u.getOperandNumber() == 0 && !dotAInRegisters(d))
      return std::make_pair(d, 0);
    if (isa<ux::TransOp>(u.getOwner()))
      for (OpOperand& t : u.getOwner()->getUses())
        if (auto d = dyn_cast<ux::DotOp>(t.getOwner()); d && t.getOperandNumber() == 1 && !dotWInRegisters(d))
          return std::make_pair(d, 1);
  }
  return std::nullopt;
}

}  // namespace uintx::codegen
