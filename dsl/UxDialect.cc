#include "dsl/UxDialect.h"

#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;

#include "dsl/UxDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dsl/UxTypes.cpp.inc"

#define GET_OP_CLASSES
#include "dsl/UxOps.cpp.inc"

namespace uintx::ux {

void UxDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dsl/UxTypes.cpp.inc"
      >();
  registerLayoutAttributes();
  addOperations<
#define GET_OP_LIST
#include "dsl/UxOps.cpp.inc"
      >();
}

Type elementType(Type t) {
  if (auto tensor = dyn_cast<RankedTensorType>(t)) return tensor.getElementType();
  return t;
}

ArrayRef<int64_t> shapeOf(Type t) {
  if (auto tensor = dyn_cast<RankedTensorType>(t)) return tensor.getShape();
  return {};
}

static bool isPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

// Tiles are static and power-of-two sized in every dimension: the layouts that spread a
// tile over threads rely on it (Triton has the same rule).
static LogicalResult verifyTileShape(Operation* op, Type t) {
  for (int64_t d : shapeOf(t))
    if (!isPowerOfTwo(d))
      return op->emitOpError() << "tile dimension " << d << " is not a power of two";
  return success();
}

LogicalResult ArangeOp::verify() {
  int64_t n = int64_t(getEnd()) - int64_t(getStart());
  if (n <= 0 || !isPowerOfTwo(n))
    return emitOpError() << "range [" << getStart() << ", " << getEnd()
                         << ") must have a positive power-of-two length";
  auto shape = shapeOf(getType());
  if (shape.size() != 1 || shape[0] != n)
    return emitOpError() << "result must be tensor<" << n << "xi32>";
  return success();
}

LogicalResult SplatOp::verify() {
  if (isa<RankedTensorType>(getSrc().getType())) return emitOpError("source must be a scalar");
  if (getType().getElementType() != getSrc().getType())
    return emitOpError("result element type must equal the scalar type");
  return verifyTileShape(*this, getType());
}

LogicalResult BroadcastOp::verify() {
  auto in = getSrc().getType().getShape();
  auto out = getType().getShape();
  if (in.size() != out.size()) return emitOpError("broadcast keeps the rank");
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] != out[i] && in[i] != 1)
      return emitOpError() << "cannot broadcast dimension " << i << " from " << in[i] << " to "
                           << out[i];
  if (getSrc().getType().getElementType() != getType().getElementType())
    return emitOpError("broadcast keeps the element type");
  return success();
}

LogicalResult ExpandDimsOp::verify() {
  auto in = getSrc().getType().getShape();
  auto out = getType().getShape();
  int axis = getAxis();
  if (axis < 0 || axis > int(in.size())) return emitOpError() << "axis " << axis << " out of range";
  if (out.size() != in.size() + 1 || out[axis] != 1)
    return emitOpError("result must insert a dimension of size 1 at axis");
  for (int i = 0, j = 0; i < int(out.size()); ++i) {
    if (i == axis) continue;
    if (out[i] != in[j++]) return emitOpError("other dimensions must be kept");
  }
  return success();
}

LogicalResult ReshapeOp::verify() {
  if (getSrc().getType().getNumElements() != getType().getNumElements())
    return emitOpError("reshape must keep the number of elements");
  if (getSrc().getType().getElementType() != getType().getElementType())
    return emitOpError("reshape keeps the element type");
  return verifyTileShape(*this, getType());
}

LogicalResult TransOp::verify() {
  auto in = getSrc().getType().getShape();
  auto out = getType().getShape();
  if (in.size() != 2 || out.size() != 2 || in[0] != out[1] || in[1] != out[0])
    return emitOpError("trans takes a 2-D tile [a, b] to [b, a]");
  return success();
}

LogicalResult AddPtrOp::verify() {
  Type p = getPtr().getType(), o = getOffset().getType(), r = getType();
  if (p != r) return emitOpError("result type must equal the pointer type");
  if (isa<RankedTensorType>(o) && shapeOf(o) != shapeOf(p))
    return emitOpError("offset tile must have the shape of the pointer tile");
  return success();
}

// Shared checks of load/store/atomic: value shape and pointee, and mask shape.
static LogicalResult verifyAccess(Operation* op, Type ptrType, Type valueType, Value mask) {
  auto pointee = cast<PointerType>(elementType(ptrType)).getPointeeType();
  if (elementType(valueType) != pointee)
    return op->emitOpError() << "value element type " << elementType(valueType)
                             << " does not match the pointer's element type " << pointee;
  if (shapeOf(valueType) != shapeOf(ptrType))
    return op->emitOpError("value and pointer must have the same shape");
  if (mask && shapeOf(mask.getType()) != shapeOf(ptrType))
    return op->emitOpError("mask must have the shape of the pointer");
  return success();
}

