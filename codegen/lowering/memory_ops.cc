// Global memory: predicated, vectorized loads and stores, and atomic adds.

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

Elements Lowering::emitLoad(Value ptr, Type t, int n, Value pred, ArrayRef<Value> others) {
  int bytes = n * elemBytes(t);
  auto vecT = VectorType::get({n}, t);
  Elements out;
  auto unpack = [&](Value vec) {
    for (int i = 0; i < n; ++i)
      out.push_back(LLVM::ExtractElementOp::create(b_, loc_, vec, c32(i)));
  };
  if (!pred) {
    if (n == 1) {
      out.push_back(LLVM::LoadOp::create(b_, loc_, t, ptr, bytes));
    } else {
      unpack(LLVM::LoadOp::create(b_, loc_, vecT, ptr, bytes));
    }
    return out;
  }
  Value predI = arith::ExtUIOp::create(b_, loc_, b_.getI32Type(), pred);
  // `other` as raw bits, in the register width of the access.
  Value otherVec = LLVM::UndefOp::create(b_, loc_, vecT);
  for (int i = 0; i < n; ++i) {
    Value o = others.empty() ? Value(arith::ConstantOp::create(b_, loc_, b_.getZeroAttr(t))) : others[i];
    otherVec = LLVM::InsertElementOp::create(b_, loc_, otherVec, o, c32(i));
  }
  if (bytes >= 4) {
    int regs = bytes / 4;
    auto regVecT = VectorType::get({regs}, b_.getI32Type());
    Value otherRegs = LLVM::BitcastOp::create(b_, loc_, regVecT, otherVec);
    SmallVector<Value> operands{ptr, predI};
    std::string text = "{ .reg .pred p; setp.ne.b32 p, $" + std::to_string(regs + 1) + ", 0; ";
    std::string cons;
    for (int i = 0; i < regs; ++i) {
      operands.push_back(LLVM::ExtractElementOp::create(b_, loc_, otherRegs, c32(i)));
      text += "mov.b32 $" + std::to_string(i) + ", $" + std::to_string(regs + 2 + i) + "; ";
      cons += "=r,";
    }
    text += std::string("@p ld.global") + (regs > 1 ? ".v" + std::to_string(regs) : "") + ".b32 " +
            regList(0, regs) + ", [$" + std::to_string(regs) + "]; }";
    cons += "l,r";
    for (int i = 0; i < regs; ++i) cons += ",r";
    Type resT = regs == 1 ? (Type)b_.getI32Type()
                          : LLVM::LLVMStructType::getLiteral(ctx_, SmallVector<Type>(regs, b_.getI32Type()));
    Value res = inlineAsm(b_, loc_, resT, operands, text, cons).getResult(0);
    Value regVec = LLVM::UndefOp::create(b_, loc_, regVecT);
    for (int i = 0; i < regs; ++i) {
      Value r = regs == 1 ? res : (Value)LLVM::ExtractValueOp::create(b_, loc_, res, ArrayRef<int64_t>{i});
      regVec = LLVM::InsertElementOp::create(b_, loc_, regVec, r, c32(i));
    }
    unpack(LLVM::BitcastOp::create(b_, loc_, vecT, regVec));
    return out;
  }
  // 1- and 2-byte accesses through a 16-bit register.
  Type i16 = b_.getI16Type();
  Value otherBits;
  if (bytes == 2) {
    otherBits = LLVM::BitcastOp::create(b_, loc_, VectorType::get({1}, i16), otherVec);
    otherBits = LLVM::ExtractElementOp::create(b_, loc_, otherBits, c32(0));
  } else {
    Value o8 = LLVM::BitcastOp::create(b_, loc_, b_.getI8Type(), otherVec);
    otherBits = arith::ExtUIOp::create(b_, loc_, i16, o8);
  }
  std::string text = "{ .reg .pred p; setp.ne.b32 p, $2, 0; mov.b16 $0, $3; @p ld.global." +
                     std::string(bytes == 2 ? "b16" : "u8") + " $0, [$1]; }";
  Value res = inlineAsm(b_, loc_, i16, ValueRange{ptr, predI, otherBits}, text, "=h,l,r,h").getResult(0);
  Value vec = bytes == 2 ? (Value)LLVM::BitcastOp::create(b_, loc_, vecT, res)
                         : (Value)LLVM::BitcastOp::create(b_, loc_, vecT, arith::TruncIOp::create(b_, loc_, b_.getI8Type(), res));
  unpack(vec);
  return out;
}

