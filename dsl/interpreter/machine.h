// The interpreter's machine, shared by the files of dsl/interpreter/: values (Tile), element
// kinds (Elem), kernel buffers, and the Machine that holds one slot per SSA value and
// executes ops, one op family per file:
//   interpret.cc      arguments, op dispatch, the grid loop
//   elementwise.cc    arith binary ops, comparisons, select
//   casts.cc          casts and constants
//   shapes.cc         splat, broadcast, expand_dims, reshape, trans
//   memory.cc         addptr, load, store, atomic_add
//   reduce_and_dot.cc reductions and dot
//   control_flow.cc   scf.for, scf.if
// Internal to dsl: the public entry point is interpreter.h.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "dsl/UxDialect.h"
#include "dsl/interpreter.h"
#include "llvm/ADT/DenseMap.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "uintx/error.h"
#include "uintx/half.h"

namespace uintx::dsl::interp {

using mlir::Operation;
using mlir::Type;
namespace arith = mlir::arith;
namespace scf = mlir::scf;

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

inline int64_t numElements(Type t) {
  int64_t n = 1;
  for (int64_t d : ux::shapeOf(t)) n *= d;
  return n;
}

inline std::string typeText(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

inline std::string opName(Operation* op) { return op->getName().getStringRef().str(); }

struct Buffer {
  char* data = nullptr;
  size_t bytes = 0;
  std::string param;
  int64_t rows = 0, cols = 0, rowStride = 0;  // tensor arguments
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
      if (mlir::isa<ux::TensorDescType>(a.getType())) {
        t.p.assign(1, Ptr{int32_t(i), 0});
        continue;
      }
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
  void execFma(Operation* op);
  void execBinaryInt(Operation* op);
  void execCmpF(arith::CmpFOp op);
  void execCmpI(arith::CmpIOp op);
  void execSelect(arith::SelectOp op);
  void execCast(Operation* op);
  void execConstant(arith::ConstantOp op);
  void execShape(Operation* op);
  void execAddPtr(ux::AddPtrOp op);
  void execLoad(ux::LoadOp op);
  void execLoadBlock(ux::LoadBlockOp op);
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
inline void copyTile(const Tile& from, Tile& to) {
  to.f = from.f;
  to.i = from.i;
  to.p = from.p;
}

// arith.maximumf / minimumf: NaN propagates, and -0 < +0.
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

}  // namespace uintx::dsl::interp
