#include "dsl/kernel_builder.h"

#include <sstream>

#include "dsl/UxDialect.h"
#include "dsl/builder_internal.h"
#include "dsl/tensor_block.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "uintx/error.h"

namespace uintx::dsl {

using mlir::RankedTensorType;
using mlir::Type;
namespace arith = mlir::arith;

const char* dtypeName(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::i8: return "i8";
    case DType::u8: return "u8";
    case DType::i32: return "i32";
    case DType::u32: return "u32";
    case DType::i1: return "i1";
  }
  return "?";
}

int dtypeBits(DType t) {
  switch (t) {
    case DType::f32: case DType::i32: case DType::u32: return 32;
    case DType::bf16: case DType::f16: return 16;
    case DType::i8: case DType::u8: return 8;
    case DType::i1: return 1;
  }
  return 0;
}

bool isFloat(DType t) { return t == DType::f32 || t == DType::bf16 || t == DType::f16; }
bool isUnsigned(DType t) { return t == DType::u8 || t == DType::u32; }

Type scalarType(mlir::MLIRContext* ctx, DType t) {
  mlir::Builder b(ctx);
  switch (t) {
    case DType::f32: return b.getF32Type();
    case DType::bf16: return b.getBF16Type();
    case DType::f16: return b.getF16Type();
    case DType::i8: case DType::u8: return b.getIntegerType(8);
    case DType::i32: case DType::u32: return b.getIntegerType(32);
    case DType::i1: return b.getI1Type();
  }
  return {};
}

Type withShape(Type element, const std::vector<int64_t>& shape) {
  if (shape.empty()) return element;
  return RankedTensorType::get(shape, element);
}

bool Value::isTile() const { return mlir::isa<RankedTensorType>(v_.getType()); }
bool Value::isTensorDesc() const { return mlir::isa<ux::TensorDescType>(v_.getType()); }

std::vector<int64_t> Value::shape() const {
  auto s = ux::shapeOf(v_.getType());
  return std::vector<int64_t>(s.begin(), s.end());
}

static std::string shapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string Value::typeString() const {
  if (auto desc = mlir::dyn_cast<ux::TensorDescType>(v_.getType()))
    return std::string("tensor of ") + dtypeName(dtype_) + " in blocks of " +
           shapeString(std::vector<int64_t>(desc.getBlockShape().begin(), desc.getBlockShape().end()));
  std::string base = isPointer_ ? std::string("ptr<") + dtypeName(dtype_) + ">" : dtypeName(dtype_);
  return isTile() ? "tile" + shapeString(shape()) + " of " + base : base;
}

std::shared_ptr<mlir::MLIRContext> makeDslContext() {
  auto ctx = std::make_shared<mlir::MLIRContext>();
  ctx->loadDialect<ux::UxDialect, arith::ArithDialect, mlir::math::MathDialect, mlir::scf::SCFDialect,
                   mlir::func::FuncDialect>();
  return ctx;
}

int threadsPerProgram(mlir::Operation* op, int numWarps) {
  const bool specialized = op->walk([](mlir::Operation* o) {
                               return o->hasAttr(kWarpSpecializedAttr) ? mlir::WalkResult::interrupt()
                                                                       : mlir::WalkResult::advance();
                             }).wasInterrupted();
  return numWarps * 32 + (specialized ? 128 : 0);
}

int KernelProgram::numThreads() const { return threadsPerProgram(moduleOp(), numWarps); }

std::string KernelProgram::irText() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  moduleOp().print(os);
  return s;
}

KernelBuilder::KernelBuilder(std::string name, std::shared_ptr<mlir::MLIRContext> ctx)
    : name_(std::move(name)),
      ctx_(ctx ? ctx : makeDslContext()),
      builder_(ctx_.get()),
      loc_(mlir::NameLoc::get(builder_.getStringAttr(name_))) {
  module_ = mlir::ModuleOp::create(loc_);
  builder_.setInsertionPointToEnd(module_->getBody());
  auto func = mlir::func::FuncOp::create(builder_, loc_, name_, builder_.getFunctionType({}, {}));
  func->setAttr("ux.kernel", builder_.getUnitAttr());
  func_ = func;
  builder_.setInsertionPointToStart(func.addEntryBlock());
}

void KernelBuilder::startBody() { bodyStarted_ = true; }

