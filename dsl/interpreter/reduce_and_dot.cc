// ux.reduce and ux.dot.

#include "dsl/interpreter/machine.h"

namespace uintx::dsl::interp {

void Machine::execReduce(ux::ReduceOp op) {
  Type inType = op.getSrc().getType();
  Elem e = elemOf(inType, "ux.reduce");
  auto shape = ux::shapeOf(inType);
  size_t axis = size_t(op.getAxis());
  // View the tile as [outer, len, inner] with `len` the reduced dimension.
  size_t outer = 1, inner = 1, len = size_t(shape[axis]);
  for (size_t d = 0; d < axis; ++d) outer *= size_t(shape[d]);
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= size_t(shape[d]);
  bool isSum = op.getKind() == "sum";
  bool isUnsignedMax = op.getKind() == "maxu";
  if (!isSum && !isUnsignedMax && op.getKind() != "max")
    fail("ux.reduce", "unknown kind '" + op.getKind().str() + "'");
  const Tile& a = at(op.getSrc());
  Tile& r = at(op.getResult());
  if (e.cls == Elem::kFloat) {
    r.f.resize(outer * inner);
    for (size_t o = 0; o < outer; ++o)
      for (size_t in = 0; in < inner; ++in) {
        const float* src = a.f.data() + o * len * inner + in;
        float acc = src[0];
        for (size_t k = 1; k < len; ++k)
          acc = isSum ? acc + src[k * inner] : maximumF(acc, src[k * inner]);
        r.f[o * inner + in] = roundTo(e.fmt, acc);
      }
  } else if (e.cls == Elem::kInt) {
    r.i.resize(outer * inner);
    for (size_t o = 0; o < outer; ++o)
      for (size_t in = 0; in < inner; ++in) {
        const uint64_t* src = a.i.data() + o * len * inner + in;
        uint64_t acc = src[0];
        for (size_t k = 1; k < len; ++k) {
          uint64_t x = src[k * inner];
          if (isSum) acc = (acc + x) & e.mask();
          else if (isUnsignedMax) acc = (x & e.mask()) > (acc & e.mask()) ? x : acc;
          else acc = e.sext(x) > e.sext(acc) ? x : acc;
        }
        r.i[o * inner + in] = acc;
      }
  } else {
    fail("ux.reduce", "cannot reduce pointers");
  }
}

void Machine::execDot(ux::DotOp op) {
  auto as = ux::shapeOf(op.getA().getType()), bs = ux::shapeOf(op.getB().getType());
  size_t M = size_t(as[0]), K = size_t(as[1]), N = size_t(bs[1]);
  Elem ea = elemOf(op.getA().getType(), "ux.dot"), ec = elemOf(op.getType(), "ux.dot");
  const Tile& a = at(op.getA());
  const Tile& b = at(op.getB());
  const Tile& acc = at(op.getAcc());
  Tile& r = at(op.getResult());
  if (ea.cls == Elem::kFloat && ec.cls == Elem::kFloat && ec.fmt == FloatFmt::f32) {
    r.f.resize(M * N);
    for (size_t m = 0; m < M; ++m)
      for (size_t nn = 0; nn < N; ++nn) {
        float c = acc.f[m * N + nn];
        for (size_t k = 0; k < K; ++k) c += a.f[m * K + k] * b.f[k * N + nn];
        r.f[m * N + nn] = c;
      }
  } else if (ea.cls == Elem::kInt && ec.cls == Elem::kInt) {
    r.i.resize(M * N);
    for (size_t m = 0; m < M; ++m)
      for (size_t nn = 0; nn < N; ++nn) {
        uint64_t c = acc.i[m * N + nn];
        for (size_t k = 0; k < K; ++k)
          c += uint64_t(ea.sext(a.i[m * K + k]) * ea.sext(b.i[k * N + nn]));
        r.i[m * N + nn] = c & ec.mask();
      }
  } else {
    fail("ux.dot", "unsupported element types");
  }
}

}  // namespace uintx::dsl::interp