LogicalResult LoadOp::verify() {
  if (failed(verifyAccess(*this, getPtr().getType(), getType(), getMask()))) return failure();
  if (getOther() && getOther().getType() != getType())
    return emitOpError("`other` must have the result type");
  if (getOther() && !getMask()) return emitOpError("`other` needs a mask");
  return success();
}

LogicalResult LoadBlockOp::verify() {
  auto desc = getDesc().getType();
  if (desc.getBlockShape().size() != 2) return emitOpError("tensor descriptors are 2-D");
  if (getType().getShape() != desc.getBlockShape() || getType().getElementType() != desc.getElementType())
    return emitOpError() << "result must be the descriptor's block, "
                         << RankedTensorType::get(desc.getBlockShape(), desc.getElementType());
  return verifyTileShape(*this, getType());
}

LogicalResult StoreOp::verify() {
  return verifyAccess(*this, getPtr().getType(), getValue().getType(), getMask());
}

LogicalResult AtomicAddOp::verify() {
  if (failed(verifyAccess(*this, getPtr().getType(), getValue().getType(), getMask())))
    return failure();
  Type e = elementType(getValue().getType());
  if (!e.isF32() && !e.isInteger(32))
    return emitOpError() << "atomic_add supports f32 and i32, not " << e;
  return success();
}

LogicalResult ReduceOp::verify() {
  auto in = getSrc().getType();
  int axis = getAxis();
  if (axis < 0 || axis >= in.getRank()) return emitOpError() << "axis " << axis << " out of range";
  if (getKind() != "sum" && getKind() != "max" && getKind() != "maxu")
    return emitOpError() << "unknown reduction '" << getKind() << "' (sum, max or maxu)";
  SmallVector<int64_t> shape;
  for (int i = 0; i < in.getRank(); ++i)
    if (i != axis) shape.push_back(in.getShape()[i]);
  Type expected = shape.empty() ? in.getElementType()
                                : Type(RankedTensorType::get(shape, in.getElementType()));
  if (getType() != expected) return emitOpError() << "result must be " << expected;
  return success();
}

LogicalResult UnpackBitsOp::verify() {
  int bits = getBits();
  if (bits != 1 && bits != 2 && bits != 4 && bits != 8 && bits != 16)
    return emitOpError() << "bits " << bits << " must be 1, 2, 4, 8 or 16";
  Type e = getType().getElementType();
  if (e.isBF16() && bits > 4) return emitOpError() << "a bf16 result takes 1, 2 or 4 bits, got " << bits;
  if (e.isF16() && bits > 8) return emitOpError() << "an f16 result takes 1, 2, 4 or 8 bits, got " << bits;
  auto in = getWords().getType().getShape();
  auto out = getType().getShape();
  if (in.size() != out.size() || out.back() != in.back() * (32 / bits))
    return emitOpError() << "result's last dimension must be " << in.back() * (32 / bits);
  for (size_t i = 0; i + 1 < in.size(); ++i)
    if (in[i] != out[i]) return emitOpError("leading dimensions must be kept");
  return success();
}

LogicalResult DotOp::verify() {
  auto a = getA().getType(), b = getB().getType(), c = getAcc().getType();
  if (a.getRank() != 2 || b.getRank() != 2 || c.getRank() != 2)
    return emitOpError("dot takes 2-D tiles");
  if (a.getShape()[1] != b.getShape()[0] || c.getShape()[0] != a.getShape()[0] ||
      c.getShape()[1] != b.getShape()[1])
    return emitOpError() << "shapes do not chain: [" << a.getShape()[0] << "x" << a.getShape()[1]
                         << "] @ [" << b.getShape()[0] << "x" << b.getShape()[1] << "]";
  Type ea = a.getElementType(), eb = b.getElementType(), ec = c.getElementType();
  if (ea != eb) return emitOpError("a and b must have the same element type");
  bool floatDot = (ea.isBF16() || ea.isF16()) && ec.isF32();
  bool intDot = ea.isInteger(8) && ec.isInteger(32);
  if (!floatDot && !intDot)
    return emitOpError("dot supports bf16/f16 x bf16/f16 -> f32 and i8 x i8 -> i32");
  if (getType() != c) return emitOpError("result must have the accumulator type");
  return success();
}

}  // namespace uintx::ux