void Lowering::emitStore(Value ptr, ArrayRef<Value> values, Value pred) {
  int n = int(values.size());
  Type t = values[0].getType();
  int bytes = n * elemBytes(t);
  Value vec;
  if (n == 1) {
    vec = values[0];
  } else {
    vec = LLVM::UndefOp::create(b_, loc_, VectorType::get({n}, t));
    for (int i = 0; i < n; ++i) vec = LLVM::InsertElementOp::create(b_, loc_, vec, values[i], c32(i));
  }
  if (!pred) {
    LLVM::StoreOp::create(b_, loc_, vec, ptr, bytes);
    return;
  }
  Value predI = arith::ExtUIOp::create(b_, loc_, b_.getI32Type(), pred);
  if (bytes >= 4) {
    int regs = bytes / 4;
    Value regVec = LLVM::BitcastOp::create(b_, loc_, VectorType::get({regs}, b_.getI32Type()), vec);
    SmallVector<Value> operands{ptr, predI};
    std::string cons = "l,r";
    for (int i = 0; i < regs; ++i) {
      operands.push_back(LLVM::ExtractElementOp::create(b_, loc_, regVec, c32(i)));
      cons += ",r";
    }
    std::string text = std::string("{ .reg .pred p; setp.ne.b32 p, $1, 0; @p st.global") +
                       (regs > 1 ? ".v" + std::to_string(regs) : "") + ".b32 [$0], " + regList(2, regs) + "; }";
    inlineAsm(b_, loc_, Type(), operands, text, cons);
    return;
  }
  Type i16 = b_.getI16Type();
  Value bits = bytes == 2 ? (Value)LLVM::BitcastOp::create(b_, loc_, i16, vec)
                          : (Value)arith::ExtUIOp::create(b_, loc_, i16, LLVM::BitcastOp::create(b_, loc_, b_.getI8Type(), vec));
  std::string text = std::string("{ .reg .pred p; setp.ne.b32 p, $1, 0; @p st.global.") +
                     (bytes == 2 ? "b16" : "b8") + " [$0], $2; }";
  inlineAsm(b_, loc_, Type(), ValueRange{ptr, predI, bits}, text, "l,r,h");
}

void Lowering::emitAtomicAdd(Value ptr, Value value, Value pred) {
  Value predI = pred ? (Value)arith::ExtUIOp::create(b_, loc_, b_.getI32Type(), pred) : c32(1);
  bool f = value.getType().isF32();
  std::string text = std::string("{ .reg .pred p; setp.ne.b32 p, $1, 0; @p red.global.add.") +
                     (f ? "f32" : "s32") + " [$0], $2; }";
  inlineAsm(b_, loc_, Type(), ValueRange{ptr, predI, value}, text, f ? "l,r,f" : "l,r,r");
}

int vectorWidth(int run, const AxisInfo& ptr, const AxisInfo* mask, int eb) {
  int64_t v = std::min<int64_t>(run, ptr.contiguity);
  v = std::min<int64_t>(v, std::max<int64_t>(1, ptr.divisibility / eb));
  v = std::min<int64_t>(v, std::max(1, 16 / eb));
  if (mask) v = std::min<int64_t>(v, mask->constancy);
  int w = 1;
  while (w * 2 <= v) w *= 2;
  return w;
}

