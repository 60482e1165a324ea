// Walks the ux/arith/math/scf ops of a kernel program directly. Every SSA value gets a slot once
// per interpret() call; per op the interpreter looks its operands up once and then runs a
// tight loop over the lanes (no per-element allocation or dispatch on anything but the op).

#include "dsl/interpreter.h"

#include "dsl/interpreter/machine.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace uintx::dsl {

KernelArg KernelArg::buffer(void* data, size_t bytes) {
  KernelArg a;
  a.isBuffer = true;
  a.data = data;
  a.bytes = bytes;
  return a;
}
KernelArg KernelArg::tensor(void* data, size_t bytes, int64_t rows, int64_t cols, int64_t rowStride) {
  KernelArg a = buffer(data, bytes);
  a.isTensor = true;
  a.rows = rows;
  a.cols = cols;
  a.rowStride = rowStride;
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

namespace interp {

void Machine::exec(Operation* op) {
  if (auto c = mlir::dyn_cast<arith::ConstantOp>(op)) return execConstant(c);
  if (mlir::isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp, arith::MaximumFOp,
                arith::MinimumFOp, arith::NegFOp>(op))
    return execBinaryFloat(op);
  if (mlir::isa<mlir::math::FmaOp>(op)) return execFma(op);
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
  if (auto l = mlir::dyn_cast<ux::LoadBlockOp>(op)) return execLoadBlock(l);
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
    auto field = [&](size_t k) { return (a.i[k / per] >> ((k % per) * bits)) & mask; };
    mlir::Type e = u.getType().getElementType();
    if (e.isBF16() || e.isF16()) {  // magic + u: exact in the format (ux.unpack_bits)
      float magic = e.isBF16() ? 128.0f : 1024.0f;
      r.f.resize(n);
      for (size_t k = 0; k < n; ++k) r.f[k] = magic + float(field(k));
      return;
    }
    r.i.resize(n);
    for (size_t k = 0; k < n; ++k) r.i[k] = field(k);
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

}  // namespace interp

using interp::Buffer;
using interp::Machine;
using interp::kernelFunc;

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
    std::string kind = std::string(p.isTensor() ? "tensor of " : p.isPointer ? "pointer to " : "scalar ") + dtypeName(p.dtype);
    if (p.isTensor() != a.isTensor)
      throw Error(where + "parameter '" + p.name + "' is a " + kind + " but got " +
                  (a.isTensor ? "a tensor" : a.isBuffer ? "a buffer" : std::string("a scalar ") + dtypeName(a.dtype)));
    if (p.isTensor()) {
      const int64_t eb = dtypeBits(p.dtype) / 8;
      if (a.rows < 1 || a.cols < 1 || a.rowStride < a.cols)
        throw Error(where + "tensor '" + p.name + "': " + std::to_string(a.rows) + " x " + std::to_string(a.cols) +
                    " with row stride " + std::to_string(a.rowStride) + " (needs rows, cols >= 1 and stride >= cols)");
      if (!a.data || uint64_t((a.rows - 1) * a.rowStride + a.cols) * eb > a.bytes)
        throw Error(where + "tensor '" + p.name + "' does not fit its buffer of " + std::to_string(a.bytes) + " bytes");
      buffers[i] = Buffer{static_cast<char*>(a.data), a.bytes, p.name, a.rows, a.cols, a.rowStride};
      continue;
    }
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
