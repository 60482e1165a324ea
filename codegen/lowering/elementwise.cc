// Ops that compute each thread's elements from its own elements: constants, arith and math.fma ops,
// broadcast, expand_dims, unpack_bits.

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

void Lowering::lowerConstant(arith::ConstantOp op) {
  Attribute v = op.getValue();
  if (auto dense = dyn_cast<DenseElementsAttr>(v)) {
    if (!dense.isSplat()) fail(op, "only splat tile constants are supported");
    auto scalar = arith::ConstantOp::create(b_, loc_, cast<TypedAttr>(dense.getSplatValue<Attribute>()));
    ThreadElements te = threadElements(layoutOf(op), shapeVec(op));
    return set(op, Elements(te.count(), scalar));
  }
  set(op, {arith::ConstantOp::create(b_, loc_, cast<TypedAttr>(v))});
}

// 16-bit float arithmetic on tiles runs two lanes per instruction (add/sub/mul.rn.bf16x2 and
// f16x2): neighbouring elements of a thread are paired into one vector<2> op, the pairs the
// mma fragments and unpack_bits' half form use. Those ops round each result, as the
// interpreter does; they are not contracted into fma, which would round once.
static bool packsTwoLanes(Operation* op, Type elem) {
  return (elem.isBF16() || elem.isF16()) &&
         isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::MaximumFOp, arith::MinimumFOp, math::FmaOp>(op);
}

void Lowering::lowerElementwise(Operation* op) {
  Value result = op->getResult(0);
  bool tile = isa<RankedTensorType>(result.getType());
  std::vector<Elements> operands;
  for (Value v : op->getOperands()) operands.push_back(tile ? get(v, layoutOf(result)) : get(v));
  Type rt = ux::elementType(result.getType());
  size_t n = operands.empty() ? 1 : operands[0].size();
  const bool pairs = tile && n % 2 == 0 && packsTwoLanes(op, rt);
  const int lanes = pairs ? 2 : 1;
  Type laneType = pairs ? (Type)VectorType::get({2}, rt) : rt;
  auto lanesOf = [&](const Elements& e, size_t k) -> Value {
    if (!pairs) return e[k];
    Value v = LLVM::UndefOp::create(b_, loc_, laneType);
    for (int i = 0; i < 2; ++i) v = LLVM::InsertElementOp::create(b_, loc_, v, e[k + i], c32(i));
    return v;
  };
  Elements out;
  for (size_t k = 0; k < n; k += lanes) {
    if (isa<math::FmaOp>(op)) {  // straight to LLVM's fma: the NVVM pipeline would call libdevice
      Value r = LLVM::FMAOp::create(b_, loc_, lanesOf(operands[0], k), lanesOf(operands[1], k), lanesOf(operands[2], k));
      for (int i = 0; i < lanes; ++i)
        out.push_back(pairs ? (Value)LLVM::ExtractElementOp::create(b_, loc_, r, c32(i)) : r);
      continue;
    }
    OperationState st(loc_, op->getName());
    for (auto& e : operands) st.addOperands(lanesOf(e, k));
    st.addTypes(laneType);
    for (NamedAttribute a : op->getAttrs())
      if (a.getName() != kLayoutAttrName) st.addAttribute(a.getName(), a.getValue());
    Operation* scalar = b_.create(st);
    // Let the backend fuse a multiply feeding an add into one fma: dequantization and
    // multiply-accumulate chains are most of a GEMV's instructions, and fma rounds once.
    if (auto fm = dyn_cast<arith::ArithFastMathInterface>(scalar); fm && rt.isF32())
      scalar->setAttr(fm.getFastMathAttrName(), arith::FastMathFlagsAttr::get(ctx_, arith::FastMathFlags::contract));
    Value r = scalar->getResult(0);
    if (!pairs) {
      out.push_back(r);
      continue;
    }
    for (int i = 0; i < 2; ++i) out.push_back(LLVM::ExtractElementOp::create(b_, loc_, r, c32(i)));
  }
  set(result, out);
}

void Lowering::lowerBroadcast(ux::BroadcastOp op) {
  const Layout& lo = layoutOf(op);
  auto inShape = shapeVec(op.getSrc()), outShape = shapeVec(op);
  Layout want = lo;  // same params and dims, smaller shape: coordinates agree
  Elements in = get(op.getSrc(), want);
  ThreadElements ti = threadElements(want, inShape), to = threadElements(lo, outShape);
  Elements out;
  for (int k = 0; k < to.count(); ++k) {
    auto idx = to.split(k);
    for (size_t d = 0; d < idx.size(); ++d) idx[d] %= ti.countPerDim[d];
    out.push_back(in[ti.flatten(idx)]);
  }
  set(op, out);
}

void Lowering::lowerExpandDims(ux::ExpandDimsOp op) {
  const Layout& lo = layoutOf(op);
  int axis = op.getAxis();
  Elements in = get(op.getSrc(), lo.slice(axis));
  ThreadElements to = threadElements(lo, shapeVec(op));
  ThreadElements ti = threadElements(lo.slice(axis), shapeVec(op.getSrc()));
  Elements out;
  for (int k = 0; k < to.count(); ++k) {
    auto idx = to.split(k);
    idx.erase(idx.begin() + axis);
    out.push_back(in[ti.flatten(idx)]);
  }
  set(op, out);
}

