// The kernel: its gpu.func, the dispatch of ux ops to their lowering, and where it waits for
// the kernels before it (programmatic dependent launch).

#include "codegen/lowering/lowering_context.h"

namespace uintx::codegen {

GpuKernelModule Lowering::run() {
  ctx_->loadDialect<gpu::GPUDialect, LLVM::LLVMDialect, NVVM::NVVMDialect, arith::ArithDialect,
                    scf::SCFDialect>();
  func::FuncOp src = src_;
  // A warp-specialized loop adds a producer warpgroup (lowerWarpSpecializedFor).
  numThreads_ = dsl::threadsPerProgram(src, facts_.numWarps);
  const bool specialized = numThreads_ > facts_.numWarps * 32;
  if (auto v = src->getAttrOfType<IntegerAttr>("ux.vec")) options_.vec = int(v.getInt());
  readLayouts();
  axis_ = std::make_unique<AxisAnalysis>(src);

  GpuKernelModule result;
  result.numThreads = numThreads_;

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc_);
  (*module)->setAttr("gpu.container_module", b_.getUnitAttr());
  b_.setInsertionPointToEnd(module->getBody());
  auto target = NVVM::NVVMTargetAttr::get(ctx_, 3, "nvptx64-nvidia-cuda", options_.chip, options_.features);
  auto gmod = gpu::GPUModuleOp::create(b_, loc_, "uintx", b_.getArrayAttr({target}));
  b_.setInsertionPointToStart(gmod.getBody());

  SmallVector<Type> argTypes;
  for (Type t : src.getArgumentTypes()) argTypes.push_back(scalarType(t));
  auto gfunc = gpu::GPUFuncOp::create(b_, loc_, src.getName(), b_.getFunctionType(argTypes, {}));
  gfunc->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b_.getUnitAttr());
  gfunc.setKnownBlockSizeAttr(b_.getDenseI32ArrayAttr({numThreads_, 1, 1}));
  SmallVector<int32_t> tensorMaps;
  for (unsigned i = 0; i < src.getNumArguments(); ++i)
    if (isa<ux::TensorDescType>(src.getArgument(i).getType())) tensorMaps.push_back(int32_t(i));
  if (!tensorMaps.empty()) gfunc->setAttr(kTensorMapArgsAttr, b_.getDenseI32ArrayAttr(tensorMaps));
  Block& entry = gfunc.getBody().front();
  for (unsigned i = 0; i < src.getNumArguments(); ++i) set(src.getArgument(i), {entry.getArgument(i)});

  b_.setInsertionPointToStart(&entry);
  Value tid = NVVM::ThreadIdXOp::create(b_, loc_, b_.getI32Type());
  lane_ = arith::AndIOp::create(b_, loc_, tid, c32(31));
  warp_ = arith::ShRUIOp::create(b_, loc_, tid, c32(5));
  // The producer warps compute what the warps they alias compute, up to the loop they copy for
  // (tiles are laid out over numWarps warps); then they leave.
  if (specialized) warp_ = arith::AndIOp::create(b_, loc_, warp_, c32(facts_.numWarps - 1));
  entryMarker_ = c32(0).getDefiningOp();  // thread-coordinate math is inserted before this

  // The kernel's own ops, with the wait for earlier kernels before the first that needs it (a
  // loop places it itself, inside the prologue of its copies: lowerFor).
  if (facts_.launchOverlap == dsl::LaunchOverlap::early) emitLaunchDependents();
  for (Operation& op : src.getBody().front().getOperations()) {
    if (!waitedForPriorGrids_ && !isa<scf::ForOp>(op) && touchesStreamOrderedMemory(&op)) emitWaitForPriorGrids();
    lowerOp(&op);
  }

  // Shared memory: `.extern .shared` (dynamic), sized at launch by the largest user.
  b_.setInsertionPointToStart(gmod.getBody());
  auto arrayType = LLVM::LLVMArrayType::get(b_.getI8Type(), 0);
  LLVM::GlobalOp::create(b_, loc_, arrayType, /*isConstant=*/false, LLVM::Linkage::External,
                         kSharedName, Attribute(), /*alignment=*/1024, /*addrSpace=*/3);
  result.sharedBytes = int(sharedBytes_);
  result.module = std::move(module);
  return result;
}

// Every tile's layout, as the layout assignment recorded it (layout_attr.h).
void Lowering::readLayouts() {
  auto read = [&](Value v, Operation* where) {
    if (!isa<RankedTensorType>(v.getType())) return;
    std::optional<Layout> l = layoutOfValue(v);
    if (!l) fail(where, "tile without a layout (the layout assignment did not run)");
    layouts_[v] = *l;
  };
  src_.walk([&](Operation* op) {
    for (Value r : op->getResults()) read(r, op);
    for (Region& region : op->getRegions())
      for (Block& block : region)
        for (BlockArgument a : block.getArguments()) read(a, op);
  });
}

