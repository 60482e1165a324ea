// scf.for, and the software pipelining of its loads into rings of cp.async or TMA copies
// (async_loads.h).

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

// A loop marked with stages S >= 2 and with async loads (async_loads.h) is pipelined:
//   prologue:  barrier; for j < S-1: cp.async step j's tiles into buffer j; commit
//   step t:    wait until step t's group landed (S-2 groups may stay in flight); barrier;
//              cp.async step t+S-1's tiles into the buffer step t-1 read; commit;
//              the body, reading step t's tiles from buffer t % S
//   epilogue:  wait for all groups; barrier
// The barrier of step t also orders step t-1's reads of the buffer before its overwrite, so
// one barrier per step suffices. Copies for steps past the end are masked (zero-filled, no
// global read). The loop carries the index of the buffer it reads.
// Blocks of tensor descriptors (load_block) take TMA copies instead, issued by warp 0: each
// buffer has an mbarrier whose phase completes when its step's bytes have landed (one arrival
// with the bytes expected, then the copies); step t waits for phase t / S of buffer t % S (the
// loop carries that parity), and the epilogue invalidates the mbarriers. Where every ring is
// TMA-filled and no operand is staged, the step has no barrier: a second mbarrier per buffer
// completes when every warp has released it (one arrival per warp when its reads of the
// buffer are done: at the end of its step, or of the next step for a wgmma chain), and warp 0,
// which copies, waits for it before it refills the buffer; the other warps never wait for one
// another.
void Lowering::lowerFor(scf::ForOp op) {
  // A top-level loop that is the kernel's first access to stream-ordered memory waits for the
  // kernels before it (lower_kernel.cc) here: at its start, or within its prologue.
  const bool waitHere = !waitedForPriorGrids_ && touchesStreamOrderedMemory(op);
  stagedW_ = {};  // a staging before the loop is not there in its second step
  Value lo = get(op.getLowerBound())[0], hi = get(op.getUpperBound())[0], step = get(op.getStep())[0];
  std::vector<size_t> counts;  // scalars per carried value
  SmallVector<Value> inits = carriedScalars(op, op.getInitArgs(), &counts);
  const int stages = loopStages(op);
  std::vector<std::pair<AsyncLoad, Ring>> async;
  int64_t savedScratch = scratchBase_;
  for (AsyncLoad& a : findAsyncLoads(op))
    if (auto r = planRing(a)) async.emplace_back(std::move(a), *r);
  // Copies run `ahead` steps ahead. When every dot of the body is a wgmma chain (wgmmaChains),
  // a step's wgmmas may still run during the next step (wgmmaInFlight_): one buffer more
  // stays untouched for them, so copies run one step less ahead, and operands staged from
  // registers alternate between two buffers.
  std::vector<std::pair<ux::DotOp, int64_t>> staged;
  bool chains = stages >= 3 && !async.empty() && wgmmaChains(op, async, staged);
  auto atoms = [](int64_t bytes) { return (bytes + 1023) / 1024 * 1024; };  // whole swizzle atoms
  for (auto& [dot, bytes] : staged) bytes = atoms(bytes);
  if (chains && !staged.empty()) {  // the rings and both staging buffers must fit, else stage once
    int64_t bytes = atoms(scratchBase_);
    for (auto& [a, r] : async) bytes += stages * r.stageBytes;
    for (auto& [dot, b] : staged) bytes += 2 * b;
    if (llvm::any_of(async, [](const auto& a) { return a.second.tma; })) bytes += 8 * stages;  // mbarriers
    if (bytes > kMaxSharedBytes) chains = false, staged.clear();
  }
  const int ahead = chains ? stages - 2 : stages - 1;
  const bool cpAsync = llvm::any_of(async, [](const auto& a) { return !a.second.tma; });
  int64_t tmaBytes = 0;  // per step, over all TMA rings
  for (auto& [a, r] : async)
    if (r.tma) tmaBytes += blockForm(a.block).bytes();
  int64_t barriers = 0;  // absolute byte offset of the first mbarrier (8 bytes each), if any
  const bool barrierFree = tmaBytes && !cpAsync && staged.empty();
  int64_t released = 0;  // barrierFree: the buffers' "released" mbarriers, after the others
  bool savedChains = wgmmaInFlight_;
  wgmmaInFlight_ = chains;
  if (!async.empty()) {
    scratchBase_ = atoms(scratchBase_);  // rings start on swizzle atoms
    for (auto& [a, r] : async) {
      r.offset = scratchBase_;
      scratchBase_ += stages * r.stageBytes;
    }
    if (chains)
      for (auto& [dot, bytes] : staged) {
        stagingBuffers_[dot.getOperation()] = {scratchBase_, bytes};
        scratchBase_ += 2 * bytes;
      }
    if (tmaBytes) {
      barriers = scratchBase_;
      scratchBase_ += 8 * stages;
    }
    if (barrierFree) {
      released = scratchBase_;
      scratchBase_ += 8 * stages;
    }
    useShared(0, op);
    barrier();  // earlier users of this shared memory are done before the prologue writes it
    if (tmaBytes) mbarrierInit(barriers, stages, 1);
    if (barrierFree) mbarrierInit(released, stages, facts_.numWarps);
    // One group per step. Where the loop waits for the kernels before it, the copies of
    // constant data (weights) go first, a group per step, then the wait, then the others': the
    // steps' groups complete in order, so step t still waits for its own copies only (and for
    // the constant copies of the prologue, issued before them).
    auto prologue = [&](std::optional<bool> constant) {
      for (int j = 0; j < ahead; ++j) {
        Value iv = add(lo, arith::MulIOp::create(b_, loc_, step, c32(j)));
        Value valid = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::slt, iv, hi);
        // The step's one arrival on its mbarrier comes with the first of its copies.
        if (tmaBytes && constant != false)
          expectBytes(c32(barriers + 8 * j), tmaBytes, asI32(valid));
        for (auto& [a, r] : async)
          if (!constant || readsConstantMemory(a.op()) == *constant)
            issueAsyncCopies(a, r, op.getInductionVar(), iv, valid, c32(r.offset + j * r.stageBytes),
                             c32(barriers + 8 * j));
        if (cpAsync) asyncCommit();
      }
    };
    size_t constantRings = llvm::count_if(async, [&](const auto& a) { return readsConstantMemory(a.first.op()); });
    if (waitHere && constantRings > 0 && constantRings < async.size()) {
      prologue(true);
      emitWaitForPriorGrids();
      prologue(false);
    } else {
      if (waitHere) emitWaitForPriorGrids();
      prologue(std::nullopt);
    }
    inits.push_back(c32(0));  // the buffer step 0 reads
    if (tmaBytes) inits.push_back(c32(0));  // the parity of its mbarrier's phase
  } else if (waitHere) {
    emitWaitForPriorGrids();
  }
  auto loop = scf::ForOp::create(b_, loc_, lo, hi, step, inits);
  Block* body = loop.getBody();
  set(op.getInductionVar(), {loop.getInductionVar()});
  bindCarried(op.getRegionIterArgs(), loop.getRegionIterArgs(), counts);
  {
    OpBuilder::InsertionGuard guard(b_);
    if (!body->empty() && body->back().hasTrait<OpTrait::IsTerminator>()) body->back().erase();
    b_.setInsertionPointToEnd(body);
    sharedReadSinceBarrier_ = true;  // by the previous iteration
    Value nextBuffer, nextPhase, releaseBuffer, releaseNow;
    Value savedParity = stagingParity_;
    if (chains && !staged.empty()) {  // step number mod 2
      Value n = arith::DivSIOp::create(b_, loc_, arith::SubIOp::create(b_, loc_, loop.getInductionVar(), lo), step);
      stagingParity_ = arith::AndIOp::create(b_, loc_, n, c32(1));
    }
    if (!async.empty()) {
      auto args = loop.getRegionIterArgs();
      Value buffer = args[args.size() - (tmaBytes ? 2 : 1)], phase = tmaBytes ? args.back() : Value();
      if (cpAsync) asyncWait(ahead - 1);
      if (tmaBytes) mbarrierWait(add(c32(barriers), mul(buffer, 8)), phase);
      // wgmma reads shared memory through the async proxy: order the cp.async copies before it.
      if (llvm::any_of(async, [](const auto& a) { return a.second.feedsWgmma; })) proxyFence();
      if (!barrierFree) barrier();
      Value iv = add(loop.getInductionVar(), arith::MulIOp::create(b_, loc_, step, c32(ahead)));
      Value valid = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::slt, iv, hi);
      // The buffer of step t + ahead: (buffer + ahead) mod stages.
      Value sum = add(buffer, c32(ahead));
      Value wraps = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::sge, sum, c32(stages));
      Value target = arith::SelectOp::create(b_, loc_, wraps, arith::SubIOp::create(b_, loc_, sum, c32(stages)), sum);
      Value targetBarrier = add(c32(barriers), mul(target, 8));
      if (barrierFree) {
        // Step n + ahead's copies are fill (n + ahead) / S of their buffer: from the second one
        // on, its previous use must have been released (phase fill - 1).
        Value n = arith::DivSIOp::create(b_, loc_, arith::SubIOp::create(b_, loc_, loop.getInductionVar(), lo), step);
        Value fill = arith::DivSIOp::create(b_, loc_, add(n, c32(ahead)), c32(stages));
        Value refill = asI32(cmp(arith::CmpIPredicate::sge, fill, c32(1)));
        Value parity = arith::AndIOp::create(b_, loc_, add(fill, c32(1)), c32(1));
        // Every lane of warp 0 waits (thread 0 issues the copies), so that the lanes need not
        // reconverge after a wait that only one of them made.
        Value warp0 = asI32(cmp(arith::CmpIPredicate::eq, warp_, c32(0)));
        mbarrierWaitIf(add(c32(released), mul(target, 8)), parity, arith::AndIOp::create(b_, loc_, warp0, refill));
        // This step's release (at its end): the buffer it reads, or in a chain the previous
        // step's (its wgmmas retired in this step's dot), from the second step on.
        Value n1 = asI32(cmp(arith::CmpIPredicate::sge, n, c32(1)));
        Value previous = arith::SelectOp::create(b_, loc_, cmp(arith::CmpIPredicate::eq, buffer, c32(0)), c32(stages - 1),
                                                 arith::SubIOp::create(b_, loc_, buffer, c32(1)));
        releaseBuffer = chains ? previous : buffer;
        releaseNow = chains ? n1 : c32(1);
      }
      if (tmaBytes) expectBytes(targetBarrier, tmaBytes, asI32(valid));
      for (auto& [a, r] : async) {
        issueAsyncCopies(a, r, op.getInductionVar(), iv, valid, add(c32(r.offset), mul(target, r.stageBytes)),
                         targetBarrier);
        r.readOffset = add(c32(r.offset), mul(buffer, r.stageBytes));
        rings_[a.result()] = r;
      }
      if (cpAsync) asyncCommit();
      Value isLast = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::eq, buffer, c32(stages - 1));
      nextBuffer = arith::SelectOp::create(b_, loc_, isLast, c32(0), add(buffer, c32(1)));
      if (tmaBytes)
        nextPhase = arith::SelectOp::create(b_, loc_, isLast, arith::XOrIOp::create(b_, loc_, phase, c32(1)), phase);
    }
    for (Operation& inner : op.getBody()->without_terminator()) lowerOp(&inner);
    stagedW_ = {};
    SmallVector<Value> yields = carriedScalars(op, op.getBody()->getTerminator()->getOperands(), nullptr);
    if (nextBuffer) yields.push_back(nextBuffer);
    if (nextPhase) yields.push_back(nextPhase);
    if (waitBeforeYield_) wgmmaWait(0), waitBeforeYield_ = false;  // lowerWgmmaDot
    if (releaseBuffer) mbarrierArrivePerWarp(add(c32(released), mul(releaseBuffer, 8)), releaseNow);
    scf::YieldOp::create(b_, loc_, yields);
    stagingParity_ = savedParity;
  }
  for (auto& [dot, bytes] : staged) stagingBuffers_.erase(dot.getOperation());
  sharedReadSinceBarrier_ = true;  // by the last iteration
  if (chains) wgmmaWait(0);  // the last step's wgmmas, before anyone reads the accumulators
  wgmmaInFlight_ = savedChains;
  if (!async.empty()) {
    if (cpAsync) asyncWait(0);  // copies for steps past the end may still be writing
    barrier();
    if (tmaBytes) mbarrierInval(barriers, stages);  // TMA copies are never issued past the end
    if (barrierFree) mbarrierInval(released, stages);
    for (auto& [a, r] : async) rings_.erase(a.result());
    scratchBase_ = savedScratch;
  }
  bindCarried(op.getResults(), loop.getResults(), counts);
}

