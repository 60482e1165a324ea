// ux.load_block: blocks of a tensor descriptor copied by the tensor memory accelerator (TMA,
// sm_90) into shared memory, in the form dsl/tensor_block.h fixes, and the mbarriers that
// tell the program the bytes have landed. In a pipelined loop the copies fill a ring like
// cp.async (pipeline_loops.cc); elsewhere a block is copied, waited for and read into
// registers in place.

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

dsl::TensorBlockForm Lowering::blockForm(ux::LoadBlockOp op) {
  auto t = op.getDesc().getType();
  Type elem = t.getElementType();
  dsl::DType dtype = elem.isF32() ? dsl::DType::f32 : elem.isBF16() ? dsl::DType::bf16 : elem.isF16() ? dsl::DType::f16
                     : elem.isInteger(8) ? dsl::DType::i8 : elem.isInteger(32) ? dsl::DType::i32 : dsl::DType::i1;
  try {
    return dsl::tensorBlockForm(dtype, std::vector<int64_t>(t.getBlockShape().begin(), t.getBlockShape().end()));
  } catch (const Error& e) {
    fail(op, e.what());
  }
}

Lowering::SharedTile Lowering::blockTile(const dsl::TensorBlockForm& f) {
  SharedTile t;
  t.rows = f.rows;
  t.rowBytes = f.rowBytes();
  t.swizzled = f.swizzled;
  return t;
}

Value Lowering::isThread(int tid) {
  return asI32(cmp(arith::CmpIPredicate::eq, NVVM::ThreadIdXOp::create(b_, loc_, b_.getI32Type()), c32(tid)));
}

// Each for one arrival per phase, initialized by thread 0; the fence makes the initialization
// visible to the TMA unit (the async proxy) and the barrier to the other threads before anyone
// waits or copies.
void Lowering::mbarrierInit(int64_t offset, int count, int arrivals) {
  Value first = isThread(0);
  for (int i = 0; i < count; ++i)
    inlineAsm(b_, loc_, Type(), ValueRange{sharedAddress(c32(offset + 8 * i)), first},
              "{ .reg .pred p; setp.ne.b32 p, $1, 0; @p mbarrier.init.shared::cta.b64 [$0], " + std::to_string(arrivals) +
                  "; }",
              "r,r,~{memory}");
  inlineAsm(b_, loc_, Type(), ValueRange{}, "fence.mbarrier_init.release.cluster;", "~{memory}");
  barrier();
}

// Before its memory serves anything else (PTX requires it); every thread must be done with it.
void Lowering::mbarrierInval(int64_t offset, int count) {
  Value first = isThread(0);
  for (int i = 0; i < count; ++i)
    inlineAsm(b_, loc_, Type(), ValueRange{sharedAddress(c32(offset + 8 * i)), first},
              "{ .reg .pred p; setp.ne.b32 p, $1, 0; @p mbarrier.inval.shared::cta.b64 [$0]; }", "r,r,~{memory}");
  sharedReadSinceBarrier_ = true;  // the next writer of this memory waits at a barrier first
}

// Until the phase of parity `parity` has completed (try_wait suspends the thread for a while
// in hardware before it answers false).
void Lowering::mbarrierWait(Value offset, Value parity) {
  inlineAsm(b_, loc_, Type(), ValueRange{sharedAddress(offset), parity},
            "{ .reg .pred p; WAIT_${:uid}: mbarrier.try_wait.parity.shared::cta.b64 p, [$0], $1; "
            "@!p bra WAIT_${:uid}; }",
            "r,r,~{memory}");
}

// Where `pred` (i32) is nonzero only: a wait that other threads skip.
void Lowering::mbarrierWaitIf(Value offset, Value parity, Value pred) {
  inlineAsm(b_, loc_, Type(), ValueRange{sharedAddress(offset), parity, pred},
            "{ .reg .pred p, q; setp.ne.b32 q, $2, 0; @!q bra SKIP_${:uid}; WAIT_${:uid}: "
            "mbarrier.try_wait.parity.shared::cta.b64 p, [$0], $1; @!p bra WAIT_${:uid}; SKIP_${:uid}: }",
            "r,r,r,~{memory}");
}