// Programmatic dependent launch (sm_90+): launched with the runtime's programmatic-serialization
// attribute (codegen/runtime/cuda_module.h, LaunchOrder), a kernel may start before the kernel
// before it on the stream has finished. Two instructions place it among its neighbours:
// - griddepcontrol.wait: wait until the kernels before have finished and their writes are
//   visible. Emitted once, at top level (so it runs exactly once, whatever loops follow), just
//   before the first top-level op that loads through a stream-ordered pointer argument or stores
//   at all, so that the loads of constant data before it (dsl::PointerAccess: weights, scales)
//   are already on their way; a pipelined loop issues its prologue's copies of constant data
//   first, then waits, then copies the rest (lowerFor). A kernel after a short one that lets it
//   launch early (the row quantization before the int8 GEMM) so streams its first weight tiles
//   while that one runs.
// - griddepcontrol.launch_dependents: the next kernel may launch once every program has passed
//   it. Only LaunchOverlap::early emits it, at entry; other kernels let the next one launch when
//   their programs have exited (implicitly), which still hides its launch behind their final
//   memory flush. Emitted at entry in every kernel, a chain of calls let each kernel launch the
//   next at once, whose programs took the free slots wherever they were while waiting: a
//   split-K GEMM whose programs share SMs then ran unbalanced (W4A16 M=16 8192x8192, 31.5 ->
//   53.9 us graph-timed). Emitted after the main loop, it did no better than not at all, and
//   worse where a grid leaves SMs free (docs/PERFORMANCE.md, "Run 7").
void Lowering::emitWaitForPriorGrids() {
  if (chipHasGridDependencyControl(options_.chip))
    inlineAsm(b_, loc_, Type(), ValueRange{}, "griddepcontrol.wait;", "~{memory}");
  waitedForPriorGrids_ = true;
}

void Lowering::emitLaunchDependents() {
  if (chipHasGridDependencyControl(options_.chip))
    inlineAsm(b_, loc_, Type(), ValueRange{}, "griddepcontrol.launch_dependents;", "~{memory}");
}

// The pointer argument a pointer tile is computed from, if it is one (through addptr and the
// shape ops); -1 otherwise (say a pointer carried by a loop).
static int pointerArgumentOf(Value ptr) {
  while (true) {
    if (auto arg = dyn_cast<BlockArgument>(ptr))
      return isa<func::FuncOp>(arg.getOwner()->getParentOp()) ? int(arg.getArgNumber()) : -1;
    Operation* def = ptr.getDefiningOp();
    if (auto a = dyn_cast<ux::AddPtrOp>(def)) ptr = a.getPtr();
    else if (isa<ux::SplatOp, ux::BroadcastOp, ux::ExpandDimsOp, ux::ReshapeOp, ux::TransOp>(def)) ptr = def->getOperand(0);
    else return -1;
  }
}

bool Lowering::readsConstantMemory(Operation* load) {
  int arg = -1;
  if (auto l = dyn_cast<ux::LoadOp>(load)) arg = pointerArgumentOf(l.getPtr());
  if (auto b = dyn_cast<ux::LoadBlockOp>(load)) arg = pointerArgumentOf(b.getDesc());
  return arg >= 0 && facts_.isConstantPointer(arg);
}

bool Lowering::touchesStreamOrderedMemory(Operation* top) {
  bool touches = false;
  top->walk([&](Operation* op) {
    if (isa<ux::StoreOp, ux::AtomicAddOp>(op)) touches = true;
    if (isa<ux::LoadOp, ux::LoadBlockOp>(op)) touches |= !readsConstantMemory(op);
  });
  return touches;
}

bool chipHasGridDependencyControl(const std::string& chip) {
  int sm = 0;
  return std::sscanf(chip.c_str(), "sm_%d", &sm) == 1 && sm >= 90;
}