static mlir::func::FuncOp asFunc(mlir::Operation* op) { return mlir::cast<mlir::func::FuncOp>(op); }

KernelBuilder::~KernelBuilder() = default;

void KernelBuilder::fail(const std::string& op, const std::string& message) const {
  throw Error("kernel '" + name_ + "': " + op + ": " + message);
}

Value KernelBuilder::pointerArg(const std::string& name, DType pointee, PointerAccess access) {
  if (bodyStarted_) fail("pointerArg", "parameter '" + name + "' declared after the body began");
  if (pointee == DType::i1) fail("pointerArg", "pointers to i1 are not supported; use u8");
  params_.push_back({name, pointee, true, 16, access});
  divisibility_.push_back(1);
  Type t = ux::PointerType::get(ctx_.get(), scalarType(ctx_.get(), pointee));
  return Value(this, asFunc(func_).getBody().front().addArgument(t, loc_), pointee, true);
}

Value KernelBuilder::tensorArg(const std::string& name, DType dtype, const std::vector<int64_t>& block,
                               PointerAccess access) {
  if (bodyStarted_) fail("tensorArg", "parameter '" + name + "' declared after the body began");
  try {
    (void)tensorBlockForm(dtype, block);
  } catch (const Error& e) {
    fail("tensorArg", "'" + name + "': " + e.what());
  }
  params_.push_back({name, dtype, false, 16, access, block});
  divisibility_.push_back(1);
  Type t = ux::TensorDescType::get(ctx_.get(), scalarType(ctx_.get(), dtype), block);
  return Value(this, asFunc(func_).getBody().front().addArgument(t, loc_), dtype, false);
}

Value KernelBuilder::scalarArg(const std::string& name, DType dtype, int divisibility) {
  if (bodyStarted_) fail("scalarArg", "parameter '" + name + "' declared after the body began");
  if (dtype == DType::i1) fail("scalarArg", "i1 parameters are not supported");
  if (divisibility < 1 || (divisibility & (divisibility - 1)) || (isFloat(dtype) && divisibility != 1))
    fail("scalarArg", "divisibility " + std::to_string(divisibility) + " of '" + name +
                          "' must be a power of two (and 1 for floats)");
  params_.push_back({name, dtype, false, divisibility});
  Type t = scalarType(ctx_.get(), dtype);
  auto func = asFunc(func_);
  mlir::Value arg = func.getBody().front().addArgument(t, loc_);
  divisibility_.push_back(divisibility);
  return Value(this, arg, dtype, false);
}

void KernelBuilder::setNumWarps(int numWarps) {
  if (numWarps < 1 || numWarps > 32 || (numWarps & (numWarps - 1)))
    fail("setNumWarps", "num_warps " + std::to_string(numWarps) + " must be a power of two in [1, 32]");
  numWarps_ = numWarps;
}

}  // namespace uintx::dsl