// The field pair (j, j + 1) of a word (j even) as one register of two 16-bit floats
// magic + u: a byte permute brings the byte holding each field (taken from the word shifted so
// that the field starts its byte) to the low and high halves, and one lop3 (an and-or) keeps
// the fields and sets the magic number's bits around them.
Value Lowering::halfPairOfFields(Value word, int j, int bits, Type half) {
  int lo = j * bits, hi = (j + 1) * bits;
  auto shifted = [&](int bit) { return bit % 8 ? (Value)arith::ShRUIOp::create(b_, loc_, word, c32(bit % 8)) : word; };
  int byteLo = lo / 8, byteHi = 4 + hi / 8;  // prmt numbers the second operand's bytes 4..7
  int selector = byteLo | byteLo << 4 | byteHi << 8 | byteHi << 12;
  Type i32 = b_.getI32Type();
  Value both = inlineAsm(b_, loc_, i32, ValueRange{shifted(lo), shifted(hi)},
                         "prmt.b32 $0, $1, $2, " + std::to_string(selector) + ";", "=r,r,r", /*sideEffects=*/false)
                   .getResult(0);
  uint32_t field = (uint32_t(1) << bits) - 1, magic = half.isBF16() ? 0x4300 : 0x6400;
  // (both & fields) | magic as one lop3 (truth table 0xEA): written as an and and an or with
  // two immediates, ptxas emits two LOP3s.
  std::string text = "lop3.b32 $0, $1, " + std::to_string(field | field << 16) + ", " +
                     std::to_string(magic | magic << 16) + ", 0xEA;";
  Value reg = inlineAsm(b_, loc_, i32, ValueRange{both}, text, "=r,r", /*sideEffects=*/false).getResult(0);
  return LLVM::BitcastOp::create(b_, loc_, VectorType::get({2}, half), reg);
}

void Lowering::lowerUnpackBits(ux::UnpackBitsOp op) {
  const Layout& lo = layoutOf(op);
  auto outShape = shapeVec(op), inShape = shapeVec(op.getWords());
  int bits = op.getBits(), per = 32 / bits;
  int last = lo.dims.back();
  int spt = lo.params.sizePerThread[last];
  const BlockedParams& p = lo.params;
  if (spt < per && per % (spt * p.threadsPerWarp[last] * p.warpsPerCta[last]) == 0)
    return lowerUnpackSharedWords(op);
  if (spt % per || outShape.back() < spt)
    fail(op, "each thread must hold whole words: the vector width (" + std::to_string(spt) +
                 ") must be a multiple of 32/bits = " + std::to_string(per) + " and at most the tile's last dimension");
  Layout li = lo;
  li.params.sizePerThread[last] = spt / per;
  Elements words = get(op.getWords(), li);
  ThreadElements to = threadElements(lo, outShape), ti = threadElements(li, inShape);
  Type elem = op.getType().getElementType();
  bool half = elem.isBF16() || elem.isF16();
  Elements out;
  for (int k = 0; k < to.count(); ++k) {
    auto idx = to.split(k);
    int j = idx.back() % per;
    idx.back() /= per;  // run of spt fields <-> run of spt/per words, reps aligned
    // 16-bit: fields j, j + 1 (j even) are elements k, k + 1 (a word's fields are one run).
    if (half && j % 2) continue;
    appendFields(out, words[ti.flatten(idx)], j, half ? 2 : 1, bits, elem);
  }
  set(op, out);
}

// Fields first .. first + count - 1 of `word`, as integers, or (16-bit `elem`) as magic + u in
// pairs (first even).
void Lowering::appendFields(Elements& out, Value word, int first, int count, int bits, Type elem) {
  const bool half = elem.isBF16() || elem.isF16();
  for (int j = first; j < first + count; j += half ? 2 : 1) {
    if (half) {
      Value pair = halfPairOfFields(word, j, bits, elem);
      for (int i = 0; i < 2; ++i) out.push_back(LLVM::ExtractElementOp::create(b_, loc_, pair, c32(i)));
      continue;
    }
    Value v = j ? (Value)arith::ShRUIOp::create(b_, loc_, word, c32(j * bits)) : word;
    if (bits < 32) v = arith::AndIOp::create(b_, loc_, v, c32((int64_t(1) << bits) - 1));
    out.push_back(v);
  }
}

// unpack_bits where a thread's runs along k are shorter than a word and every word holds
// fields of every thread along k (assign_layouts: each thread then holds the whole row of
// words). A run's first field sits at a lane-dependent position of a static word: the word is
// shifted by it (one shift per run) and the run's fields taken from the low bits.
void Lowering::lowerUnpackSharedWords(ux::UnpackBitsOp op) {
  const Layout& lo = layoutOf(op);
  auto outShape = shapeVec(op), inShape = shapeVec(op.getWords());
  int bits = op.getBits(), per = 32 / bits;
  int last = lo.dims.back(), tileLast = int(outShape.size()) - 1;
  const BlockedParams& p = lo.params;
  const int spt = p.sizePerThread[last], cover = spt * p.threadsPerWarp[last] * p.warpsPerCta[last];
  Layout li = lo;
  li.params.sizePerThread[last] = int(inShape.back());
  Elements words = get(op.getWords(), li);
  ThreadElements to = threadElements(lo, outShape), ti = threadElements(li, inShape);
  Type elem = op.getType().getElementType();
  bool half = elem.isBF16() || elem.isF16();
  if (half && spt % 2) fail(op, "16-bit fields are unpacked in pairs: runs along k must be even");
  Elements out;
  for (int k = 0; k < to.count(); k += spt) {
    auto idx = to.split(k);
    int rep = idx.back() / spt;
    // The run's first field: word rep * cover / per, position coordinate % per (the lane's part).
    Value first = arith::RemUIOp::create(b_, loc_, coordinate(lo, to, idx, tileLast), c32(per));
    idx.back() = int(int64_t(rep) * cover / per);
    appendFields(out, arith::ShRUIOp::create(b_, loc_, words[ti.flatten(idx)], mul(first, bits)), 0, spt, bits, elem);
  }
  set(op, out);
}

}  // namespace uintx::codegen