void Lowering::lowerLoad(ux::LoadOp op) {
  if (auto it = rings_.find(op.getResult()); it != rings_.end()) return lowerRingLoad(op, it->second);
  Type t = ux::elementType(op.getType());
  if (!isa<RankedTensorType>(op.getType())) {
    Value ptr = get(op.getPtr())[0];
    Value pred = op.getMask() ? get(op.getMask())[0] : Value();
    SmallVector<Value> other;
    if (op.getOther()) other.push_back(get(op.getOther())[0]);
    return set(op, emitLoad(ptr, t, 1, pred, other));
  }
  const Layout& l = layoutOf(op);
  auto shape = shapeVec(op);
  ThreadElements te = threadElements(l, shape);
  Elements ptrs = get(op.getPtr(), l);
  Elements mask = op.getMask() ? get(op.getMask(), l) : Elements();
  Elements other = op.getOther() ? get(op.getOther(), l) : Elements();
  AxisInfo ap = axis_->get(op.getPtr());
  AxisInfo am = op.getMask() ? axis_->get(op.getMask()) : AxisInfo();
  int run = te.runPerDim.back();
  int eb = elemBytes(t);
  Elements out(te.count());
  for (int k = 0; k < te.count(); k += run) {
    // Equal addresses (e.g. one packed word feeding several values): load once.
    int same = int(std::min<int64_t>(run, ap.constancy));
    if (op.getMask()) same = int(std::min<int64_t>(same, am.constancy));
    if (same > 1) {
      for (int j = 0; j < run; j += same) {
        Value pred = op.getMask() ? mask[k + j] : Value();
        SmallVector<Value> o;
        if (op.getOther()) o.push_back(other[k + j]);
        Value v = emitLoad(ptrs[k + j], t, 1, pred, o)[0];
        for (int i = 0; i < same; ++i) out[k + j + i] = v;
      }
      continue;
    }
    int w = vectorWidth(run, ap, op.getMask() ? &am : nullptr, eb);
    for (int j = 0; j < run; j += w) {
      Value pred = op.getMask() ? mask[k + j] : Value();
      SmallVector<Value> o;
      if (op.getOther()) o.append(other.begin() + k + j, other.begin() + k + j + w);
      Elements v = emitLoad(ptrs[k + j], t, w, pred, o);
      for (int i = 0; i < w; ++i) out[k + j + i] = v[i];
    }
  }
  set(op, out);
}

void Lowering::lowerStore(Operation* op, Value ptrV, Value valueV, Value maskV, bool atomic) {
  if (!isa<RankedTensorType>(ptrV.getType())) {
    Value ptr = get(ptrV)[0], value = get(valueV)[0];
    Value pred = maskV ? get(maskV)[0] : Value();
    if (atomic) return emitAtomicAdd(ptr, value, pred);
    // Every thread would store the same scalar; let thread 0 alone do it.
    Value first = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::eq,
                                        arith::OrIOp::create(b_, loc_, lane_, warp_), c32(0));
    pred = pred ? (Value)arith::AndIOp::create(b_, loc_, pred, first) : first;
    return emitStore(ptr, {value}, pred);
  }
  const Layout& l = layoutOf(ptrV);
  ThreadElements te = threadElements(l, shapeVec(ptrV));
  Elements ptrs = get(ptrV, l), values = get(valueV, l);
  Elements mask = maskV ? get(maskV, l) : Elements();
  if (atomic) {
    Value owns = ownsElements(l, shapeVec(ptrV));
    for (int k = 0; k < te.count(); ++k) {
      Value pred = maskV ? mask[k] : Value();
      if (owns) pred = pred ? (Value)arith::AndIOp::create(b_, loc_, pred, owns) : owns;
      emitAtomicAdd(ptrs[k], values[k], pred);
    }
    return;
  }
  AxisInfo ap = axis_->get(ptrV);
  AxisInfo am = maskV ? axis_->get(maskV) : AxisInfo();
  int run = te.runPerDim.back();
  int w = vectorWidth(run, ap, maskV ? &am : nullptr, elemBytes(values[0].getType()));
  for (int k = 0; k < te.count(); k += w)
    emitStore(ptrs[k], ArrayRef<Value>(values).slice(k, w), maskV ? mask[k] : Value());
}

}  // namespace uintx::codegen