namespace uintx::dsl {

// ---- helpers -------------------------------------------------------------------------

KernelBuilder* builderOf(std::initializer_list<Value> values) {
  for (const Value& v : values)
    if (v.builder() && v.isTensorDesc())
      v.builder()->fail("kernel DSL", "a tensor descriptor is read only through loadBlock, got " + v.typeString());
  for (const Value& v : values)
    if (v.builder()) return v.builder();
  throw Error("kernel DSL: an operation got only empty values (declare them with a KernelBuilder)");
}

Value makeValue(KernelBuilder* kb, mlir::Value v, DType dtype, bool isPointer) {
  return Value(kb, v, dtype, isPointer);
}

static Type elementTypeOf(const Value& v) { return ux::elementType(v.ir().getType()); }

Value KernelBuilder::constant(double value, DType dtype) {
  startBody();
  Type t = scalarType(ctx_.get(), dtype);
  mlir::TypedAttr attr;
  if (isFloat(dtype))
    attr = builder_.getFloatAttr(t, value);
  else
    attr = builder_.getIntegerAttr(t, int64_t(value));
  return makeValue(this, arith::ConstantOp::create(builder_, loc_, attr), dtype);
}

Value KernelBuilder::full(const std::vector<int64_t>& shape, double value, DType dtype) {
  Value s = constant(value, dtype);
  if (shape.empty()) return s;
  for (int64_t d : shape)
    if (d <= 0 || (d & (d - 1))) fail("full", "tile shape " + shapeString(shape) + " must be powers of two");
  auto t = RankedTensorType::get(shape, s.ir().getType());
  return makeValue(this, ux::SplatOp::create(builder_, loc_, t, s.ir()), dtype);
}

Value KernelBuilder::programId(int axis) {
  startBody();
  if (axis < 0 || axis > 2) fail("programId", "axis " + std::to_string(axis) + " must be 0, 1 or 2");
  return makeValue(this, ux::ProgramIdOp::create(builder_, loc_, builder_.getI32Type(), axis), DType::i32);
}

Value KernelBuilder::numPrograms(int axis) {
  startBody();
  if (axis < 0 || axis > 2) fail("numPrograms", "axis " + std::to_string(axis) + " must be 0, 1 or 2");
  return makeValue(this, ux::NumProgramsOp::create(builder_, loc_, builder_.getI32Type(), axis), DType::i32);
}

Value KernelBuilder::arange(int start, int end) {
  startBody();
  int64_t n = int64_t(end) - start;
  if (n <= 0 || (n & (n - 1)))
    fail("arange", "range [" + std::to_string(start) + ", " + std::to_string(end) +
                       ") must have a positive power-of-two length");
  auto t = RankedTensorType::get({n}, builder_.getI32Type());
  return makeValue(this, ux::ArangeOp::create(builder_, loc_, t, start, end), DType::i32);
}

// Converts a C++ number to a scalar of `like`'s dtype (pointers take i32 offsets).
static Value literal(const Value& like, double v) {
  DType t = like.isPointer() ? DType::i32 : like.dtype();
  if (t == DType::i1) t = DType::i32;
  return like.builder()->constant(v, t);
}

// Broadcast both operands to a common shape (Triton's rules: scalars splat, rank must match
// for tiles, size-1 dimensions stretch).
std::vector<int64_t> commonShape(const std::string& op, const Value& a, const Value& b) {
  auto sa = a.shape(), sb = b.shape();
  if (sa.empty()) return sb;
  if (sb.empty()) return sa;
  if (sa.size() != sb.size())
    a.builder()->fail(op, "cannot broadcast " + a.typeString() + " with " + b.typeString() +
                              ": ranks differ (use expandDims)");
  std::vector<int64_t> out(sa.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    if (sa[i] == sb[i] || sb[i] == 1) out[i] = sa[i];
    else if (sa[i] == 1) out[i] = sb[i];
    else a.builder()->fail(op, "cannot broadcast " + a.typeString() + " with " + b.typeString() +
                                   ": dimension " + std::to_string(i) + " is " +
                                   std::to_string(sa[i]) + " vs " + std::to_string(sb[i]));
  }
  return out;
}

Value broadcastTo(Value v, const std::vector<int64_t>& shape) {
  KernelBuilder* kb = v.builder();
  auto s = v.shape();
  if (s == shape) return v;
  Type elem = elementTypeOf(v);
  auto t = RankedTensorType::get(shape, elem);
  if (s.empty())
    return makeValue(kb, ux::SplatOp::create(kb->ir(), kb->loc(), t, v.ir()), v.dtype(), v.isPointer());
  if (s.size() != shape.size())
    kb->fail("broadcastTo", "cannot broadcast " + v.typeString() + " to " + shapeString(shape) + ": ranks differ");
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != shape[i] && s[i] != 1)
      kb->fail("broadcastTo", "cannot broadcast " + v.typeString() + " to " + shapeString(shape) +
                                  ": dimension " + std::to_string(i) + " is not 1");
  return makeValue(kb, ux::BroadcastOp::create(kb->ir(), kb->loc(), t, v.ir()), v.dtype(), v.isPointer());
}

static void requireSameDType(const std::string& op, const Value& a, const Value& b) {
  if (a.dtype() != b.dtype() || a.isPointer() || b.isPointer())
    a.builder()->fail(op, "type mismatch: " + a.typeString() + " and " + b.typeString() +
                              " (convert one side with cast())");
}

enum class BinKind { add, sub, mul, div, rem, band, bor, bxor, shl, shr, max, min };

