// arith casts and constants.

#include "dsl/interpreter/machine.h"

namespace uintx::dsl::interp {

// Integer magnitude to float in `fmt` with one RNE rounding: f32 converts directly; for
// 16-bit formats the value is first made exact in f32 by rounding to odd (sticky bit), which
// keeps the final RNE rounding correct.
float intToFloat(FloatFmt fmt, bool negative, uint64_t mag) {
  float f;
  if (fmt == FloatFmt::f32) {
    f = float(mag);
  } else {
    int len = 64 - __builtin_clzll(mag | 1);
    if (len > 24) {
      int shift = len - 24;
      uint64_t t = mag >> shift;
      if (mag & ((uint64_t(1) << shift) - 1)) t |= 1;
      f = std::ldexp(float(t), shift);
    } else {
      f = float(mag);
    }
    f = roundTo(fmt, f);
  }
  return negative ? -f : f;
}

void Machine::execCast(Operation* op) {
  const std::string name = opName(op);
  mlir::Value in = op->getOperand(0);
  Elem from = elemOf(in.getType(), name), to = elemOf(op->getResult(0).getType(), name);
  const Tile& a = at(in);
  Tile& r = at(op->getResult(0));
  size_t n = size_t(numElements(in.getType()));
  if (auto ext = mlir::dyn_cast<arith::ExtFOp>(op)) {
    r.f = a.f;  // exact: every value of the narrower format is one of the wider
  } else if (auto tr = mlir::dyn_cast<arith::TruncFOp>(op)) {
    if (tr.getRoundingmode() && *tr.getRoundingmode() != arith::RoundingMode::to_nearest_even)
      fail(name, "only round-to-nearest-even truncation is supported");
    r.f.resize(n);
    for (size_t k = 0; k < n; ++k) r.f[k] = roundTo(to.fmt, a.f[k]);
  } else if (mlir::isa<arith::SIToFPOp>(op)) {
    r.f.resize(n);
    for (size_t k = 0; k < n; ++k) {
      int64_t v = from.sext(a.i[k]);
      uint64_t mag = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
      r.f[k] = intToFloat(to.fmt, v < 0, mag);
    }
  } else if (mlir::isa<arith::UIToFPOp>(op)) {
    r.f.resize(n);
    for (size_t k = 0; k < n; ++k) r.f[k] = intToFloat(to.fmt, false, a.i[k]);
  } else if (mlir::isa<arith::FPToSIOp>(op) || mlir::isa<arith::FPToUIOp>(op)) {
    bool isSigned = mlir::isa<arith::FPToSIOp>(op);
    double lo, hi;
    if (isSigned) {
      lo = -std::ldexp(1.0, int(to.width) - 1);
      hi = std::ldexp(1.0, int(to.width) - 1) - 1;
    } else {
      lo = 0;
      hi = std::ldexp(1.0, int(to.width)) - 1;
    }
    r.i.resize(n);
    for (size_t k = 0; k < n; ++k) {
      double v = a.f[k];
      if (std::isnan(v)) { r.i[k] = 0; continue; }
      v = std::trunc(v);
      v = std::min(std::max(v, lo), hi);
      int64_t iv = isSigned ? int64_t(v) : int64_t(uint64_t(v));
      r.i[k] = uint64_t(iv) & to.mask();
    }
  } else if (mlir::isa<arith::ExtSIOp>(op)) {
    r.i.resize(n);
    for (size_t k = 0; k < n; ++k) r.i[k] = uint64_t(from.sext(a.i[k])) & to.mask();
  } else if (mlir::isa<arith::ExtUIOp>(op)) {
    r.i = a.i;
  } else if (mlir::isa<arith::TruncIOp>(op)) {
    r.i.resize(n);
    for (size_t k = 0; k < n; ++k) r.i[k] = a.i[k] & to.mask();
  } else if (mlir::isa<arith::BitcastOp>(op)) {
    auto bitsOf = [&](size_t k) { return from.cls == Elem::kFloat ? floatToBits(from.fmt, a.f[k]) : a.i[k]; };
    if (to.cls == Elem::kFloat) {
      r.f.resize(n);
      for (size_t k = 0; k < n; ++k) r.f[k] = bitsToFloatFmt(to.fmt, bitsOf(k));
    } else {
      r.i.resize(n);
      for (size_t k = 0; k < n; ++k) r.i[k] = bitsOf(k) & to.mask();
    }
  } else {
    fail(name, "unsupported op");
  }
}

void Machine::execConstant(arith::ConstantOp op) {
  const std::string name = "arith.constant";
  Type type = op.getType();
  Elem e = elemOf(type, name);
  Tile& r = at(op.getResult());
  size_t n = size_t(numElements(type));
  mlir::Attribute attr = op.getValue();
  auto fromFloat = [&](const llvm::APFloat& v) {
    return bitsToFloatFmt(e.fmt, v.bitcastToAPInt().getZExtValue());
  };
  auto fromInt = [&](const llvm::APInt& v) { return v.getZExtValue() & e.mask(); };
  if (auto fa = mlir::dyn_cast<mlir::FloatAttr>(attr)) {
    r.f.assign(1, fromFloat(fa.getValue()));
  } else if (auto ia = mlir::dyn_cast<mlir::IntegerAttr>(attr)) {
    r.i.assign(1, fromInt(ia.getValue()));
  } else if (auto dense = mlir::dyn_cast<mlir::DenseElementsAttr>(attr)) {
    if (e.cls == Elem::kFloat) {
      if (dense.isSplat()) r.f.assign(n, fromFloat(dense.getSplatValue<llvm::APFloat>()));
      else {
        r.f.clear();
        for (const llvm::APFloat& v : dense.getValues<llvm::APFloat>()) r.f.push_back(fromFloat(v));
      }
    } else if (e.cls == Elem::kInt) {
      if (dense.isSplat()) r.i.assign(n, fromInt(dense.getSplatValue<llvm::APInt>()));
      else {
        r.i.clear();
        for (const llvm::APInt& v : dense.getValues<llvm::APInt>()) r.i.push_back(fromInt(v));
      }
    } else {
      fail(name, "pointer constants are not supported");
    }
  } else {
    fail(name, "unsupported constant attribute");
  }
}

}  // namespace uintx::dsl::interp
