#include "codegen/axis_info.h"

#include <algorithm>
#include <numeric>

#include "dsl/UxDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace uintx::codegen {

using namespace mlir;

static constexpr int64_t kMax = int64_t(1) << 30;

static int64_t pow2Divisor(int64_t v) {
  if (v == 0) return kMax;
  int64_t d = 1;
  while (d < kMax && (v % (d * 2)) == 0) d *= 2;
  return d;
}

static int64_t lastDim(Type t) {
  auto s = ux::shapeOf(t);
  return s.empty() ? kMax : s.back();
}

static int64_t elemBytes(Type t) {
  Type e = ux::elementType(t);
  if (auto p = dyn_cast<ux::PointerType>(e)) e = p.getPointeeType();
  return std::max<int64_t>(1, e.getIntOrFloatBitWidth() / 8);
}

AxisAnalysis::AxisAnalysis(Operation* funcOp) {
  auto func = cast<func::FuncOp>(funcOp);
  for (BlockArgument arg : func.getArguments()) {
    AxisInfo a;
    a.constancy = kMax;
    if (isa<ux::PointerType>(arg.getType())) a.divisibility = kPointerArgAlignment;
    else if (auto attr = func.getArgAttrOfType<IntegerAttr>(arg.getArgNumber(), "ux.divisibility"))
      a.divisibility = attr.getInt();
    else a.divisibility = 1;
    info_[arg] = a;
  }
  func.walk<WalkOrder::PreOrder>([&](Operation* op) { visit(op); });
}

AxisInfo AxisAnalysis::get(Value v) const {
  auto it = info_.find(v);
  if (it != info_.end()) return it->second;
  AxisInfo a;
  if (!isa<RankedTensorType>(v.getType())) a.constancy = kMax;
  return a;
}