void Lowering::lowerOp(Operation* op) {
  if (auto c = dyn_cast<arith::ConstantOp>(op)) return lowerConstant(c);
  if (isa<func::ReturnOp>(op)) {
    if (consumerIf_) b_.setInsertionPointAfter(consumerIf_);  // the producers' way out too
    gpu::ReturnOp::create(b_, loc_);
    return;
  }
  if (auto p = dyn_cast<ux::ProgramIdOp>(op)) {
    int a = p.getAxis();
    Type i32 = b_.getI32Type();
    Value v = a == 0 ? (Value)NVVM::BlockIdXOp::create(b_, loc_, i32)
              : a == 1 ? (Value)NVVM::BlockIdYOp::create(b_, loc_, i32) : NVVM::BlockIdZOp::create(b_, loc_, i32);
    return set(p, {v});
  }
  if (auto p = dyn_cast<ux::NumProgramsOp>(op)) {
    int a = p.getAxis();
    Type i32 = b_.getI32Type();
    Value v = a == 0 ? (Value)NVVM::GridDimXOp::create(b_, loc_, i32)
              : a == 1 ? (Value)NVVM::GridDimYOp::create(b_, loc_, i32) : NVVM::GridDimZOp::create(b_, loc_, i32);
    return set(p, {v});
  }
  if (auto a = dyn_cast<ux::ArangeOp>(op)) {
    const Layout& l = layoutOf(a);
    auto shape = shapeVec(a);
    ThreadElements te = threadElements(l, shape);
    Elements e;
    for (int k = 0; k < te.count(); ++k)
      e.push_back(add(coordinate(l, te, te.split(k), 0), c32(a.getStart())));
    return set(a, e);
  }
  if (auto s = dyn_cast<ux::SplatOp>(op)) {
    ThreadElements te = threadElements(layoutOf(s), shapeVec(s));
    Value v = get(s.getSrc())[0];
    return set(s, Elements(te.count(), v));
  }
  if (auto bc = dyn_cast<ux::BroadcastOp>(op)) return lowerBroadcast(bc);
  if (auto e = dyn_cast<ux::ExpandDimsOp>(op)) return lowerExpandDims(e);
  if (isa<ux::ReshapeOp>(op)) return lowerReshapeOrTrans(op, false);
  if (auto t = dyn_cast<ux::TransOp>(op)) {
    // trans(w) as a dot's b operand is read by the dot in w's own layout: nothing to move.
    bool onlyDots = llvm::all_of(t->getUses(), [](OpOperand& u) {
      return isa<ux::DotOp>(u.getOwner()) && u.getOperandNumber() == 1;
    });
    if (onlyDots && !t->use_empty()) return;
    return lowerReshapeOrTrans(op, true);
  }
  if (auto p = dyn_cast<ux::AddPtrOp>(op)) {
    bool tile = isa<RankedTensorType>(p.getType());
    Type elem = cast<ux::PointerType>(ux::elementType(p.getType())).getPointeeType();
    Elements ptrs = tile ? get(p.getPtr(), layoutOf(p)) : get(p.getPtr());
    Elements offs = tile ? get(p.getOffset(), layoutOf(p)) : get(p.getOffset());
    Elements out;
    auto pt = LLVM::LLVMPointerType::get(ctx_, 1);
    for (size_t k = 0; k < ptrs.size(); ++k)
      out.push_back(LLVM::GEPOp::create(b_, loc_, pt, elem, ptrs[k], ValueRange{offs[k]}));
    return set(p, out);
  }
  if (auto l = dyn_cast<ux::LoadOp>(op)) return lowerLoad(l);
  if (auto l = dyn_cast<ux::LoadBlockOp>(op)) return lowerLoadBlock(l);
  if (auto s = dyn_cast<ux::StoreOp>(op)) return lowerStore(op, s.getPtr(), s.getValue(), s.getMask(), false);
  if (auto s = dyn_cast<ux::AtomicAddOp>(op))
    return lowerStore(op, s.getPtr(), s.getValue(), s.getMask(), true);
  if (auto r = dyn_cast<ux::ReduceOp>(op)) return lowerReduce(r);
  if (auto f = dyn_cast<scf::ForOp>(op)) return f->hasAttr(dsl::kWarpSpecializedAttr) ? lowerWarpSpecializedFor(f) : lowerFor(f);
  if (auto u = dyn_cast<ux::UnpackBitsOp>(op)) return lowerUnpackBits(u);
  if (auto d = dyn_cast<ux::DotOp>(op)) return lowerDot(d);
  if (op->getDialect() && (op->getDialect()->getNamespace() == "arith" || op->getDialect()->getNamespace() == "math"))
    return lowerElementwise(op);
  fail(op, "no lowering for this op");
}

GpuKernelModule lowerKernelToGpu(func::FuncOp kernel, const KernelFacts& facts, const LoweringOptions& options) {
  return Lowering(kernel, facts, options).run();
}

GpuKernelModule lowerToGpu(const dsl::KernelProgram& program, const LoweringOptions& options) {
  KernelFacts facts;
  facts.name = program.name;
  facts.numWarps = program.numWarps;
  facts.launchOverlap = program.launchOverlap;
  for (const dsl::KernelParam& p : program.params)
    facts.constantPointerArgs.push_back(p.access == dsl::PointerAccess::constant);
  auto kernel = cast<func::FuncOp>(*program.moduleOp().getOps<func::FuncOp>().begin());
  return lowerKernelToGpu(kernel, facts, options);
}

}  // namespace uintx::codegen
