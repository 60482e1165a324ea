// Shape ops: splat, broadcast, expand_dims, reshape, trans (data reordered, never computed).

#include "dsl/interpreter/machine.h"

namespace uintx::dsl::interp {

// Applies the index map `src(k)` to every lane of whichever vector the type uses.
template <class SrcIndex>
void gather(const Elem& e, const Tile& a, Tile& r, size_t n, SrcIndex src) {
  auto run = [&](auto& rv, const auto& av) {
    rv.resize(n);
    for (size_t k = 0; k < n; ++k) rv[k] = av[src(k)];
  };
  if (e.cls == Elem::kFloat) run(r.f, a.f);
  else if (e.cls == Elem::kInt) run(r.i, a.i);
  else run(r.p, a.p);
}

void Machine::execShape(Operation* op) {
  const std::string name = opName(op);
  Type outType = op->getResult(0).getType();
  Elem e = elemOf(outType, name);
  const Tile& a = at(op->getOperand(0));
  Tile& r = at(op->getResult(0));
  size_t n = size_t(numElements(outType));
  if (mlir::isa<ux::SplatOp>(op)) {
    gather(e, a, r, n, [](size_t) { return size_t(0); });
  } else if (mlir::isa<ux::ExpandDimsOp>(op) || mlir::isa<ux::ReshapeOp>(op)) {
    gather(e, a, r, n, [](size_t k) { return k; });  // row-major order is unchanged
  } else if (mlir::isa<ux::TransOp>(op)) {
    auto s = ux::shapeOf(outType);
    size_t rows = size_t(s[0]), cols = size_t(s[1]);  // output [rows, cols] = input [cols, rows]
    gather(e, a, r, n, [=](size_t k) { return (k % cols) * rows + k / cols; });
  } else if (mlir::isa<ux::BroadcastOp>(op)) {
    auto in = ux::shapeOf(op->getOperand(0).getType());
    auto out = ux::shapeOf(outType);
    size_t rank = out.size();
    // Output strides over the input: 0 where the input dimension is 1.
    llvm::SmallVector<size_t, 4> outDims(out.begin(), out.end()), inStride(rank, 0);
    size_t stride = 1;
    for (size_t d = rank; d-- > 0;) {
      inStride[d] = in[d] == 1 ? 0 : stride;
      stride *= size_t(in[d]);
    }
    gather(e, a, r, n, [&](size_t k) {
      size_t idx = 0;
      for (size_t d = rank; d-- > 0;) {
        idx += (k % outDims[d]) * inStride[d];
        k /= outDims[d];
      }
      return idx;
    });
  } else {
    fail(name, "unsupported op");
  }
}

}  // namespace uintx::dsl::interp
