// Memory ops: addptr, load, load_block, store, atomic_add (masked lanes never touch memory).

#include "dsl/interpreter/machine.h"

namespace uintx::dsl::interp {

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

void Machine::execLoadBlock(ux::LoadBlockOp op) {
  Elem e = elemOf(op.getType(), "ux.load_block");
  const Buffer& b = buffers_[at(op.getDesc()).p[0].buffer];
  const int64_t r0 = int32_t(at(op.getRow()).i[0]), c0 = int32_t(at(op.getCol()).i[0]);  // i32 coordinates
  if (c0 * int64_t(e.bytes()) % 16 != 0)
    fail("ux.load_block", "column " + std::to_string(c0) + " of parameter '" + b.param + "' is not at a multiple of 16 bytes");
  auto shape = op.getType().getShape();
  Tile& r = at(op.getResult());
  const size_t n = size_t(shape[0] * shape[1]), bytes = e.bytes();
  if (e.cls == Elem::kFloat) r.f.assign(n, 0.0f);
  else r.i.assign(n, 0);
  for (int64_t i = 0; i < shape[0]; ++i)
    for (int64_t j = 0; j < shape[1]; ++j) {
      const int64_t gr = r0 + i, gc = c0 + j;
      if (gr < 0 || gr >= b.rows || gc < 0 || gc >= b.cols) continue;
      uint64_t bits = 0;
      std::memcpy(&bits, b.data + (gr * b.rowStride + gc) * int64_t(bytes), bytes);  // little-endian host
      const size_t k = size_t(i * shape[1] + j);
      if (e.cls == Elem::kFloat) r.f[k] = bitsToFloatFmt(e.fmt, bits);
      else r.i[k] = bits & e.mask();
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

}  // namespace uintx::dsl::interp