void AxisAnalysis::visit(Operation* op) {
  auto in = [&](int i) { return get(op->getOperand(i)); };
  auto set = [&](AxisInfo a) {
    if (op->getNumResults() != 1) return;
    int64_t n = lastDim(op->getResult(0).getType());
    a.contiguity = std::max<int64_t>(1, std::min(a.contiguity, n));
    a.constancy = std::max<int64_t>(1, std::min(a.constancy, n));
    info_[op->getResult(0)] = a;
  };
  AxisInfo r;
  if (auto c = dyn_cast<arith::ConstantOp>(op)) {
    r.constancy = kMax;
    if (auto i = dyn_cast<IntegerAttr>(c.getValue())) r.constant = i.getInt();
    if (auto d = dyn_cast<DenseElementsAttr>(c.getValue()); d && d.isSplat() && d.getElementType().isInteger())
      r.constant = d.getSplatValue<APInt>().getSExtValue();
    if (r.constant) r.divisibility = pow2Divisor(*r.constant);
    set(r);
  } else if (auto a = dyn_cast<ux::ArangeOp>(op)) {
    r.contiguity = kMax;
    r.divisibility = pow2Divisor(a.getStart());
    set(r);
  } else if (isa<ux::SplatOp>(op)) {
    r = in(0);
    r.contiguity = 1;
    r.constancy = kMax;
    set(r);
  } else if (isa<ux::BroadcastOp>(op)) {
    r = in(0);
    if (lastDim(op->getOperand(0).getType()) == 1) {
      r.contiguity = 1;
      r.constancy = kMax;
    }
    set(r);
  } else if (auto e = dyn_cast<ux::ExpandDimsOp>(op)) {
    r = in(0);
    if (int(e.getAxis()) == int(ux::shapeOf(e.getType()).size()) - 1) r.contiguity = r.constancy = 1;
    set(r);
  } else if (isa<ux::AddPtrOp>(op)) {
    AxisInfo p = in(0), o = in(1);
    int64_t eb = elemBytes(op->getOperand(0).getType());
    r.contiguity = std::max(std::gcd(p.constancy, o.contiguity), std::gcd(p.contiguity, o.constancy));
    r.divisibility = std::gcd(p.divisibility, o.divisibility * eb);
    r.constancy = std::gcd(p.constancy, o.constancy);
    set(r);
  } else if (isa<arith::AddIOp>(op)) {
    AxisInfo a = in(0), b = in(1);
    r.contiguity = std::max(std::gcd(a.contiguity, b.constancy), std::gcd(a.constancy, b.contiguity));
    r.divisibility = std::gcd(a.divisibility, b.divisibility);
    r.constancy = std::gcd(a.constancy, b.constancy);
    if (a.constant && b.constant) r.constant = *a.constant + *b.constant;
    set(r);
  } else if (isa<arith::SubIOp>(op)) {
    AxisInfo a = in(0), b = in(1);
    r.contiguity = std::gcd(a.contiguity, b.constancy);
    r.divisibility = std::gcd(a.divisibility, b.divisibility);
    r.constancy = std::gcd(a.constancy, b.constancy);
    if (a.constant && b.constant) r.constant = *a.constant - *b.constant;
    set(r);
  } else if (isa<arith::MulIOp>(op)) {
    AxisInfo a = in(0), b = in(1);
    if (b.constant && *b.constant == 1) r.contiguity = a.contiguity;
    if (a.constant && *a.constant == 1) r.contiguity = b.contiguity;
    r.divisibility = std::min(kMax, a.divisibility * b.divisibility);
    r.constancy = std::gcd(a.constancy, b.constancy);
    if (a.constant && b.constant) r.constant = *a.constant * *b.constant;
    set(r);
  } else if (isa<arith::DivSIOp, arith::DivUIOp, arith::ShRSIOp, arith::ShRUIOp>(op)) {
    AxisInfo a = in(0), b = in(1);
    bool shift = isa<arith::ShRSIOp, arith::ShRUIOp>(op);
    std::optional<int64_t> c = b.constant;
    if (c && shift) c = (*c >= 0 && *c < 31) ? std::optional<int64_t>(int64_t(1) << *c) : std::nullopt;
    r.constancy = std::gcd(a.constancy, b.constancy);
    if (c && *c > 0 && pow2Divisor(*c) == *c) {
      // A run that starts at a multiple of d stays in one quotient for gcd(d, c) elements.
      r.constancy = std::max(r.constancy, std::min(a.contiguity, std::gcd(a.divisibility, *c)));
      r.divisibility = std::max<int64_t>(1, a.divisibility / *c);
      if (*c == 1) r.contiguity = a.contiguity;
    }
    set(r);
  } else if (isa<arith::RemSIOp, arith::RemUIOp>(op)) {
    AxisInfo a = in(0), b = in(1);
    r.constancy = a.constancy;
    if (b.constant && *b.constant > 0 && pow2Divisor(*b.constant) == *b.constant) {
      r.contiguity = std::min(a.contiguity, std::gcd(a.divisibility, *b.constant));
      // Runs start at a multiple of d: remainder 0 when c divides d, else a multiple of d.
      r.divisibility = a.divisibility % *b.constant == 0 ? kMax : a.divisibility;
    }
    set(r);
  } else if (isa<arith::ShLIOp>(op)) {
    AxisInfo a = in(0), b = in(1);
    r.constancy = std::gcd(a.constancy, b.constancy);
    if (b.constant && *b.constant >= 0 && *b.constant < 30)
      r.divisibility = std::min(kMax, a.divisibility << *b.constant);
    set(r);
  } else if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    AxisInfo a = in(0), b = in(1);
    r.constancy = std::gcd(a.constancy, b.constancy);
    // contiguous a against constant b: no run of gcd(div a, div b) elements crosses b.
    if (b.constancy >= lastDim(op->getOperand(0).getType()))
      r.constancy = std::max(r.constancy, std::min(a.contiguity, std::gcd(a.divisibility, b.divisibility)));
    set(r);
  } else if (isa<arith::SelectOp>(op)) {
    // Either operand, element by element: what holds for both, in runs where the choice is one.
    AxisInfo c = in(0), a = in(1), b = in(2);
    r.divisibility = std::gcd(a.divisibility, b.divisibility);
    r.contiguity = std::min({a.contiguity, b.contiguity, c.constancy});
    r.constancy = std::gcd(std::gcd(a.constancy, b.constancy), c.constancy);
    set(r);
  } else if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp, arith::CmpFOp,
                 arith::ExtSIOp, arith::ExtUIOp, arith::TruncIOp, ux::LoadOp>(op)) {
    r.constancy = kMax;
    for (Value v : op->getOperands()) r.constancy = std::gcd(r.constancy, get(v).constancy);
    if (isa<arith::ExtSIOp, arith::ExtUIOp>(op)) r = in(0), r.constant.reset();
    set(r);
  } else if (isa<arith::MinSIOp, arith::MaxSIOp, arith::MinUIOp, arith::MaxUIOp>(op)) {
    AxisInfo a = in(0), b = in(1);
    r.divisibility = std::gcd(a.divisibility, b.divisibility);
    r.constancy = std::gcd(a.constancy, b.constancy);
    set(r);
  } else if (auto loop = dyn_cast<scf::ForOp>(op)) {
    AxisInfo lo = get(loop.getLowerBound()), step = get(loop.getStep());
    AxisInfo iv;
    iv.constancy = kMax;
    iv.divisibility = std::gcd(lo.divisibility, step.divisibility);
    info_[loop.getInductionVar()] = iv;
    // Carried values: only what holds for the initial value and is kept by every iteration
    // would be sound; be conservative and assume nothing.
  }
}

}  // namespace uintx::codegen
