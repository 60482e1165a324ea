// KernelBuilder's memory operations: masked loads and stores through pointer tiles, atomic
// adds, and blocks of tensor descriptors (loadBlock).

#include "dsl/UxDialect.h"
#include "dsl/builder_internal.h"
#include "dsl/kernel_builder.h"
#include "uintx/error.h"

namespace uintx::dsl {

using mlir::RankedTensorType;
using mlir::Type;

static mlir::Value maskFor(KernelBuilder* kb, const std::string& op, const Value& ptr, const Value& mask) {
  if (!mask.builder()) return {};
  if (mask.dtype() != DType::i1 || mask.isPointer())
    kb->fail(op, "mask must be a boolean, got " + mask.typeString());
  auto shape = commonShape(op, ptr, mask);
  if (shape != ptr.shape())
    kb->fail(op, "mask " + mask.typeString() + " does not fit pointer " + ptr.typeString());
  return broadcastTo(mask, shape).ir();
}

Value KernelBuilder::load(Value ptr, Value mask, Value other) {
  if (!ptr.isPointer()) fail("load", "needs a pointer, got " + ptr.typeString());
  mlir::Value m = maskFor(this, "load", ptr, mask);
  Type result = withShape(scalarType(ctx_.get(), ptr.dtype()), ptr.shape());
  mlir::Value o;
  if (other.builder()) {
    if (!m) fail("load", "`other` needs a mask");
    if (other.dtype() != ptr.dtype() || other.isPointer())
      fail("load", "`other` " + other.typeString() + " must match the pointee " + dtypeName(ptr.dtype()));
    o = broadcastTo(other, ptr.shape()).ir();
  }
  return makeValue(this, ux::LoadOp::create(builder_, loc_, result, ptr.ir(), m, o), ptr.dtype());
}

Value KernelBuilder::loadBlock(Value desc, Value row, Value col) {
  if (!desc.builder() || !desc.isTensorDesc()) fail("loadBlock", "needs a tensorArg, got " + desc.typeString());
  for (const Value& c : {row, col})
    if (!c.builder() || c.isTile() || c.isPointer() || c.isTensorDesc() || c.dtype() != DType::i32)
      fail("loadBlock", "coordinates must be i32 scalars, got " + (c.builder() ? c.typeString() : std::string("nothing")));
  auto descType = mlir::cast<ux::TensorDescType>(desc.ir().getType());
  Type result = RankedTensorType::get(descType.getBlockShape(), descType.getElementType());
  return makeValue(this, ux::LoadBlockOp::create(builder_, loc_, result, desc.ir(), row.ir(), col.ir()), desc.dtype());
}

Value KernelBuilder::load(Value ptr, Value mask, double other) {
  if (!ptr.isPointer()) fail("load", "needs a pointer, got " + ptr.typeString());
  return load(ptr, mask, constant(other, ptr.dtype()));
}

static void checkStoreValue(KernelBuilder* kb, const std::string& op, const Value& ptr, const Value& value) {
  if (!ptr.isPointer()) kb->fail(op, "needs a pointer, got " + ptr.typeString());
  if (value.isPointer() || value.dtype() != ptr.dtype())
    kb->fail(op, "value " + value.typeString() + " does not match pointer " + ptr.typeString() +
                     " (cast the value first)");
  if (value.shape() != ptr.shape() && !value.shape().empty()) commonShape(op, ptr, value);
}

void KernelBuilder::store(Value ptr, Value value, Value mask) {
  checkStoreValue(this, "store", ptr, value);
  mlir::Value m = maskFor(this, "store", ptr, mask);
  mlir::Value v = broadcastTo(value, ptr.shape()).ir();
  ux::StoreOp::create(builder_, loc_, ptr.ir(), v, m);
}

void KernelBuilder::atomicAdd(Value ptr, Value value, Value mask) {
  checkStoreValue(this, "atomicAdd", ptr, value);
  if (ptr.dtype() != DType::f32 && ptr.dtype() != DType::i32 && ptr.dtype() != DType::u32)
    fail("atomicAdd", std::string("supports f32 and i32, not ") + dtypeName(ptr.dtype()));
  mlir::Value m = maskFor(this, "atomicAdd", ptr, mask);
  mlir::Value v = broadcastTo(value, ptr.shape()).ir();
  ux::AtomicAddOp::create(builder_, loc_, ptr.ir(), v, m);
}

Value load(Value ptr, Value mask, Value other) { return builderOf({ptr})->load(ptr, mask, other); }
Value load(Value ptr, Value mask, double other) { return builderOf({ptr})->load(ptr, mask, other); }

}  // namespace uintx::dsl