static Value binary(const std::string& op, BinKind kind, Value a, Value b) {
  KernelBuilder* kb = builderOf({a, b});
  // Pointer arithmetic: ptr + integer offsets.
  if (a.isPointer() || b.isPointer()) {
    if (kind != BinKind::add || !a.isPointer() || b.isPointer() || isFloat(b.dtype()))
      kb->fail(op, "pointers support only `pointer + integer offset`, got " + a.typeString() +
                       " and " + b.typeString());
    auto shape = commonShape(op, a, b);
    Value p = broadcastTo(a, shape), o = broadcastTo(b, shape);
    return makeValue(kb, ux::AddPtrOp::create(kb->ir(), kb->loc(), p.ir().getType(), p.ir(), o.ir()),
                     a.dtype(), true);
  }
  requireSameDType(op, a, b);
  DType t = a.dtype();
  bool fp = isFloat(t), uns = isUnsigned(t);
  if (fp && (kind == BinKind::band || kind == BinKind::bor || kind == BinKind::bxor ||
             kind == BinKind::shl || kind == BinKind::shr || kind == BinKind::rem))
    kb->fail(op, "bit operations need integer operands, got " + a.typeString());
  if (t == DType::i1 && !(kind == BinKind::band || kind == BinKind::bor || kind == BinKind::bxor))
    kb->fail(op, "booleans support only &, | and ^");
  auto shape = commonShape(op, a, b);
  mlir::Value x = broadcastTo(a, shape).ir(), y = broadcastTo(b, shape).ir();
  auto& B = kb->ir();
  auto L = kb->loc();
  mlir::Value r;
  switch (kind) {
    case BinKind::add: r = fp ? (mlir::Value)arith::AddFOp::create(B, L, x, y) : arith::AddIOp::create(B, L, x, y); break;
    case BinKind::sub: r = fp ? (mlir::Value)arith::SubFOp::create(B, L, x, y) : arith::SubIOp::create(B, L, x, y); break;
    case BinKind::mul: r = fp ? (mlir::Value)arith::MulFOp::create(B, L, x, y) : arith::MulIOp::create(B, L, x, y); break;
    case BinKind::div:
      r = fp ? (mlir::Value)arith::DivFOp::create(B, L, x, y)
             : uns ? (mlir::Value)arith::DivUIOp::create(B, L, x, y) : arith::DivSIOp::create(B, L, x, y);
      break;
    case BinKind::rem: r = uns ? (mlir::Value)arith::RemUIOp::create(B, L, x, y) : arith::RemSIOp::create(B, L, x, y); break;
    case BinKind::band: r = arith::AndIOp::create(B, L, x, y); break;
    case BinKind::bor: r = arith::OrIOp::create(B, L, x, y); break;
    case BinKind::bxor: r = arith::XOrIOp::create(B, L, x, y); break;
    case BinKind::shl: r = arith::ShLIOp::create(B, L, x, y); break;
    case BinKind::shr: r = uns ? (mlir::Value)arith::ShRUIOp::create(B, L, x, y) : arith::ShRSIOp::create(B, L, x, y); break;
    case BinKind::max:
      r = fp ? (mlir::Value)arith::MaximumFOp::create(B, L, x, y)
             : uns ? (mlir::Value)arith::MaxUIOp::create(B, L, x, y) : arith::MaxSIOp::create(B, L, x, y);
      break;
    case BinKind::min:
      r = fp ? (mlir::Value)arith::MinimumFOp::create(B, L, x, y)
             : uns ? (mlir::Value)arith::MinUIOp::create(B, L, x, y) : arith::MinSIOp::create(B, L, x, y);
      break;
  }
  return makeValue(kb, r, t);
}

enum class CmpKind { lt, le, gt, ge, eq, ne };

static Value compare(const std::string& op, CmpKind kind, Value a, Value b) {
  KernelBuilder* kb = builderOf({a, b});
  requireSameDType(op, a, b);
  auto shape = commonShape(op, a, b);
  mlir::Value x = broadcastTo(a, shape).ir(), y = broadcastTo(b, shape).ir();
  auto& B = kb->ir();
  mlir::Value r;
  if (isFloat(a.dtype())) {
    // Ordered comparisons (false on NaN), except != which is true on NaN, as in C++.
    arith::CmpFPredicate p[] = {arith::CmpFPredicate::OLT, arith::CmpFPredicate::OLE,
                                arith::CmpFPredicate::OGT, arith::CmpFPredicate::OGE,
                                arith::CmpFPredicate::OEQ, arith::CmpFPredicate::UNE};
    r = arith::CmpFOp::create(B, kb->loc(), p[int(kind)], x, y);
  } else {
    bool u = isUnsigned(a.dtype());
    arith::CmpIPredicate p[] = {u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt,
                                u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle,
                                u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt,
                                u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge,
                                arith::CmpIPredicate::eq, arith::CmpIPredicate::ne};
    r = arith::CmpIOp::create(B, kb->loc(), p[int(kind)], x, y);
  }
  return makeValue(kb, r, DType::i1);
}