SmallVector<Value> Lowering::carriedScalars(scf::ForOp op, ValueRange values, std::vector<size_t>* counts) {
  SmallVector<Value> out;
  for (unsigned i = 0; i < values.size(); ++i) {
    Value v = values[i];
    // Initial values in their own layout, the body's next values in the carried one's.
    const Layout* l = !isa<RankedTensorType>(v.getType()) ? nullptr
                      : counts                             ? &layoutOf(v)
                                                           : &layoutOf(op.getRegionIterArgs()[i]);
    Elements e = l ? get(v, *l) : get(v);
    if (counts) counts->push_back(e.size());
    out.append(e.begin(), e.end());
  }
  return out;
}

void Lowering::bindCarried(ValueRange values, ValueRange scalars, const std::vector<size_t>& counts) {
  size_t pos = 0;
  for (unsigned i = 0; i < values.size(); ++i) {
    set(values[i], Elements(scalars.begin() + pos, scalars.begin() + pos + counts[i]));
    pos += counts[i];
  }
}

// The ring of an async load, or nullopt when its accesses are not 4, 8 or 16 bytes per
// thread (then it stays an ordinary load). Tiles a dot reads have the dot's padded rows. A
// block's ring has its block's form (a dot's wgmma form: the same, with rows permuted for a).
std::optional<Lowering::Ring> Lowering::planRing(const AsyncLoad& a) {
  Ring r;
  if (a.block) {
    dsl::TensorBlockForm f = blockForm(a.block);
    r.tma = true;
    r.tile = blockTile(f);
    ThreadElements te = threadElements(layoutOf(a.result()), shapeVec(a.result()));
    r.width = std::min<int64_t>(te.runPerDim.back(), std::max(1, 16 / f.elemBytes));
    if (auto use = dotUseOf(a.result())) {
      SharedTile want = dotOperandTile(use->first, use->second);
      if (!want.swizzled || want.rowBytes != r.tile.rowBytes)
        fail(a.op(), "a block a dot reads must be in wgmma's form (rows of a multiple of 128 bytes)");
      r.tile = want;
    }
    r.stageBytes = (f.bytes() + 1023) / 1024 * 1024;
    return r;
  }
  ux::LoadOp op = a.load;
  auto shape = shapeVec(op);
  ThreadElements te = threadElements(layoutOf(op), shape);
  int eb = elemBytes(ux::elementType(op.getType()));
  AxisInfo am = op.getMask() ? axis_->get(op.getMask()) : AxisInfo();
  int w = vectorWidth(te.runPerDim.back(), axis_->get(op.getPtr()), op.getMask() ? &am : nullptr, eb);
  if (w * eb < 4) return std::nullopt;
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < shape.size(); ++d) rows *= shape[d];
  r.width = w;
  r.tile.rowBytes = shape.back() * eb;
  if (auto use = dotUseOf(op.getResult())) {  // the dot's layout
    if (shape.size() != 2) return std::nullopt;
    r.tile = dotOperandTile(use->first, use->second);
    r.feedsWgmma = r.tile.swizzled;
  }
  // 1024-byte buffers: the swizzle is a function of the address bits, its atoms must be aligned.
  r.stageBytes = (rows * r.tile.rowBytes + 1023) / 1024 * 1024;
  return r;
}

