// Shared-memory access, and the ops that move a tile through it: layout conversions,
// reshape and trans.

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

Value Lowering::sharedPtrAt(Value offset) {
  auto p3 = LLVM::LLVMPointerType::get(ctx_, 3);
  Value base = LLVM::AddressOfOp::create(b_, loc_, p3, kSharedName);
  return LLVM::GEPOp::create(b_, loc_, p3, b_.getI8Type(), base, ValueRange{offset});
}

Value Lowering::sharedPtr(Value byteOffset) {
  return sharedPtrAt(scratchBase_ ? add(byteOffset, c32(scratchBase_)) : byteOffset);
}

Value Lowering::sharedAddress(Value offset) {
  auto p3 = LLVM::LLVMPointerType::get(ctx_, 3);
  Value base = LLVM::PtrToIntOp::create(b_, loc_, b_.getI32Type(), LLVM::AddressOfOp::create(b_, loc_, p3, kSharedName));
  return add(base, offset);
}

void Lowering::useShared(int64_t bytes, Operation* op) {
  stagedW_ = {};  // the caller writes the scratch area
  bytes += scratchBase_;
  if (bytes > kMaxSharedBytes)
    fail(op, "needs " + std::to_string(bytes) + " bytes of shared memory (limit " +
                 std::to_string(kMaxSharedBytes) + "); use smaller tiles or fewer stages");
  sharedBytes_ = std::max(sharedBytes_, bytes);
}

void Lowering::storeShared(Value off, Value v) {
  Type t = v.getType();
  if (t.isInteger(1)) v = arith::ExtUIOp::create(b_, loc_, b_.getI8Type(), v);
  if (isa<LLVM::LLVMPointerType>(t)) v = LLVM::PtrToIntOp::create(b_, loc_, b_.getI64Type(), v);
  LLVM::StoreOp::create(b_, loc_, v, sharedPtr(off));
}

Value Lowering::loadShared(Value off, Type t) {
  Type st = t.isInteger(1) ? b_.getI8Type() : isa<LLVM::LLVMPointerType>(t) ? (Type)b_.getI64Type() : t;
  Value v = LLVM::LoadOp::create(b_, loc_, st, sharedPtr(off));
  sharedReadSinceBarrier_ = true;
  if (t.isInteger(1)) return arith::TruncIOp::create(b_, loc_, t, v);
  if (isa<LLVM::LLVMPointerType>(t)) return LLVM::IntToPtrOp::create(b_, loc_, t, v);
  return v;
}

Elements Lowering::convertLayout(const Elements& src, Type elem, const std::vector<int64_t>& shape,
                                 const Layout& from, const Layout& to) {
  Type st = scalarType(elem);
  int eb = elemBytes(st);
  int64_t numel = 1;
  for (auto d : shape) numel *= d;
  useShared(numel * eb, nullptr);
  ThreadElements tf = threadElements(from, shape), tt = threadElements(to, shape);
  if (std::getenv("UINTX_DEBUG_LAYOUTS"))
    llvm::errs() << "convert " << numel << " elements: " << from.toString() << " -> " << to.toString() << "\n";
  barrier();
  for (int k = 0; k < tf.count(); ++k) storeShared(mul(linearIndex(from, tf, k), eb), src[k]);
  barrier();
  Elements out;
  for (int k = 0; k < tt.count(); ++k) out.push_back(loadShared(mul(linearIndex(to, tt, k), eb), st));
  return out;
}

void Lowering::lowerReshapeOrTrans(Operation* op, bool transpose) {
  Value srcV = op->getOperand(0), dstV = op->getResult(0);
  auto ss = shapeVec(srcV), ds = shapeVec(dstV);
  const Layout &ls = layoutOf(srcV), &ld = layoutOf(dstV);
  Type st = scalarType(ux::elementType(srcV.getType()));
  int eb = elemBytes(st);
  int64_t numel = 1;
  for (auto d : ss) numel *= d;
  useShared(numel * eb, op);
  ThreadElements ts = threadElements(ls, ss), td = threadElements(ld, ds);
  Elements src = get(srcV);
  barrier();
  for (int k = 0; k < ts.count(); ++k) storeShared(mul(linearIndex(ls, ts, k), eb), src[k]);
  barrier();
  Elements out;
  for (int k = 0; k < td.count(); ++k) {
    Value lin;
    if (transpose) {  // dst (a, b) reads src (b, a)
      auto idx = td.split(k);
      Value a = coordinate(ld, td, idx, 0), bb = coordinate(ld, td, idx, 1);
      lin = add(mul(bb, ss[1]), a);
    } else {
      lin = linearIndex(ld, td, k);
    }
    out.push_back(loadShared(mul(lin, eb), st));
  }
  set(dstV, out);
}

}  // namespace uintx::codegen