#define UINTX_BIN(OP, NAME, KIND)                                                   \
  Value operator OP(Value a, Value b) { return binary(NAME, BinKind::KIND, a, b); } \
  Value operator OP(Value a, double b) { return a OP literal(a, b); }               \
  Value operator OP(double a, Value b) { return literal(b, a) OP b; }
UINTX_BIN(+, "+", add)
UINTX_BIN(-, "-", sub)
UINTX_BIN(*, "*", mul)
UINTX_BIN(/, "/", div)
UINTX_BIN(%, "%", rem)
UINTX_BIN(&, "&", band)
UINTX_BIN(|, "|", bor)
UINTX_BIN(^, "^", bxor)
UINTX_BIN(<<, "<<", shl)
UINTX_BIN(>>, ">>", shr)
#undef UINTX_BIN

#define UINTX_CMP(OP, NAME, KIND)                                                    \
  Value operator OP(Value a, Value b) { return compare(NAME, CmpKind::KIND, a, b); } \
  Value operator OP(Value a, double b) { return a OP literal(a, b); }                \
  Value operator OP(double a, Value b) { return literal(b, a) OP b; }
UINTX_CMP(<, "<", lt)
UINTX_CMP(<=, "<=", le)
UINTX_CMP(>, ">", gt)
UINTX_CMP(>=, ">=", ge)
UINTX_CMP(==, "==", eq)
UINTX_CMP(!=, "!=", ne)
#undef UINTX_CMP

Value operator-(Value a) { return literal(a, 0) - a; }
Value maximum(Value a, Value b) { return binary("maximum", BinKind::max, a, b); }
Value minimum(Value a, Value b) { return binary("minimum", BinKind::min, a, b); }
Value maximum(Value a, double b) { return maximum(a, literal(a, b)); }
Value minimum(Value a, double b) { return minimum(a, literal(a, b)); }

Value fma(Value a, Value b, Value c) {
  KernelBuilder* kb = builderOf({a, b, c});
  if (!isFloat(a.dtype()) || a.isPointer()) kb->fail("fma", "needs float operands, got " + a.typeString());
  requireSameDType("fma", a, b);
  requireSameDType("fma", a, c);
  auto ab = commonShape("fma", a, b);
  auto shape = commonShape("fma", ab.empty() ? a : broadcastTo(a, ab), c);
  mlir::Value x = broadcastTo(a, shape).ir(), y = broadcastTo(b, shape).ir(), z = broadcastTo(c, shape).ir();
  return makeValue(kb, mlir::math::FmaOp::create(kb->ir(), kb->loc(), x, y, z), a.dtype());
}

Value where(Value cond, Value a, Value b) {
  KernelBuilder* kb = builderOf({cond, a, b});
  if (cond.dtype() != DType::i1 || cond.isPointer())
    kb->fail("where", "condition must be a boolean, got " + cond.typeString());
  requireSameDType("where", a, b);
  auto shape = commonShape("where", cond, a);
  if (!shape.empty()) shape = commonShape("where", broadcastTo(cond, shape), b);
  else shape = commonShape("where", cond, b);
  mlir::Value c = broadcastTo(cond, shape).ir();
  mlir::Value x = broadcastTo(a, shape).ir(), y = broadcastTo(b, shape).ir();
  return makeValue(kb, arith::SelectOp::create(kb->ir(), kb->loc(), c, x, y), a.dtype());
}

Value where(Value cond, Value a, double b) { return where(cond, a, literal(a, b)); }