Value Lowering::ringElementOffset(const SharedTile& t, Value loaded, const ThreadElements& te, int k) {
  const Layout& l = layoutOf(loaded);
  auto idx = te.split(k);
  int last = int(te.shape.size()) - 1;
  Value row = c32(0);
  int64_t stride = 1;
  for (int d = last - 1; d >= 0; --d) {
    row = add(row, mul(coordinate(l, te, idx, d), stride));
    stride *= te.shape[d];
  }
  return tileOffset(t, row, mul(coordinate(l, te, idx, last), elemBytes(ux::elementType(loaded.getType()))));
}

// Issues the cp.async copies of `a` for the step whose induction variable is `iv`, into the
// buffer at absolute byte `stageOffset`; `valid` masks the whole step. The address
// computation is lowered again with the loop's induction variable standing for `iv`.
void Lowering::issueAsyncCopies(const AsyncLoad& a, const Ring& r, Value loopIv, Value iv, Value valid,
                                Value stageOffset, Value barrier, int firstThread) {
  Elements savedIv = vals_.count(loopIv) ? get(loopIv) : Elements();
  set(loopIv, {iv});
  for (Operation* o : a.addressOps) lowerOp(o);
  auto restore = [&] {
    for (Operation* o : a.addressOps)
      for (Value res : o->getResults()) vals_.erase(res);
    if (savedIv.empty()) vals_.erase(loopIv);
    else set(loopIv, savedIv);
  };
  if (a.block) {
    Value valid32 = asI32(valid);
    ux::LoadBlockOp block = a.block;
    copyBlock(block, r.tile, get(block.getRow())[0], get(block.getCol())[0], stageOffset, barrier, valid32, firstThread);
    return restore();
  }
  ux::LoadOp op = a.load;
  const Layout& l = layoutOf(op);
  ThreadElements te = threadElements(l, shapeVec(op));
  Elements ptrs = get(op.getPtr(), l);
  Elements mask = op.getMask() ? get(op.getMask(), l) : Elements();
  int bytes = r.width * elemBytes(ux::elementType(op.getType()));
  // .cg (bypass L1) exists only for 16-byte copies.
  std::string text = std::string("cp.async.") + (bytes == 16 ? "cg" : "ca") + ".shared.global [$0], [$1], " +
                     std::to_string(bytes) + ", $2;";
  // Where several threads hold the same elements (a row of words every thread of a quad
  // unpacks), one of them copies: the others would write the same bytes again.
  Value owns = ownsElements(l, shapeVec(op));
  if (owns) {
    text = "{ .reg .pred q; setp.ne.b32 q, $3, 0; @q " + text + " }";
    owns = asI32(owns);
  }
  for (int k = 0; k < te.count(); k += r.width) {
    Value pred = mask.empty() ? valid : (Value)arith::AndIOp::create(b_, loc_, mask[k], valid);
    Value srcBytes = arith::SelectOp::create(b_, loc_, pred, c32(bytes), c32(0));  // 0: zero-fill, no read
    SmallVector<Value, 4> operands{sharedAddress(add(stageOffset, ringElementOffset(r.tile, op, te, k))), ptrs[k], srcBytes};
    if (owns) operands.push_back(owns);
    inlineAsm(b_, loc_, Type(), operands, text, owns ? "r,l,r,r,~{memory}" : "r,l,r,~{memory}");
  }
  restore();
}

