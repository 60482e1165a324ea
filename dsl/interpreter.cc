// Walks the ux/arith/scf ops of a kernel program directly. Every SSA value gets a slot once
// per interpret() call; per op the interpreter looks its operands up once and then runs a
// tight loop over the lanes (no per-element allocation or dispatch on anything but the op).
#include "dsl/interpreter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "dsl/UxDialect.h"
#include "llvm/ADT/DenseMap.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "uintx/error.h"
#include "uintx/half.h"

namespace uintx::dsl {

// ---- arguments ---------------------------------------------------------------------------

KernelArg KernelArg::buffer(void* data, size_t bytes) {
  KernelArg a;
  a.isBuffer = true;
  a.data = data;
  a.bytes = bytes;
  return a;
}
static KernelArg scalarArg(DType t, uint64_t bits) {
  KernelArg a;
  a.dtype = t;
  a.bits = bits;
  return a;
}
KernelArg KernelArg::i32(int32_t v) { return scalarArg(DType::i32, uint32_t(v)); }
KernelArg KernelArg::u32(uint32_t v) { return scalarArg(DType::u32, v); }
KernelArg KernelArg::i8(int8_t v) { return scalarArg(DType::i8, uint8_t(v)); }
KernelArg KernelArg::u8(uint8_t v) { return scalarArg(DType::u8, v); }
KernelArg KernelArg::f32(float v) { return scalarArg(DType::f32, floatBits(v)); }
KernelArg KernelArg::bf16(float v) { return scalarArg(DType::bf16, toBf16(v).bits); }
KernelArg KernelArg::f16(float v) { return scalarArg(DType::f16, toFp16(v).bits); }

namespace {

using mlir::Operation;
using mlir::Type;
namespace arith = mlir::arith;
namespace scf = mlir::scf;

// ---- element types -----------------------------------------------------------------------

enum class FloatFmt { f32, bf16, f16 };

// bf16/f16 values are held as the float they represent (exactly), so that f32 math applies.
inline float roundTo(FloatFmt fmt, float v) {
  switch (fmt) {
    case FloatFmt::f32: return v;
    case FloatFmt::bf16: return toFloat(toBf16(v));
    case FloatFmt::f16: return toFloat(toFp16(v));
  }
  return v;
}

// Bits of a value that is exactly representable in `fmt` (NaN payloads kept).
inline uint64_t floatToBits(FloatFmt fmt, float v) {
  uint32_t u = floatBits(v);
  switch (fmt) {
    case FloatFmt::f32: return u;
    case FloatFmt::bf16: return u >> 16;
    case FloatFmt::f16:
      if (std::isnan(v)) {
        uint32_t man = (u >> 13) & 0x3FF;
        return ((u >> 16) & 0x8000) | 0x7C00 | (man ? man : 0x200);
      }
      return toFp16(v).bits;
  }
  return u;
}

inline float bitsToFloatFmt(FloatFmt fmt, uint64_t b) {
  switch (fmt) {
    case FloatFmt::f32: return bitsToFloat(uint32_t(b));
    case FloatFmt::bf16: return toFloat(bf16{uint16_t(b)});
    case FloatFmt::f16: return toFloat(fp16{uint16_t(b)});
  }
  return 0;
}

// Scalar element classes the interpreter knows: float formats, integers of 1..64 bits
// (held as zero-extended bits), and pointers.
struct Elem {
  enum Class { kFloat, kInt, kPtr } cls = kInt;
  FloatFmt fmt = FloatFmt::f32;
  unsigned width = 0;        // integers
  unsigned pointeeBytes = 0;  // pointers
  uint64_t mask() const { return width >= 64 ? ~uint64_t(0) : (uint64_t(1) << width) - 1; }
  int64_t sext(uint64_t v) const {
    if (width >= 64) return int64_t(v);
    unsigned s = 64 - width;
    return int64_t(v << s) >> s;
  }
  size_t bytes() const { return cls == kFloat ? (fmt == FloatFmt::f32 ? 4 : 2) : (width + 7) / 8; }
};

struct Ptr {
  int32_t buffer;      // index of the kernel parameter
  int64_t byteOffset;  // may be out of range until dereferenced
};

// A value: one of the three vectors is used, chosen by the value's type.
struct Tile {
  std::vector<float> f;
  std::vector<uint64_t> i;
  std::vector<Ptr> p;
};

int64_t numElements(Type t) {
  int64_t n = 1;
  for (int64_t d : ux::shapeOf(t)) n *= d;
  return n;
}

std::string typeText(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

std::string opName(Operation* op) { return op->getName().getStringRef().str(); }

struct Buffer {
  char* data = nullptr;
  size_t bytes = 0;
  std::string param;
};

class Machine {
 public:
  Machine(const KernelProgram& program, mlir::func::FuncOp func, std::vector<Buffer> buffers)
      : program_(program), func_(func), buffers_(std::move(buffers)) {
    // One slot per SSA value, made before running so that references stay valid.
    auto addValue = [&](mlir::Value v) { slots_.try_emplace(v, unsigned(slots_.size())); };
    func_->walk([&](Operation* op) {
      for (mlir::Value r : op->getResults()) addValue(r);
      for (mlir::Region& region : op->getRegions())
        for (mlir::Block& block : region)
          for (mlir::BlockArgument a : block.getArguments()) addValue(a);
    });
    tiles_.resize(slots_.size());
  }

  Tile& at(mlir::Value v) { return tiles_[slots_.find(v)->second]; }

  void runProgram(const int pid[3], const int nprog[3], const std::vector<KernelArg>& args) {
    std::copy(pid, pid + 3, pid_);
    std::copy(nprog, nprog + 3, nprog_);
    mlir::Block& entry = func_.getBody().front();
    for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
      mlir::BlockArgument a = entry.getArgument(i);
      Tile& t = at(a);
      Elem e = elemOf(a.getType(), "func.func");
      if (e.cls == Elem::kPtr) {
        t.p.assign(1, Ptr{int32_t(i), 0});
      } else if (e.cls == Elem::kFloat) {
        t.f.assign(1, bitsToFloatFmt(e.fmt, args[i].bits));
      } else {
        t.i.assign(1, args[i].bits & e.mask());
      }
    }
    runBlock(entry);
  }

 private:
  const KernelProgram& program_;
  mlir::func::FuncOp func_;
  std::vector<Buffer> buffers_;
  llvm::DenseMap<mlir::Value, unsigned> slots_;
  std::vector<Tile> tiles_;
  int pid_[3] = {0, 0, 0}, nprog_[3] = {1, 1, 1};

  [[noreturn]] void fail(const std::string& op, const std::string& message) const {
    throw Error("interpret '" + program_.name + "': " + op + ": " + message);
  }

  Elem elemOf(Type t, const std::string& op) const {
    Type e = ux::elementType(t);
    Elem r;
    if (e.isF32()) {
      r.cls = Elem::kFloat;
      r.fmt = FloatFmt::f32;
    } else if (e.isBF16()) {
      r.cls = Elem::kFloat;
      r.fmt = FloatFmt::bf16;
    } else if (e.isF16()) {
      r.cls = Elem::kFloat;
      r.fmt = FloatFmt::f16;
    } else if (auto it = mlir::dyn_cast<mlir::IntegerType>(e); it && it.getWidth() <= 64) {
      r.cls = Elem::kInt;
      r.width = it.getWidth();
    } else if (auto pt = mlir::dyn_cast<ux::PointerType>(e)) {
      Elem pointee = elemOf(pt.getPointeeType(), op);
      if (pointee.cls == Elem::kPtr) fail(op, "pointers to pointers are not supported");
      r.cls = Elem::kPtr;
      r.pointeeBytes = unsigned(pointee.bytes());
    } else {
      fail(op, "unsupported element type " + typeText(e));
    }
    return r;
  }

  // Runs the ops of a block; returns its terminator (scf.yield / func.return).
  Operation* runBlock(mlir::Block& block) {
    for (Operation& op : block) {
      if (op.hasTrait<mlir::OpTrait::IsTerminator>()) return &op;
      exec(&op);
    }
    fail("block", "missing terminator");
  }

  void exec(Operation* op);
  void execBinaryFloat(Operation* op);
  void execBinaryInt(Operation* op);
  void execCmpF(arith::CmpFOp op);
  void execCmpI(arith::CmpIOp op);
  void execSelect(arith::SelectOp op);
  void execCast(Operation* op);
  void execConstant(arith::ConstantOp op);
  void execShape(Operation* op);
  void execAddPtr(ux::AddPtrOp op);
  void execLoad(ux::LoadOp op);
  void execStore(Operation* op, bool atomic);
  void execReduce(ux::ReduceOp op);
  void execDot(ux::DotOp op);
  void execFor(scf::ForOp op);
  void execIf(scf::IfOp op);

  // Checks that lane `lane` of `op` may touch `bytes` bytes at `p`; returns the address.
  char* address(const std::string& op, const Ptr& p, size_t bytes) {
    const Buffer& b = buffers_[p.buffer];
    if (p.byteOffset < 0 || uint64_t(p.byteOffset) + bytes > b.bytes)
      fail(op, "access to parameter '" + b.param + "' at element offset " +
                   std::to_string(p.byteOffset / int64_t(bytes)) + " is outside its buffer of " +
                   std::to_string(b.bytes / bytes) + " elements");
    return b.data + p.byteOffset;
  }
};

// Copies a whole tile (used for yields and shape-preserving ops).
void copyTile(const Tile& from, Tile& to) {
  to.f = from.f;
  to.i = from.i;
  to.p = from.p;
}

// ---- elementwise -------------------------------------------------------------------------

inline float maximumF(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<float>::quiet_NaN();
  if (a == b) return std::signbit(a) ? b : a;  // +0 over -0
  return a > b ? a : b;
}
inline float minimumF(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<float>::quiet_NaN();
  if (a == b) return std::signbit(a) ? a : b;  // -0 over +0
  return a < b ? a : b;
}

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

// ---- casts -------------------------------------------------------------------------------

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

// ---- shapes ------------------------------------------------------------------------------

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

// ---- memory ------------------------------------------------------------------------------

void Machine::execAddPtr(ux::AddPtrOp op) {
  Elem pe = elemOf(op.getPtr().getType(), "ux.addptr");
  Elem oe = elemOf(op.getOffset().getType(), "ux.addptr");
  const std::vector<Ptr>& p = at(op.getPtr()).p;
  const std::vector<uint64_t>& o = at(op.getOffset()).i;
  std::vector<Ptr>& r = at(op.getResult()).p;
  size_t n = size_t(numElements(op.getType()));
  r.resize(n);
  bool scalarOffset = o.size() == 1;
  for (size_t k = 0; k < n; ++k)
    r[k] = Ptr{p[k].buffer, p[k].byteOffset + oe.sext(o[scalarOffset ? 0 : k]) * int64_t(pe.pointeeBytes)};
}

void Machine::execLoad(ux::LoadOp op) {
  Elem e = elemOf(op.getType(), "ux.load");
  const std::vector<Ptr>& p = at(op.getPtr()).p;
  const std::vector<uint64_t>* mask = op.getMask() ? &at(op.getMask()).i : nullptr;
  const Tile* other = op.getOther() ? &at(op.getOther()) : nullptr;
  Tile& r = at(op.getResult());
  size_t n = p.size(), bytes = e.bytes();
  if (e.cls == Elem::kFloat) {
    r.f.resize(n);
    for (size_t k = 0; k < n; ++k) {
      if (mask && !(*mask)[k]) {
        r.f[k] = other ? other->f[k] : 0.0f;
        continue;
      }
      const char* src = address("ux.load", p[k], bytes);
      uint64_t bits = 0;
      std::memcpy(&bits, src, bytes);  // little-endian host
      r.f[k] = bitsToFloatFmt(e.fmt, bits);
    }
  } else {
    r.i.resize(n);
    for (size_t k = 0; k < n; ++k) {
      if (mask && !(*mask)[k]) {
        r.i[k] = other ? other->i[k] : 0;
        continue;
      }
      const char* src = address("ux.load", p[k], bytes);
      uint64_t bits = 0;
      std::memcpy(&bits, src, bytes);
      r.i[k] = bits & e.mask();
    }
  }
}

void Machine::execStore(Operation* op, bool atomic) {
  const std::string name = atomic ? "ux.atomic_add" : "ux.store";
  mlir::Value ptr = op->getOperand(0), value = op->getOperand(1);
  mlir::Value maskValue = op->getNumOperands() > 2 ? op->getOperand(2) : mlir::Value();
  Elem e = elemOf(value.getType(), name);
  const std::vector<Ptr>& p = at(ptr).p;
  const Tile& v = at(value);
  const std::vector<uint64_t>* mask = maskValue ? &at(maskValue).i : nullptr;
  size_t n = p.size(), bytes = e.bytes();
  for (size_t k = 0; k < n; ++k) {
    if (mask && !(*mask)[k]) continue;
    char* dst = address(name, p[k], bytes);
    uint64_t bits;
    if (!atomic) {
      bits = e.cls == Elem::kFloat ? floatToBits(e.fmt, v.f[k]) : v.i[k];
    } else if (e.cls == Elem::kFloat) {
      if (e.fmt != FloatFmt::f32) fail(name, "only f32 and i32 are supported");
      float old;
      std::memcpy(&old, dst, 4);
      bits = floatBits(old + v.f[k]);
    } else {
      uint64_t old = 0;
      std::memcpy(&old, dst, bytes);
      bits = (old + v.i[k]) & e.mask();
    }
    std::memcpy(dst, &bits, bytes);
  }
}

// ---- reductions and dot ------------------------------------------------------------------

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

// ---- control flow ------------------------------------------------------------------------

void Machine::execFor(scf::ForOp op) {
  Elem ie = elemOf(op.getInductionVar().getType(), "scf.for");
  if (ie.cls != Elem::kInt) fail("scf.for", "induction variable must be an integer");
  bool unsignedCmp = op.getUnsignedCmp();
  auto read = [&](mlir::Value v) { return at(v).i[0]; };
  uint64_t lb = read(op.getLowerBound()), ub = read(op.getUpperBound()), step = read(op.getStep());
  if (ie.sext(step) <= 0) fail("scf.for", "step " + std::to_string(ie.sext(step)) + " must be positive");
  auto less = [&](uint64_t x, uint64_t y) { return unsignedCmp ? x < y : ie.sext(x) < ie.sext(y); };
  auto iterArgs = op.getRegionIterArgs();
  auto inits = op.getInitArgs();
  for (size_t k = 0; k < iterArgs.size(); ++k) copyTile(at(inits[k]), at(iterArgs[k]));
  mlir::Block* body = op.getBody();
  Tile& iv = at(op.getInductionVar());
  std::vector<Tile> next(iterArgs.size());
  for (uint64_t i = lb; less(i, ub);) {
    iv.i.assign(1, i);
    Operation* yield = runBlock(*body);
    // Through temporaries: a yield may permute the iter args (yield %b, %a).
    for (size_t k = 0; k < iterArgs.size(); ++k) copyTile(at(yield->getOperand(k)), next[k]);
    for (size_t k = 0; k < iterArgs.size(); ++k) std::swap(next[k], at(iterArgs[k]));
    uint64_t inext = (i + step) & ie.mask();
    // Stop where the induction variable would wrap around (scf.for does not wrap).
    if (unsignedCmp ? inext < i : ie.sext(inext) < ie.sext(i)) break;
    i = inext;
  }
  for (size_t k = 0; k < iterArgs.size(); ++k) copyTile(at(iterArgs[k]), at(op.getResult(k)));
}

void Machine::execIf(scf::IfOp op) {
  bool cond = at(op.getCondition()).i[0] != 0;
  mlir::Region& region = cond ? op.getThenRegion() : op.getElseRegion();
  if (region.empty()) return;
  Operation* yield = runBlock(region.front());
  for (unsigned k = 0; k < op.getNumResults(); ++k)
    copyTile(at(yield->getOperand(k)), at(op.getResult(k)));
}

void Machine::exec(Operation* op) {
  if (auto c = mlir::dyn_cast<arith::ConstantOp>(op)) return execConstant(c);
  if (mlir::isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp, arith::MaximumFOp,
                arith::MinimumFOp, arith::NegFOp>(op))
    return execBinaryFloat(op);
  if (mlir::isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::DivSIOp, arith::DivUIOp,
                arith::RemSIOp, arith::RemUIOp, arith::AndIOp, arith::OrIOp, arith::XOrIOp,
                arith::ShLIOp, arith::ShRSIOp, arith::ShRUIOp, arith::MaxSIOp, arith::MaxUIOp,
                arith::MinSIOp, arith::MinUIOp>(op))
    return execBinaryInt(op);
  if (auto c = mlir::dyn_cast<arith::CmpFOp>(op)) return execCmpF(c);
  if (auto c = mlir::dyn_cast<arith::CmpIOp>(op)) return execCmpI(c);
  if (auto s = mlir::dyn_cast<arith::SelectOp>(op)) return execSelect(s);
  if (mlir::isa<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp, arith::UIToFPOp,
                arith::FPToSIOp, arith::FPToUIOp, arith::ExtSIOp, arith::ExtUIOp,
                arith::TruncIOp, arith::BitcastOp>(op))
    return execCast(op);
  if (mlir::isa<ux::ProgramIdOp>(op)) {
    int axis = mlir::cast<ux::ProgramIdOp>(op).getAxis();
    at(op->getResult(0)).i.assign(1, uint32_t(pid_[axis]));
    return;
  }
  if (mlir::isa<ux::NumProgramsOp>(op)) {
    int axis = mlir::cast<ux::NumProgramsOp>(op).getAxis();
    at(op->getResult(0)).i.assign(1, uint32_t(nprog_[axis]));
    return;
  }
  if (auto ar = mlir::dyn_cast<ux::ArangeOp>(op)) {
    std::vector<uint64_t>& r = at(ar.getResult()).i;
    int32_t start = ar.getStart(), end = ar.getEnd();
    r.resize(size_t(int64_t(end) - start));
    for (size_t k = 0; k < r.size(); ++k) r[k] = uint32_t(start + int32_t(k));
    return;
  }
  if (mlir::isa<ux::SplatOp, ux::BroadcastOp, ux::ExpandDimsOp, ux::ReshapeOp, ux::TransOp>(op))
    return execShape(op);
  if (auto a = mlir::dyn_cast<ux::AddPtrOp>(op)) return execAddPtr(a);
  if (auto l = mlir::dyn_cast<ux::LoadOp>(op)) return execLoad(l);
  if (mlir::isa<ux::StoreOp>(op)) return execStore(op, false);
  if (mlir::isa<ux::AtomicAddOp>(op)) return execStore(op, true);
  if (auto r = mlir::dyn_cast<ux::ReduceOp>(op)) return execReduce(r);
  if (auto d = mlir::dyn_cast<ux::DotOp>(op)) return execDot(d);
  if (auto u = mlir::dyn_cast<ux::UnpackBitsOp>(op)) {
    const Tile& a = at(u.getWords());
    Tile& r = at(u.getResult());
    size_t n = size_t(numElements(u.getType()));
    unsigned bits = u.getBits(), per = 32 / bits;
    uint64_t mask = (uint64_t(1) << bits) - 1;
    r.i.resize(n);
    for (size_t k = 0; k < n; ++k) r.i[k] = (a.i[k / per] >> ((k % per) * bits)) & mask;
    return;
  }
  if (auto f = mlir::dyn_cast<scf::ForOp>(op)) return execFor(f);
  if (auto i = mlir::dyn_cast<scf::IfOp>(op)) return execIf(i);
  fail(opName(op), "unsupported op");
}

mlir::func::FuncOp kernelFunc(const KernelProgram& program) {
  if (!program.module || !*program.module)
    throw Error("interpret: program '" + program.name + "' has no module");
  mlir::func::FuncOp found;
  for (auto f : program.moduleOp().getOps<mlir::func::FuncOp>())
    if (f->hasAttr("ux.kernel")) {
      if (found) throw Error("interpret '" + program.name + "': more than one ux.kernel function");
      found = f;
    }
  if (!found) throw Error("interpret '" + program.name + "': no function with attribute ux.kernel");
  return found;
}

}  // namespace

void interpret(const KernelProgram& program, Grid grid, const std::vector<KernelArg>& args) {
  mlir::func::FuncOp func = kernelFunc(program);
  const std::string where = "interpret '" + program.name + "': ";
  if (grid.x < 1 || grid.y < 1 || grid.z < 1)
    throw Error(where + "grid (" + std::to_string(grid.x) + ", " + std::to_string(grid.y) + ", " +
                std::to_string(grid.z) + ") must be at least 1 in every dimension");
  mlir::Block& entry = func.getBody().front();
  if (program.params.size() != entry.getNumArguments())
    throw Error(where + "program lists " + std::to_string(program.params.size()) +
                " parameters but its function takes " + std::to_string(entry.getNumArguments()));
  if (args.size() != program.params.size()) {
    std::string names;
    for (const KernelParam& p : program.params) names += (names.empty() ? "" : ", ") + p.name;
    throw Error(where + "got " + std::to_string(args.size()) + " arguments for " +
                std::to_string(program.params.size()) + " parameters (" + names + ")" +
                (args.size() < program.params.size()
                     ? "; missing '" + program.params[args.size()].name + "'"
                     : ""));
  }
  std::vector<Buffer> buffers(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const KernelParam& p = program.params[i];
    const KernelArg& a = args[i];
    std::string kind = std::string(p.isPointer ? "pointer to " : "scalar ") + dtypeName(p.dtype);
    if (p.isPointer != a.isBuffer)
      throw Error(where + "parameter '" + p.name + "' is a " + kind + " but got a " +
                  (a.isBuffer ? "buffer" : std::string("scalar ") + dtypeName(a.dtype)));
    if (!p.isPointer && a.dtype != p.dtype)
      throw Error(where + "parameter '" + p.name + "' is a " + kind + " but got a scalar " +
                  dtypeName(a.dtype));
    if (p.isPointer && !a.data && a.bytes)
      throw Error(where + "parameter '" + p.name + "' got a null buffer of " +
                  std::to_string(a.bytes) + " bytes");
    buffers[i] = Buffer{static_cast<char*>(a.data), a.bytes, p.name};
  }
  Machine machine(program, func, std::move(buffers));
  const int nprog[3] = {grid.x, grid.y, grid.z};
  for (int z = 0; z < grid.z; ++z)
    for (int y = 0; y < grid.y; ++y)
      for (int x = 0; x < grid.x; ++x) {
        const int pid[3] = {x, y, z};
        machine.runProgram(pid, nprog, args);
      }
}

}  // namespace uintx::dsl