Value cast(Value v, DType to) {
  KernelBuilder* kb = builderOf({v});
  if (v.isPointer()) kb->fail("cast", "cannot cast a pointer");
  DType from = v.dtype();
  if (from == to) return v;
  Type target = withShape(scalarType(kb->context(), to), v.shape());
  auto& B = kb->ir();
  auto L = kb->loc();
  mlir::Value x = v.ir(), r;
  int fb = dtypeBits(from), tb = dtypeBits(to);
  if (isFloat(from) && isFloat(to)) {
    if (fb == tb) {  // bf16 <-> f16 goes through f32
      return cast(cast(v, DType::f32), to);
    }
    r = fb < tb ? (mlir::Value)arith::ExtFOp::create(B, L, target, x) : arith::TruncFOp::create(B, L, target, x);
  } else if (!isFloat(from) && isFloat(to)) {
    r = (isUnsigned(from) || from == DType::i1) ? (mlir::Value)arith::UIToFPOp::create(B, L, target, x)
                                                : arith::SIToFPOp::create(B, L, target, x);
  } else if (isFloat(from) && !isFloat(to)) {
    if (to == DType::i1) kb->fail("cast", "float to i1: compare with != 0 instead");
    r = isUnsigned(to) ? (mlir::Value)arith::FPToUIOp::create(B, L, target, x) : arith::FPToSIOp::create(B, L, target, x);
  } else if (fb == tb) {
    return makeValue(kb, x, to);  // i8 <-> u8, i32 <-> u32: same bits
  } else if (fb < tb) {
    r = (isUnsigned(from) || from == DType::i1) ? (mlir::Value)arith::ExtUIOp::create(B, L, target, x)
                                                : arith::ExtSIOp::create(B, L, target, x);
  } else {
    r = arith::TruncIOp::create(B, L, target, x);
  }
  return makeValue(kb, r, to);
}

Value bitcast(Value v, DType to) {
  KernelBuilder* kb = builderOf({v});
  if (v.isPointer() || dtypeBits(v.dtype()) != dtypeBits(to))
    kb->fail("bitcast", std::string("needs equal bit widths: ") + v.typeString() + " to " + dtypeName(to));
  if (scalarType(kb->context(), to) == elementTypeOf(v)) return makeValue(kb, v.ir(), to);
  Type target = withShape(scalarType(kb->context(), to), v.shape());
  return makeValue(kb, arith::BitcastOp::create(kb->ir(), kb->loc(), target, v.ir()), to);
}

Value expandDims(Value v, int axis) {
  KernelBuilder* kb = builderOf({v});
  auto s = v.shape();
  if (s.empty()) kb->fail("expandDims", "needs a tile, got " + v.typeString());
  if (axis < 0 || axis > int(s.size()))
    kb->fail("expandDims", "axis " + std::to_string(axis) + " out of range for " + v.typeString());
  s.insert(s.begin() + axis, 1);
  auto t = RankedTensorType::get(s, elementTypeOf(v));
  return makeValue(kb, ux::ExpandDimsOp::create(kb->ir(), kb->loc(), t, v.ir(), axis), v.dtype(), v.isPointer());
}

Value reshape(Value v, const std::vector<int64_t>& shape) {
  KernelBuilder* kb = builderOf({v});
  int64_t a = 1, b = 1;
  for (auto d : v.shape()) a *= d;
  for (auto d : shape) b *= d;
  if (!v.isTile() || a != b)
    kb->fail("reshape", "cannot reshape " + v.typeString() + " to " + shapeString(shape));
  auto t = RankedTensorType::get(shape, elementTypeOf(v));
  return makeValue(kb, ux::ReshapeOp::create(kb->ir(), kb->loc(), t, v.ir()), v.dtype(), v.isPointer());
}

Value trans(Value v) {
  KernelBuilder* kb = builderOf({v});
  auto s = v.shape();
  if (s.size() != 2) kb->fail("trans", "needs a 2-D tile, got " + v.typeString());
  auto t = RankedTensorType::get({s[1], s[0]}, elementTypeOf(v));
  return makeValue(kb, ux::TransOp::create(kb->ir(), kb->loc(), t, v.ir()), v.dtype(), v.isPointer());
}

static Value reduce(const char* kind, Value v, int axis) {
  KernelBuilder* kb = builderOf({v});
  auto s = v.shape();
  if (s.empty() || v.isPointer() || v.dtype() == DType::i1)
    kb->fail(kind, "needs a numeric tile, got " + v.typeString());
  if (axis < 0 || axis >= int(s.size()))
    kb->fail(kind, "axis " + std::to_string(axis) + " out of range for " + v.typeString());
  s.erase(s.begin() + axis);
  Type t = withShape(elementTypeOf(v), s);
  return makeValue(kb, ux::ReduceOp::create(kb->ir(), kb->loc(), t, v.ir(), axis, kind), v.dtype());
}

