// Ops that compute each thread's elements from its own elements: constants, arith ops,
// broadcast, expand_dims, unpack_bits.

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

void Lowering::lowerConstant(arith::ConstantOp op) {
  Attribute v = op.getValue();
  if (auto dense = dyn_cast<DenseElementsAttr>(v)) {
    if (!dense.isSplat()) fail(op, "only splat tile constants are supported");
    auto scalar = arith::ConstantOp::create(b_, loc_, cast<TypedAttr>(dense.getSplatValue<Attribute>()));
    ThreadElements te = threadElements(layoutOf(op), shapeVec(op));
    return set(op, Elements(te.count(), scalar));
  }
  set(op, {arith::ConstantOp::create(b_, loc_, cast<TypedAttr>(v))});
}

void Lowering::lowerElementwise(Operation* op) {
  Value result = op->getResult(0);
  bool tile = isa<RankedTensorType>(result.getType());
  std::vector<Elements> operands;
  for (Value v : op->getOperands()) operands.push_back(tile ? get(v, layoutOf(result)) : get(v));
  Type rt = ux::elementType(result.getType());
  size_t n = operands.empty() ? 1 : operands[0].size();
  Elements out;
  for (size_t k = 0; k < n; ++k) {
    OperationState st(loc_, op->getName());
    for (auto& e : operands) st.addOperands(e[k]);
    st.addTypes(rt);
    for (NamedAttribute a : op->getAttrs())
      if (a.getName() != kLayoutAttrName) st.addAttribute(a.getName(), a.getValue());
    Operation* scalar = b_.create(st);
    // Let the backend fuse a multiply feeding an add into one fma: dequantization and
    // multiply-accumulate chains are most of a GEMV's instructions, and fma rounds once.
    if (auto fm = dyn_cast<arith::ArithFastMathInterface>(scalar))
      scalar->setAttr(fm.getFastMathAttrName(), arith::FastMathFlagsAttr::get(ctx_, arith::FastMathFlags::contract));
    out.push_back(scalar->getResult(0));
  }
  set(result, out);
}

void Lowering::lowerBroadcast(ux::BroadcastOp op) {
  const Layout& lo = layoutOf(op);
  auto inShape = shapeVec(op.getSrc()), outShape = shapeVec(op);
  Layout want = lo;  // same params and dims, smaller shape: coordinates agree
  Elements in = get(op.getSrc(), want);
  ThreadElements ti = threadElements(want, inShape), to = threadElements(lo, outShape);
  Elements out;
  for (int k = 0; k < to.count(); ++k) {
    auto idx = to.split(k);
    for (size_t d = 0; d < idx.size(); ++d) idx[d] %= ti.countPerDim[d];
    out.push_back(in[ti.flatten(idx)]);
  }
  set(op, out);
}

void Lowering::lowerExpandDims(ux::ExpandDimsOp op) {
  const Layout& lo = layoutOf(op);
  int axis = op.getAxis();
  Elements in = get(op.getSrc(), lo.slice(axis));
  ThreadElements to = threadElements(lo, shapeVec(op));
  ThreadElements ti = threadElements(lo.slice(axis), shapeVec(op.getSrc()));
  Elements out;
  for (int k = 0; k < to.count(); ++k) {
    auto idx = to.split(k);
    idx.erase(idx.begin() + axis);
    out.push_back(in[ti.flatten(idx)]);
  }
  set(op, out);
}

void Lowering::lowerUnpackBits(ux::UnpackBitsOp op) {
  const Layout& lo = layoutOf(op);
  auto outShape = shapeVec(op), inShape = shapeVec(op.getWords());
  int bits = op.getBits(), per = 32 / bits;
  int last = lo.dims.back();
  int spt = lo.params.sizePerThread[last];
  if (spt % per || outShape.back() < spt)
    fail(op, "each thread must hold whole words: the vector width (" + std::to_string(spt) +
                 ") must be a multiple of 32/bits = " + std::to_string(per) + " and at most the tile's last dimension");
  Layout li = lo;
  li.params.sizePerThread[last] = spt / per;
  Elements words = get(op.getWords(), li);
  ThreadElements to = threadElements(lo, outShape), ti = threadElements(li, inShape);
  Elements out;
  for (int k = 0; k < to.count(); ++k) {
    auto idx = to.split(k);
    int j = idx.back() % per;
    idx.back() /= per;  // run of spt fields <-> run of spt/per words, reps aligned
    Value w = words[ti.flatten(idx)];
    Value v = j ? (Value)arith::ShRUIOp::create(b_, loc_, w, c32(j * bits)) : w;
    if (bits < 32) v = arith::AndIOp::create(b_, loc_, v, c32((int64_t(1) << bits) - 1));
    out.push_back(v);
  }
  set(op, out);
}

}  // namespace uintx::codegen