// One arrival per warp (its lane 0), where `pred` (i32) is nonzero.
void Lowering::mbarrierArrivePerWarp(Value offset, Value pred) {
  Value lane0 = asI32(cmp(arith::CmpIPredicate::eq, lane_, c32(0)));
  inlineAsm(b_, loc_, Type(), ValueRange{sharedAddress(offset), arith::AndIOp::create(b_, loc_, lane0, pred)},
            "{ .reg .pred p; setp.ne.b32 p, $1, 0; @p mbarrier.arrive.shared::cta.b64 _, [$0]; }", "r,r,~{memory}");
}

// The phase's one arrival, with the bytes its copies will bring (they may land before or
// after it: the phase completes when both have happened).
void Lowering::expectBytes(Value barrier, int64_t bytes, Value valid, int thread) {
  Value pred = arith::AndIOp::create(b_, loc_, valid, isThread(thread));
  inlineAsm(b_, loc_, Type(), ValueRange{sharedAddress(barrier), pred},
            "{ .reg .pred p; setp.ne.b32 p, $1, 0; @p mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], " +
                std::to_string(bytes) + "; }",
            "r,r,~{memory}");
}

// The block's copies, all issued by thread `thread` inside one branch: the copy instruction
// takes its operands from the warp's uniform registers, which the coordinates and addresses
// (functions of the program id and the step) can live in; a different predicate per copy
// would make each one a loop over the lanes that issue it. Rows in order take map 0's copies
// of whole column blocks; a tile whose atoms are permuted (wgmma's a operand) takes map 1's,
// one per atom (dsl/tensor_block.h).
void Lowering::copyBlock(ux::LoadBlockOp op, const SharedTile& t, Value row, Value col, Value dst, Value barrier,
                         Value valid, int thread) {
  dsl::TensorBlockForm f = blockForm(op);
  const bool atoms = t.permutedWarps != 0;
  Value desc = get(op.getDesc())[0];
  if (atoms)
    desc = LLVM::GEPOp::create(b_, loc_, desc.getType(), b_.getI8Type(), desc,
                               ArrayRef<LLVM::GEPArg>{dsl::kTensorMapBytes});
  Value bar = sharedAddress(barrier);
  Value issues = arith::AndIOp::create(b_, loc_, valid, isThread(thread));
  auto branch = scf::IfOp::create(b_, loc_, cmp(arith::CmpIPredicate::ne, issues, c32(0)), /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPointToStart(branch.thenBlock());
  const std::string text =
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [$0], [$1, {$2, $3}], [$4];";
  const int64_t boxRows = f.boxRows(atoms);
  for (int64_t cb = 0; cb < f.copiesAlongCols(); ++cb)
    for (int64_t rc = 0; rc < f.copiesAlongRows(atoms); ++rc) {
      Value at = add(dst, tileOffset(t, c32(rc * boxRows), c32(cb * 128)));
      Value c = add(col, c32(cb * f.boxCols)), r = add(row, c32(rc * boxRows));
      inlineAsm(b_, loc_, Type(), ValueRange{sharedAddress(at), desc, c, r, bar}, text, "r,l,r,r,r,~{memory}");
    }
}

// A block outside a pipelined loop: copied into the scratch area, waited for, read into
// registers; the mbarrier is invalidated when every thread has read.
void Lowering::lowerLoadBlock(ux::LoadBlockOp op) {
  if (auto it = rings_.find(op.getResult()); it != rings_.end()) return lowerRingLoad(op, it->second);
  dsl::TensorBlockForm f = blockForm(op);
  SharedTile t = blockTile(f);
  const int64_t tileBytes = (f.bytes() + 1023) / 1024 * 1024;
  // The scratch area starts on a swizzle atom when rings sit below it (lowerFor).
  const int64_t base = (scratchBase_ + 1023) / 1024 * 1024 - scratchBase_;
  useShared(base + tileBytes + 8, op);
  const int64_t barOffset = scratchBase_ + base + tileBytes;
  Value tile = c32(scratchBase_ + base), bar = c32(barOffset);
  if (sharedReadSinceBarrier_) barrier();
  mbarrierInit(barOffset, 1, 1);
  Value one = c32(1);
  expectBytes(bar, f.bytes(), one);
  copyBlock(op, t, get(op.getRow())[0], get(op.getCol())[0], tile, bar, one);
  mbarrierWait(bar, c32(0));
  ThreadElements te = threadElements(layoutOf(op), shapeVec(op));
  int width = std::min<int64_t>(te.runPerDim.back(), std::max(1, 16 / f.elemBytes));
  set(op, readTile(op.getResult(), t, tile, width));
  barrier();
  mbarrierInval(barOffset, 1);
}

}  // namespace uintx::codegen
