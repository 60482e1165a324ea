// ux.reduce: in-thread folds, warp shuffles, then a step through shared memory across warps.

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

void Lowering::lowerReduce(ux::ReduceOp op) {
  bool isSum = op.getKind() == "sum";
  bool isUnsignedMax = op.getKind() == "maxu";
  Type elem = ux::elementType(op.getSrc().getType());
  bool narrowFloat = elem.isBF16() || elem.isF16();
  bool narrowInt = elem.isInteger() && elem.getIntOrFloatBitWidth() < 32;
  Type acc = narrowFloat ? (Type)b_.getF32Type() : narrowInt ? (Type)b_.getI32Type() : elem;
  auto combine = [&](Value a, Value c) -> Value {
    // contract: a product summed here may fuse into an fma (see lowerElementwise).
    if (isa<FloatType>(acc))
      return isSum ? (Value)arith::AddFOp::create(b_, loc_, a, c, arith::FastMathFlags::contract)
                   : arith::MaximumFOp::create(b_, loc_, a, c);
    if (isSum) return arith::AddIOp::create(b_, loc_, a, c);
    return isUnsignedMax ? (Value)arith::MaxUIOp::create(b_, loc_, a, c) : arith::MaxSIOp::create(b_, loc_, a, c);
  };
  auto widen = [&](Value v) -> Value {
    if (narrowFloat) return arith::ExtFOp::create(b_, loc_, acc, v);
    if (narrowInt && isUnsignedMax) return arith::ExtUIOp::create(b_, loc_, acc, v);
    if (narrowInt) return arith::ExtSIOp::create(b_, loc_, acc, v);
    return v;
  };
  auto narrow = [&](Value v) -> Value {
    if (narrowFloat) return arith::TruncFOp::create(b_, loc_, elem, v);
    if (narrowInt) return arith::TruncIOp::create(b_, loc_, elem, v);
    return v;
  };

  const Layout& l = layoutOf(op.getSrc());
  auto shape = shapeVec(op.getSrc());
  int axis = op.getAxis();
  ThreadElements te = threadElements(l, shape);
  Elements src = get(op.getSrc());
  Layout lo = l.slice(axis);
  std::vector<int64_t> outShape = shape;
  outShape.erase(outShape.begin() + axis);
  ThreadElements to = threadElements(lo, outShape);

  // 1. Within the thread.
  Elements partial;
  for (int k = 0; k < to.count(); ++k) {
    auto oidx = to.split(k);
    Value a;
    for (int j = 0; j < te.countPerDim[axis]; ++j) {
      auto idx = oidx;
      idx.insert(idx.begin() + axis, j);
      Value v = widen(src[te.flatten(idx)]);
      a = a ? combine(a, v) : v;
    }
    partial.push_back(a);
  }
  // 2. Across the lanes that hold distinct positions along the axis.
  const BlockedParams& p = l.params;
  int pd = l.dims[axis];
  int64_t size = shape[axis];
  int laneShift = p.laneShift(pd);
  int64_t lanes = std::clamp<int64_t>(size / p.sizePerThread[pd], 1, p.threadsPerWarp[pd]);
  for (Value& a : partial)
    for (int bit = 0; (int64_t(1) << bit) < lanes; ++bit) {
      auto sh = gpu::ShuffleOp::create(b_, loc_, a, 1 << (laneShift + bit), 32, gpu::ShuffleMode::XOR);
      a = combine(a, sh.getShuffleResult());
    }
  // 3. Across warps, through shared memory.
  int64_t warps = std::clamp<int64_t>(size / (int64_t(p.sizePerThread[pd]) * p.threadsPerWarp[pd]), 1,
                                      p.warpsPerCta[pd]);
  if (warps > 1) {
    int warpShift = p.warpShift(pd);
    int64_t outNumel = 1;
    for (auto d : outShape) outNumel *= d;
    int eb = elemBytes(acc);
    useShared(warps * outNumel * eb, op);
    Value warpC = arith::AndIOp::create(b_, loc_, arith::ShRUIOp::create(b_, loc_, warp_, c32(warpShift)),
                                        c32(p.warpsPerCta[pd] - 1));
    barrier();
    std::vector<Value> lin;
    for (int k = 0; k < to.count(); ++k) {
      lin.push_back(outShape.empty() ? c32(0) : linearIndex(lo, to, k));
      Value slot = add(mul(warpC, outNumel), lin[k]);
      // Warps beyond `warps` hold duplicates and would write out of range: mask them.
      Value inRange = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::ult, warpC, c32(warps));
      auto ifOp = scf::IfOp::create(b_, loc_, inRange, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b_);
      b_.setInsertionPointToStart(ifOp.thenBlock());
      storeShared(mul(slot, eb), partial[k]);
    }
    barrier();
    for (int k = 0; k < to.count(); ++k) {
      Value a;
      for (int w = 0; w < warps; ++w) {
        Value v = loadShared(mul(add(c32(w * outNumel), lin[k]), eb), acc);
        a = a ? combine(a, v) : v;
      }
      partial[k] = a;
    }
  }
  Elements out;
  for (Value a : partial) out.push_back(narrow(a));
  set(op, out);
}

}  // namespace uintx::codegen