// An async load in the body: its tile is in this step's buffer. Dots read it from there;
// any other user gets it in registers, each thread reading back what it (or, for elements
// several threads hold, the one that copied them: the step's barrier orders them) copied.
void Lowering::lowerRingLoad(Operation* op, const Ring& r) {
  Value loaded = op->getResult(0);
  if (feedsOnlyDots(loaded)) return;
  set(loaded, readTile(loaded, r.tile, r.readOffset, r.width));
}

Elements Lowering::readTile(Value loaded, const SharedTile& t, Value base, int width) {
  Type elem = ux::elementType(loaded.getType());
  ThreadElements te = threadElements(layoutOf(loaded), shapeVec(loaded));
  auto vecT = VectorType::get({width}, elem);
  Elements out;
  for (int k = 0; k < te.count(); k += width) {
    Value ptr = sharedPtrAt(add(base, ringElementOffset(t, loaded, te, k)));
    Value v = LLVM::LoadOp::create(b_, loc_, vecT, ptr, /*alignment=*/width * elemBytes(elem));
    for (int i = 0; i < width; ++i) out.push_back(LLVM::ExtractElementOp::create(b_, loc_, v, c32(i)));
  }
  sharedReadSinceBarrier_ = true;
  return out;
}

}  // namespace uintx::codegen
