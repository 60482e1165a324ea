// arith binary ops, comparisons and select, lane by lane.

#include "dsl/interpreter/machine.h"

#include <cmath>
#include <cstring>

namespace uintx::dsl::interp {

void Machine::execBinaryFloat(Operation* op) {
  Elem e = elemOf(op->getResult(0).getType(), opName(op));
  const std::vector<float>& a = at(op->getOperand(0)).f;
  const std::vector<float>* bp = op->getNumOperands() > 1 ? &at(op->getOperand(1)).f : nullptr;
  std::vector<float>& r = at(op->getResult(0)).f;
  size_t n = a.size();
  r.resize(n);
  auto apply = [&](auto f) {
    const std::vector<float>& b = bp ? *bp : a;
    if (e.fmt == FloatFmt::f32)
      for (size_t k = 0; k < n; ++k) r[k] = f(a[k], b[k]);
    else
      for (size_t k = 0; k < n; ++k) r[k] = roundTo(e.fmt, f(a[k], b[k]));
  };
  if (mlir::isa<arith::AddFOp>(op)) apply([](float x, float y) { return x + y; });
  else if (mlir::isa<arith::SubFOp>(op)) apply([](float x, float y) { return x - y; });
  else if (mlir::isa<arith::MulFOp>(op)) apply([](float x, float y) { return x * y; });
  else if (mlir::isa<arith::DivFOp>(op)) apply([](float x, float y) { return x / y; });
  else if (mlir::isa<arith::MaximumFOp>(op)) apply(maximumF);
  else if (mlir::isa<arith::MinimumFOp>(op)) apply(minimumF);
  else if (mlir::isa<arith::NegFOp>(op)) apply([](float x, float) { return -x; });
  else fail(opName(op), "unsupported op");
}

// v rounded to a float by round-to-odd (toward zero, the last bit set when inexact): rounding
// that float again to a format of at most 22 bits gives v rounded once to the format.
static float roundToOddFloat(double v) {
  float t = float(v);
  if (double(t) == v || !std::isfinite(t)) return t;
  if (std::fabs(double(t)) > std::fabs(v)) t = std::nextafter(t, 0.0f);
  uint32_t bits;
  std::memcpy(&bits, &t, 4);
  bits |= 1;
  std::memcpy(&t, &bits, 4);
  return t;
}

// a * b + c rounded once: the product of two floats is exact in double, and for 16-bit
// formats the sum too unless the operands' exponents are far apart (then far below the
// format's precision), so one rounding to the format follows.
void Machine::execFma(Operation* op) {
  Elem e = elemOf(op->getResult(0).getType(), opName(op));
  const std::vector<float>& a = at(op->getOperand(0)).f;
  const std::vector<float>& b = at(op->getOperand(1)).f;
  const std::vector<float>& c = at(op->getOperand(2)).f;
  std::vector<float>& r = at(op->getResult(0)).f;
  r.resize(a.size());
  for (size_t k = 0; k < a.size(); ++k) {
    double v = double(a[k]) * double(b[k]) + double(c[k]);
    r[k] = e.fmt == FloatFmt::f32 ? std::fma(a[k], b[k], c[k]) : roundTo(e.fmt, roundToOddFloat(v));
  }
}

void Machine::execBinaryInt(Operation* op) {
  const std::string name = opName(op);
  Elem e = elemOf(op->getResult(0).getType(), name);
  const std::vector<uint64_t>& a = at(op->getOperand(0)).i;
  const std::vector<uint64_t>& b = at(op->getOperand(1)).i;
  std::vector<uint64_t>& r = at(op->getResult(0)).i;
  size_t n = a.size();
  r.resize(n);
  const uint64_t m = e.mask();
  const unsigned w = e.width;
  auto apply = [&](auto f) {
    for (size_t k = 0; k < n; ++k) r[k] = uint64_t(f(a[k], b[k])) & m;
  };
  auto nonzero = [&](uint64_t y) {
    if (y == 0) fail(name, "integer division by zero");
  };
  // Signed division in 64 bits cannot trap for w < 64; INT64_MIN / -1 wraps by hand.
  auto sdiv = [&](uint64_t x, uint64_t y) -> uint64_t {
    nonzero(y);
    int64_t sx = e.sext(x), sy = e.sext(y);
    if (sy == -1) return uint64_t(0) - uint64_t(sx);
    return uint64_t(sx / sy);
  };
  auto srem = [&](uint64_t x, uint64_t y) -> uint64_t {
    nonzero(y);
    int64_t sx = e.sext(x), sy = e.sext(y);
    if (sy == -1) return 0;
    return uint64_t(sx % sy);
  };
  if (mlir::isa<arith::AddIOp>(op)) apply([](uint64_t x, uint64_t y) { return x + y; });
  else if (mlir::isa<arith::SubIOp>(op)) apply([](uint64_t x, uint64_t y) { return x - y; });
  else if (mlir::isa<arith::MulIOp>(op)) apply([](uint64_t x, uint64_t y) { return x * y; });
  else if (mlir::isa<arith::DivSIOp>(op)) apply(sdiv);
  else if (mlir::isa<arith::RemSIOp>(op)) apply(srem);
  else if (mlir::isa<arith::DivUIOp>(op)) apply([&](uint64_t x, uint64_t y) { nonzero(y); return x / y; });
  else if (mlir::isa<arith::RemUIOp>(op)) apply([&](uint64_t x, uint64_t y) { nonzero(y); return x % y; });
  else if (mlir::isa<arith::AndIOp>(op)) apply([](uint64_t x, uint64_t y) { return x & y; });
  else if (mlir::isa<arith::OrIOp>(op)) apply([](uint64_t x, uint64_t y) { return x | y; });
  else if (mlir::isa<arith::XOrIOp>(op)) apply([](uint64_t x, uint64_t y) { return x ^ y; });
  else if (mlir::isa<arith::ShLIOp>(op))
    apply([w](uint64_t x, uint64_t y) { return y >= w ? uint64_t(0) : x << y; });
  else if (mlir::isa<arith::ShRUIOp>(op))
    apply([w](uint64_t x, uint64_t y) { return y >= w ? uint64_t(0) : x >> y; });
  else if (mlir::isa<arith::ShRSIOp>(op))
    apply([&](uint64_t x, uint64_t y) { return uint64_t(e.sext(x) >> std::min<uint64_t>(y, w - 1)); });
  else if (mlir::isa<arith::MaxSIOp>(op))
    apply([&](uint64_t x, uint64_t y) { return e.sext(x) >= e.sext(y) ? x : y; });
  else if (mlir::isa<arith::MinSIOp>(op))
    apply([&](uint64_t x, uint64_t y) { return e.sext(x) <= e.sext(y) ? x : y; });
  else if (mlir::isa<arith::MaxUIOp>(op)) apply([](uint64_t x, uint64_t y) { return std::max(x, y); });
  else if (mlir::isa<arith::MinUIOp>(op)) apply([](uint64_t x, uint64_t y) { return std::min(x, y); });
  else fail(name, "unsupported op");
}

void Machine::execCmpF(arith::CmpFOp op) {
  const std::vector<float>& a = at(op.getLhs()).f;
  const std::vector<float>& b = at(op.getRhs()).f;
  std::vector<uint64_t>& r = at(op.getResult()).i;
  size_t n = a.size();
  r.resize(n);
  using P = arith::CmpFPredicate;
  P pred = op.getPredicate();
  for (size_t k = 0; k < n; ++k) {
    float x = a[k], y = b[k];
    bool unordered = std::isnan(x) || std::isnan(y);
    bool v;
    switch (pred) {
      case P::AlwaysFalse: v = false; break;
      case P::OEQ: v = !unordered && x == y; break;
      case P::OGT: v = !unordered && x > y; break;
      case P::OGE: v = !unordered && x >= y; break;
      case P::OLT: v = !unordered && x < y; break;
      case P::OLE: v = !unordered && x <= y; break;
      case P::ONE: v = !unordered && x != y; break;
      case P::ORD: v = !unordered; break;
      case P::UEQ: v = unordered || x == y; break;
      case P::UGT: v = unordered || x > y; break;
      case P::UGE: v = unordered || x >= y; break;
      case P::ULT: v = unordered || x < y; break;
      case P::ULE: v = unordered || x <= y; break;
      case P::UNE: v = unordered || x != y; break;
      case P::UNO: v = unordered; break;
      case P::AlwaysTrue: v = true; break;
      default: fail("arith.cmpf", "unknown predicate");
    }
    r[k] = v;
  }
}

void Machine::execCmpI(arith::CmpIOp op) {
  Elem e = elemOf(op.getLhs().getType(), "arith.cmpi");
  const std::vector<uint64_t>& a = at(op.getLhs()).i;
  const std::vector<uint64_t>& b = at(op.getRhs()).i;
  std::vector<uint64_t>& r = at(op.getResult()).i;
  size_t n = a.size();
  r.resize(n);
  using P = arith::CmpIPredicate;
  P pred = op.getPredicate();
  for (size_t k = 0; k < n; ++k) {
    uint64_t x = a[k], y = b[k];
    int64_t sx = e.sext(x), sy = e.sext(y);
    bool v;
    switch (pred) {
      case P::eq: v = x == y; break;
      case P::ne: v = x != y; break;
      case P::slt: v = sx < sy; break;
      case P::sle: v = sx <= sy; break;
      case P::sgt: v = sx > sy; break;
      case P::sge: v = sx >= sy; break;
      case P::ult: v = x < y; break;
      case P::ule: v = x <= y; break;
      case P::ugt: v = x > y; break;
      case P::uge: v = x >= y; break;
      default: fail("arith.cmpi", "unknown predicate");
    }
    r[k] = v;
  }
}

void Machine::execSelect(arith::SelectOp op) {
  Elem e = elemOf(op.getType(), "arith.select");
  const std::vector<uint64_t>& c = at(op.getCondition()).i;
  const Tile& a = at(op.getTrueValue());
  const Tile& b = at(op.getFalseValue());
  Tile& r = at(op.getResult());
  size_t n = size_t(numElements(op.getType()));
  bool scalarCond = c.size() == 1;  // arith.select allows an i1 condition for a whole tile
  auto pick = [&](auto& rv, const auto& av, const auto& bv) {
    rv.resize(n);
    for (size_t k = 0; k < n; ++k) rv[k] = c[scalarCond ? 0 : k] ? av[k] : bv[k];
  };
  if (e.cls == Elem::kFloat) pick(r.f, a.f, b.f);
  else if (e.cls == Elem::kInt) pick(r.i, a.i, b.i);
  else pick(r.p, a.p, b.p);
}

}  // namespace uintx::dsl::interp