// The shared checks of both forms; returns the result shape.
static std::vector<int64_t> unpackedShape(KernelBuilder* kb, Value words, int bits) {
  if (!words.isTile() || words.isPointer() || (words.dtype() != DType::u32 && words.dtype() != DType::i32))
    kb->fail("unpackBits", "needs a tile of 32-bit words, got " + words.typeString());
  if (bits != 1 && bits != 2 && bits != 4 && bits != 8 && bits != 16)
    kb->fail("unpackBits", "bits " + std::to_string(bits) + " must be 1, 2, 4, 8 or 16");
  auto s = words.shape();
  s.back() *= 32 / bits;
  return s;
}

Value unpackBits(Value words, int bits) {
  KernelBuilder* kb = builderOf({words});
  auto t = RankedTensorType::get(unpackedShape(kb, words, bits), elementTypeOf(words));
  return makeValue(kb, ux::UnpackBitsOp::create(kb->ir(), kb->loc(), t, words.ir(), bits), DType::u32);
}

double halfMagic(DType as) { return as == DType::bf16 ? 128.0 : 1024.0; }

bool unpacksToHalf(int bits, DType as) {
  int maxBits = as == DType::bf16 ? 4 : as == DType::f16 ? 8 : 0;
  return bits <= maxBits && (bits == 1 || bits == 2 || bits == 4 || bits == 8);
}

Value unpackBits(Value words, int bits, DType as) {
  if (as == DType::u32) return unpackBits(words, bits);
  KernelBuilder* kb = builderOf({words});
  auto shape = unpackedShape(kb, words, bits);
  if (!unpacksToHalf(bits, as))
    kb->fail("unpackBits", std::string("to ") + dtypeName(as) + ": bf16 takes bits 1, 2, 4 and f16 bits 1, 2, 4, 8, got " +
                               std::to_string(bits));
  auto t = RankedTensorType::get(shape, scalarType(kb->context(), as));
  return makeValue(kb, ux::UnpackBitsOp::create(kb->ir(), kb->loc(), t, words.ir(), bits), as);
}

Value sum(Value v, int axis) { return reduce("sum", v, axis); }
Value max(Value v, int axis) { return reduce(isUnsigned(v.dtype()) ? "maxu" : "max", v, axis); }

Value dot(Value a, Value b, Value acc) {
  KernelBuilder* kb = builderOf({a, b, acc});
  auto sa = a.shape(), sb = b.shape(), sc = acc.shape();
  if (sa.size() != 2 || sb.size() != 2 || sc.size() != 2 || sa[1] != sb[0] || sc[0] != sa[0] ||
      sc[1] != sb[1])
    kb->fail("dot", "shapes do not chain: " + a.typeString() + " @ " + b.typeString() + " + " + acc.typeString());
  bool ok = (a.dtype() == b.dtype()) &&
            (((a.dtype() == DType::bf16 || a.dtype() == DType::f16) && acc.dtype() == DType::f32) ||
             (a.dtype() == DType::i8 && acc.dtype() == DType::i32));
  if (!ok) kb->fail("dot", "supports bf16/f16 -> f32 and i8 -> i32, got " + a.typeString() + ", " + b.typeString() + ", " + acc.typeString());
  return makeValue(kb, ux::DotOp::create(kb->ir(), kb->loc(), acc.ir().getType(), a.ir(), b.ir(), acc.ir()), acc.dtype());
}

// ---- control flow ----------------------------------------------------------------------

