// A warp-specialized pipelined loop (forLoop's `warpSpecialized`): a producer warpgroup, added
// after the numWarps computing warps, issues every step's TMA copies; the computing warps only
// wait for them, compute and release the buffers. The program's other warps never meet at a
// barrier in the loop, and copies run as far ahead as the ring's buffers are free.
//
//   all threads:   barrier; init S "full" mbarriers (1 arrival) and S "released" (numWarps)
//   producers:     for step n: [fill n / S >= 1] wait until buffer n % S is released;
//                  arrive on its full mbarrier expecting the step's bytes; copy (first warp)
//                  then leave the kernel
//   computing:     for step n: wait for full[n % S]; the body; release the buffer it is done
//                  with (n's, or in a wgmma chain n - 1's, whose wgmmas retired in n's dot)
//                  then the rest of the kernel, with named barriers over these warps only
// The loop's copied loads must all be blocks of tensor descriptors (TMA), and no dot operand
// may be staged in shared memory (what that would need the per-step barrier for).

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

void Lowering::lowerWarpSpecializedFor(scf::ForOp op) {
  if (consumerIf_) fail(op, "a kernel takes one warp-specialized loop");
  // The producers run what comes before the loop as the warps they alias: loads and stores
  // again (the same values), but an atomic add would count twice.
  for (Operation* before = op->getPrevNode(); before; before = before->getPrevNode())
    if (before->walk([](ux::AtomicAddOp) { return WalkResult::interrupt(); }).wasInterrupted())
      fail(op, "a warp-specialized loop cannot follow an atomic_add");
  Value lo = get(op.getLowerBound())[0], hi = get(op.getUpperBound())[0], step = get(op.getStep())[0];
  std::vector<size_t> counts;  // scalars per carried value
  SmallVector<Value> inits = carriedScalars(op, op.getInitArgs(), &counts);
  const int stages = loopStages(op), nw = facts_.numWarps, firstProducer = 32 * nw;
  std::vector<std::pair<AsyncLoad, Ring>> async;
  for (AsyncLoad& a : findAsyncLoads(op))
    if (auto r = planRing(a)) async.emplace_back(std::move(a), *r);
  if (async.empty() || llvm::any_of(async, [](const auto& a) { return !a.second.tma; }))
    fail(op, "a warp-specialized loop copies only blocks of tensor descriptors (loadBlock), at least one");
  std::vector<std::pair<ux::DotOp, int64_t>> staged;
  const bool chains = stages >= 3 && wgmmaChains(op, async, staged);
  if (!staged.empty()) fail(op, "a warp-specialized loop cannot stage dot operands in shared memory");
  int64_t tmaBytes = 0;
  for (auto& [a, r] : async) tmaBytes += blockForm(a.block).bytes();

  // Shared memory: the rings, then the full and the released mbarriers.
  const int64_t savedScratch = scratchBase_;
  scratchBase_ = (scratchBase_ + 1023) / 1024 * 1024;
  for (auto& [a, r] : async) {
    r.offset = scratchBase_;
    scratchBase_ += stages * r.stageBytes;
  }
  const int64_t full = scratchBase_, released = full + 8 * stages;
  scratchBase_ = released + 8 * stages;
  useShared(0, op);
  barrier();
  mbarrierInit(full, stages, 1);
  mbarrierInit(released, stages, nw);
  if (!waitedForPriorGrids_ && touchesStreamOrderedMemory(op)) emitWaitForPriorGrids();

  Value tid = NVVM::ThreadIdXOp::create(b_, loc_, b_.getI32Type());
  auto split = scf::IfOp::create(b_, loc_, cmp(arith::CmpIPredicate::sge, tid, c32(firstProducer)), /*withElse=*/true);
  // Registers move from the producers, which need few, to the computing warps (setmaxnreg, per
  // warpgroup): 40 each for the 128 producers, the rest of the SM's 64 K for the others. Only
  // where the launch's share (64 K over all threads, which bounds ptxas's allocation) is below
  // what the computing warps then get: with 8 warps and more.
  const int producerRegs = 40, computeRegs = std::min(240, (65536 - 128 * producerRegs) / (32 * nw) / 8 * 8);
  const bool moveRegisters = 65536 / (32 * nw + 128) < computeRegs;
  {  // the producers
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPoint(split.thenBlock()->getTerminator());
    if (moveRegisters)
      inlineAsm(b_, loc_, Type(), ValueRange{}, "setmaxnreg.dec.sync.aligned.u32 " + std::to_string(producerRegs) + ";",
                "~{memory}");
    auto loop = scf::ForOp::create(b_, loc_, lo, hi, step, ValueRange{});
    b_.setInsertionPoint(loop.getBody()->getTerminator());
    Value iv = loop.getInductionVar();
    Value n = arith::DivSIOp::create(b_, loc_, arith::SubIOp::create(b_, loc_, iv, lo), step);
    Value buffer = arith::RemSIOp::create(b_, loc_, n, c32(stages));
    Value fill = arith::DivSIOp::create(b_, loc_, n, c32(stages));
    // Every lane of the first producer warp waits (its first thread issues the copies); from
    // the buffer's second fill on, for the release of its previous use (phase fill - 1).
    Value copier = asI32(cmp(arith::CmpIPredicate::eq, arith::ShRUIOp::create(b_, loc_, tid, c32(5)), c32(nw)));
    Value refill = asI32(cmp(arith::CmpIPredicate::sge, fill, c32(1)));
    mbarrierWaitIf(add(c32(released), mul(buffer, 8)), arith::AndIOp::create(b_, loc_, add(fill, c32(1)), c32(1)),
                   arith::AndIOp::create(b_, loc_, copier, refill));
    Value bar = add(c32(full), mul(buffer, 8));
    expectBytes(bar, tmaBytes, c32(1), firstProducer);
    Value valid = cmp(arith::CmpIPredicate::slt, iv, hi);
    for (auto& [a, r] : async)
      issueAsyncCopies(a, r, op.getInductionVar(), iv, valid, add(c32(r.offset), mul(buffer, r.stageBytes)), bar,
                       firstProducer);
  }
  // The computing warps: the loop, then the rest of the kernel (lowerOp's func.return leaves).
  b_.setInsertionPoint(split.elseBlock()->getTerminator());
  if (moveRegisters)
    inlineAsm(b_, loc_, Type(), ValueRange{}, "setmaxnreg.inc.sync.aligned.u32 " + std::to_string(computeRegs) + ";",
              "~{memory}");
  consumerIf_ = split;
  consumersOnly_ = true;
  inits.push_back(c32(0));  // the buffer step 0 reads
  inits.push_back(c32(0));  // the parity of its full mbarrier's phase
  auto loop = scf::ForOp::create(b_, loc_, lo, hi, step, inits);
  set(op.getInductionVar(), {loop.getInductionVar()});
  bindCarried(op.getRegionIterArgs(), loop.getRegionIterArgs(), counts);
  const bool savedChains = wgmmaInFlight_;
  wgmmaInFlight_ = chains;
  {
    OpBuilder::InsertionGuard guard(b_);
    Block* body = loop.getBody();
    if (!body->empty() && body->back().hasTrait<OpTrait::IsTerminator>()) body->back().erase();
    b_.setInsertionPointToEnd(body);
    sharedReadSinceBarrier_ = true;
    auto args = loop.getRegionIterArgs();
    Value buffer = args[args.size() - 2], phase = args.back();
    mbarrierWait(add(c32(full), mul(buffer, 8)), phase);
    for (auto& [a, r] : async) {
      r.readOffset = add(c32(r.offset), mul(buffer, r.stageBytes));
      rings_[a.result()] = r;
    }
    Value n = arith::DivSIOp::create(b_, loc_, arith::SubIOp::create(b_, loc_, loop.getInductionVar(), lo), step);
    Value isLast = cmp(arith::CmpIPredicate::eq, buffer, c32(stages - 1));
    Value nextBuffer = arith::SelectOp::create(b_, loc_, isLast, c32(0), add(buffer, c32(1)));
    Value nextPhase = arith::SelectOp::create(b_, loc_, isLast, arith::XOrIOp::create(b_, loc_, phase, c32(1)), phase);
    Value previous = arith::SelectOp::create(b_, loc_, cmp(arith::CmpIPredicate::eq, buffer, c32(0)), c32(stages - 1),
                                             arith::SubIOp::create(b_, loc_, buffer, c32(1)));
    for (Operation& inner : op.getBody()->without_terminator()) lowerOp(&inner);
    SmallVector<Value> yields = carriedScalars(op, op.getBody()->getTerminator()->getOperands(), nullptr);
    yields.push_back(nextBuffer);
    yields.push_back(nextPhase);
    if (waitBeforeYield_) wgmmaWait(0), waitBeforeYield_ = false;  // lowerWgmmaDot
    // Done with the buffer: this step's, or in a chain the previous step's (from the second on).
    if (chains) mbarrierArrivePerWarp(add(c32(released), mul(previous, 8)), asI32(cmp(arith::CmpIPredicate::sge, n, c32(1))));
    else mbarrierArrivePerWarp(add(c32(released), mul(buffer, 8)), c32(1));
    scf::YieldOp::create(b_, loc_, yields);
  }
  if (chains) wgmmaWait(0);
  wgmmaInFlight_ = savedChains;
  barrier();  // every computing warp is past its last wait (the producers' copies have all landed)
  mbarrierInval(full, stages);
  mbarrierInval(released, stages);
  for (auto& [a, r] : async) rings_.erase(a.result());
  scratchBase_ = savedScratch;
  bindCarried(op.getResults(), loop.getResults(), counts);
}

}  // namespace uintx::codegen
