// Per-thread values of tiles: the coordinates a thread owns under a layout, and the lowered
// values of a tile in the layout an op wants (rematerialized or converted when it differs).

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

Value Lowering::threadBase(const BlockedParams& p, int pd) {
  auto key = std::make_pair(p.toString(), pd);
  auto it = baseCache_.find(key);
  if (it != baseCache_.end()) return it->second;
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPoint(entryMarker_);
  int laneShift = p.laneShift(pd), warpShift = p.warpShift(pd);
  auto coordOf = [&](Value id, int shift, int count) -> Value {
    if (count == 1) return c32(0);
    Value s = shift ? (Value)arith::ShRUIOp::create(b_, loc_, id, c32(shift)) : id;
    return arith::AndIOp::create(b_, loc_, s, c32(count - 1));
  };
  Value laneC = coordOf(lane_, laneShift, p.threadsPerWarp[pd]);
  Value warpC = coordOf(warp_, warpShift, p.warpsPerCta[pd]);
  int spt = p.sizePerThread[pd];
  Value base = add(mul(laneC, spt), mul(warpC, int64_t(spt) * p.threadsPerWarp[pd]));
  baseCache_[key] = base;
  return base;
}

// True (i1) in exactly one of the threads that hold the same elements of a tile of `shape`:
// a layout spread over more lanes or warps than the tile has elements along a dimension, or a
// slice that dropped a dimension, gives several threads the same elements. Plain stores may
// repeat a write; an atomic must not. Null when no thread is a duplicate.
Value Lowering::ownsElements(const Layout& l, const std::vector<int64_t>& shape) {
  const BlockedParams& p = l.params;
  Value owns;
  auto require = [&](Value id, int shift, int count, int64_t used) {
    if (used >= count) return;
    Value c = arith::AndIOp::create(b_, loc_, arith::ShRUIOp::create(b_, loc_, id, c32(shift)), c32(count - 1));
    Value ok = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::ult, c, c32(used));
    owns = owns ? (Value)arith::AndIOp::create(b_, loc_, owns, ok) : ok;
  };
  for (int pd = 0; pd < p.rank(); ++pd) {
    auto it = std::find(l.dims.begin(), l.dims.end(), pd);
    int64_t size = it == l.dims.end() ? 1 : shape[it - l.dims.begin()];
    int64_t perThread = std::max<int64_t>(1, (size + p.sizePerThread[pd] - 1) / p.sizePerThread[pd]);
    require(lane_, p.laneShift(pd), p.threadsPerWarp[pd], perThread);
    require(warp_, p.warpShift(pd), p.warpsPerCta[pd], (perThread + p.threadsPerWarp[pd] - 1) / p.threadsPerWarp[pd]);
  }
  return owns;
}

Value Lowering::coordinate(const Layout& l, const ThreadElements& te, const std::vector<int>& idx, int i) {
  Value c = add(threadBase(l.params, l.dims[i]), c32(te.offsetAlong(i, idx[i])));
  if (te.shape[i] < te.coverPerDim[i] || te.shape[i] == 1)
    c = arith::AndIOp::create(b_, loc_, c, c32(te.shape[i] - 1));
  return c;
}

Value Lowering::linearIndex(const Layout& l, const ThreadElements& te, int k) {
  auto idx = te.split(k);
  Value lin = c32(0);
  int64_t stride = 1;
  for (int i = int(te.shape.size()) - 1; i >= 0; --i) {
    lin = add(lin, mul(coordinate(l, te, idx, i), stride));
    stride *= te.shape[i];
  }
  return lin;
}

Elements Lowering::get(Value v) {
  auto it = vals_.find(v);
  if (it == vals_.end()) fail(v.getDefiningOp(), "operand was not lowered");
  return it->second;
}

Elements Lowering::get(Value v, const Layout& want) {
  if (!isa<RankedTensorType>(v.getType())) return get(v);
  const Layout& have = layoutOf(v);
  if (equivalentFor(have, want, shapeVec(v))) return get(v);
  // Values that cost nothing to make are made again in the wanted layout, not moved.
  Operation* def = v.getDefiningOp();
  ThreadElements te = threadElements(want, shapeVec(v));
  if (auto s = dyn_cast_or_null<ux::SplatOp>(def)) return Elements(te.count(), get(s.getSrc())[0]);
  if (auto c = dyn_cast_or_null<arith::ConstantOp>(def))
    if (auto d = dyn_cast<DenseElementsAttr>(c.getValue()); d && d.isSplat())
      return Elements(te.count(), arith::ConstantOp::create(b_, loc_, cast<TypedAttr>(d.getSplatValue<Attribute>())));
  if (auto a = dyn_cast_or_null<ux::ArangeOp>(def)) {
    Elements e;
    for (int k = 0; k < te.count(); ++k) e.push_back(add(coordinate(want, te, te.split(k), 0), c32(a.getStart())));
    return e;
  }
  return convertLayout(get(v), ux::elementType(v.getType()), shapeVec(v), have, want);
}

}  // namespace uintx::codegen