std::vector<Value> KernelBuilder::forLoop(Value lo, Value hi, Value step, const std::vector<Value>& init,
                                          const LoopBody& body, int stages, bool warpSpecialized) {
  startBody();
  if (stages < 1 || stages > 8) fail("forLoop", "stages " + std::to_string(stages) + " must be in [1, 8]");
  if (warpSpecialized && stages < 2) fail("forLoop", "a warp-specialized loop is pipelined: stages must be 2 or more");
  if (warpSpecialized && builder_.getInsertionBlock()->getParentOp() != func_)
    fail("forLoop", "a warp-specialized loop must be at the top level of the kernel");
  for (const Value* b : {&lo, &hi, &step})
    if (b->isTile() || b->isPointer() || b->dtype() != DType::i32)
      fail("forLoop", "bounds and step must be i32 scalars, got " + b->typeString());
  llvm::SmallVector<mlir::Value> inits;
  for (const Value& v : init) inits.push_back(v.ir());
  auto loop = mlir::scf::ForOp::create(builder_, loc_, lo.ir(), hi.ir(), step.ir(), inits);
  if (stages > 1) loop->setAttr(kNumStagesAttr, builder_.getI32IntegerAttr(stages));
  if (warpSpecialized) loop->setAttr(kWarpSpecializedAttr, builder_.getUnitAttr());
  mlir::OpBuilder::InsertionGuard guard(builder_);
  // Without carried values the op comes with an empty scf.yield; the body writes its own.
  if (!loop.getBody()->empty()) loop.getBody()->back().erase();
  builder_.setInsertionPointToStart(loop.getBody());
  std::vector<Value> carried;
  for (size_t i = 0; i < init.size(); ++i)
    carried.push_back(Value(this, loop.getRegionIterArg(i), init[i].dtype(), init[i].isPointer()));
  std::vector<Value> next = body(Value(this, loop.getInductionVar(), DType::i32, false), carried);
  if (next.size() != init.size())
    fail("forLoop", "body returned " + std::to_string(next.size()) + " values for " +
                        std::to_string(init.size()) + " carried values");
  llvm::SmallVector<mlir::Value> yields;
  for (size_t i = 0; i < next.size(); ++i) {
    if (next[i].ir().getType() != init[i].ir().getType() || next[i].dtype() != init[i].dtype())
      fail("forLoop", "carried value " + std::to_string(i) + " changes type from " +
                          init[i].typeString() + " to " + next[i].typeString());
    yields.push_back(next[i].ir());
  }
  mlir::scf::YieldOp::create(builder_, loc_, yields);
  std::vector<Value> results;
  for (size_t i = 0; i < init.size(); ++i)
    results.push_back(Value(this, loop.getResult(i), init[i].dtype(), init[i].isPointer()));
  return results;
}

std::vector<Value> KernelBuilder::forLoop(int lo, Value hi, int step, const std::vector<Value>& init,
                                          const LoopBody& body, int stages, bool warpSpecialized) {
  return forLoop(constant(lo, DType::i32), hi, constant(step, DType::i32), init, body, stages, warpSpecialized);
}

void KernelBuilder::setVectorWidth(int vec) {
  if (vec < 1 || vec > 128 || (vec & (vec - 1)))
    fail("setVectorWidth", "vector width " + std::to_string(vec) + " must be a power of two in [1, 128]");
  vec_ = vec;
}

KernelProgram KernelBuilder::finish() {
  if (!func_) fail("finish", "already finished");
  auto func = asFunc(func_);
  mlir::func::ReturnOp::create(builder_, loc_);
  llvm::SmallVector<Type> inputs(func.getBody().front().getArgumentTypes());
  func.setFunctionType(builder_.getFunctionType(inputs, {}));
  for (size_t i = 0; i < divisibility_.size(); ++i)
    if (divisibility_[i] > 1) func.setArgAttr(i, "ux.divisibility", builder_.getI32IntegerAttr(divisibility_[i]));
  func->setAttr("ux.num_warps", builder_.getI32IntegerAttr(numWarps_));
  func->setAttr("ux.vec", builder_.getI32IntegerAttr(vec_));
  std::string diagnostics;
  {
    mlir::ScopedDiagnosticHandler handler(ctx_.get(), [&](mlir::Diagnostic& d) {
      diagnostics += d.str() + "\n";
      return mlir::success();
    });
    if (mlir::failed(mlir::verify(*module_))) fail("verify", diagnostics);
  }
  KernelProgram p;
  p.name = name_;
  p.context = ctx_;
  p.module = std::make_shared<mlir::OwningOpRef<mlir::ModuleOp>>(std::move(module_));
  p.params = params_;
  p.numWarps = numWarps_;
  p.vec = vec_;
  p.launchOverlap = launchOverlap_;
  func_ = nullptr;
  return p;
}

}  // namespace uintx::dsl
