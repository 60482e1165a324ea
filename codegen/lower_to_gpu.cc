#include "codegen/lower_to_gpu.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

#include "codegen/assign_layouts.h"
#include "codegen/async_loads.h"
#include "codegen/axis_info.h"
#include "dsl/UxDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "uintx/error.h"

namespace uintx::codegen {

using namespace mlir;
using Elements = SmallVector<Value, 8>;

// The kernel's shared memory: one dynamic (extern) array, sized at launch by the largest
// user (PtxKernel::sharedBytes), so that pipelined loops can use more than the 48 KiB a
// static array may have. Below `scratchBase_` it holds the rings of the loop being pipelined;
// above, the short-lived users (layout conversions, reductions, dot staging).
static constexpr const char* kSharedName = "ux_smem";

static int log2i(int64_t v) {
  int l = 0;
  while ((int64_t(1) << l) < v) ++l;
  return l;
}

static std::vector<int64_t> shapeVec(Value v) {
  auto s = ux::shapeOf(v.getType());
  return std::vector<int64_t>(s.begin(), s.end());
}

// Predicated accesses use inline PTX so that a masked vector access is one instruction
// under a predicate, not a branch (what Triton does too).
static std::string regList(int first, int n) {
  std::string s = n > 1 ? "{" : "";
  for (int i = 0; i < n; ++i) s += (i ? ", $" : "$") + std::to_string(first + i);
  return s + (n > 1 ? "}" : "");
}

static LLVM::InlineAsmOp inlineAsm(OpBuilder& b, Location loc, Type result, ValueRange operands,
                                   const std::string& text, const std::string& constraints,
                                   bool sideEffects = true) {
  return LLVM::InlineAsmOp::create(b, loc, result, operands, text, constraints,
                                   sideEffects, /*is_align_stack=*/false,
                                   LLVM::tailcallkind::TailCallKind::None,
                                   LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
                                   ArrayAttr());
}

class Lowering {
 public:
  Lowering(const dsl::KernelProgram& program, const LoweringOptions& options)
      : program_(program), options_(options), ctx_(program.context.get()), b_(ctx_),
        loc_(UnknownLoc::get(ctx_)) {}

  GpuKernelModule run();

 private:
  [[noreturn]] void fail(Operation* op, const std::string& msg) {
    std::string name = op ? op->getName().getStringRef().str() : "kernel";
    throw Error("codegen of kernel '" + program_.name + "': " + name + ": " + msg);
  }

  // ---- types and constants ----
  Type scalarType(Type uxElement) {
    if (isa<ux::PointerType>(uxElement)) return LLVM::LLVMPointerType::get(ctx_, 1);
    return uxElement;
  }
  Value c32(int64_t v) { return arith::ConstantOp::create(b_, loc_, b_.getI32IntegerAttr(int32_t(v))); }
  Value add(Value a, Value b) { return arith::AddIOp::create(b_, loc_, a, b); }
  Value mul(Value a, int64_t c) { return c == 1 ? a : (Value)arith::MulIOp::create(b_, loc_, a, c32(c)); }
  int elemBytes(Type t) {
    if (isa<ux::PointerType>(t) || isa<LLVM::LLVMPointerType>(t)) return 8;
    return std::max(1u, t.getIntOrFloatBitWidth() / 8);
  }

  // ---- layouts and coordinates ----
  const Layout& layoutOf(Value v) {
    auto it = layouts_.find(v);
    if (it == layouts_.end()) fail(v.getDefiningOp(), "tile without a layout");
    return it->second;
  }
  Value threadBase(const BlockedParams& p, int pd);
  Value ownsElements(const Layout& l, const std::vector<int64_t>& shape);
  Value coordinate(const Layout& l, const ThreadElements& te, const std::vector<int>& idx, int i);
  Value linearIndex(const Layout& l, const ThreadElements& te, int k);

  // ---- values ----
  Elements get(Value v);                       // in its own layout (or the scalar)
  Elements get(Value v, const Layout& want);  // converted if needed
  void set(Value v, Elements e) { vals_[v] = std::move(e); }

  // ---- shared memory ----
  Value sharedPtr(Value byteOffset);          // into the scratch area
  Value sharedPtrAt(Value absoluteOffset);    // anywhere
  Value sharedAddress(Value absoluteOffset);  // as the 32-bit address PTX shared accesses take
  void barrier() {
    gpu::BarrierOp::create(b_, loc_);
    sharedReadSinceBarrier_ = false;
  }
  void useShared(int64_t bytes, Operation* op);  // scratch bytes
  void storeShared(Value byteOffset, Value v);
  Value loadShared(Value byteOffset, Type t);
  Elements convertLayout(const Elements& src, Type elem, const std::vector<int64_t>& shape,
                         const Layout& from, const Layout& to);

  // ---- ops ----
  void emitWaitForPriorGrids();
  bool touchesStreamOrderedMemory(Operation* top);
  void emitLaunchDependents();
  void lowerOp(Operation* op);
  void lowerElementwise(Operation* op);
  void lowerConstant(arith::ConstantOp op);
  void lowerLoad(ux::LoadOp op);
  void lowerStore(Operation* op, Value ptr, Value value, Value mask, bool atomic);
  void lowerReduce(ux::ReduceOp op);
  void lowerBroadcast(ux::BroadcastOp op);
  void lowerExpandDims(ux::ExpandDimsOp op);
  void lowerReshapeOrTrans(Operation* op, bool transpose);
  void lowerFor(scf::ForOp op);
  void lowerUnpackBits(ux::UnpackBitsOp op);
  // How a tile [rows, cols] (leading dimensions flattened into rows) lies in shared memory:
  // row-major, `rowBytes` apart (padding included), or, for wgmma, in wgmma's 128-byte
  // swizzled K-major form: the row is cut into 128-byte column blocks, each a [rows, 128 B]
  // region of 1024-byte atoms (8 rows x 128 B) in which 16-byte chunk c of row r sits at chunk
  // c ^ (r % 8), so that eight rows' chunks fall in distinct banks. The rows of a wgmma `a`
  // operand are permuted as well (lowerWgmmaDot).
  struct SharedTile {
    int64_t rows = 0, rowBytes = 0;
    bool swizzled = false;
    int permutedWarps = 0;  // > 0: the a operand of a wgmma dot on this many warps
  };
  Value tileOffset(const SharedTile& t, Value row, Value colByte);
  SharedTile dotOperandTile(ux::DotOp dot, int operand);
  bool dotUsesWgmma(ux::DotOp dot);
  bool dotWInRegisters(ux::DotOp dot);
  void lowerDot(ux::DotOp op);
  void lowerRegisterDot(ux::DotOp op);
  void lowerWgmmaDot(ux::DotOp op);
  SmallVector<Value, 4> mmaSync(Type elem, ArrayRef<Value> a, ArrayRef<Value> b, ArrayRef<Value> c);
  bool feedsOnlyDots(Value v);
  std::optional<std::pair<ux::DotOp, int>> dotUseOf(Value v);
  std::pair<Value, Value> dotOperandsInShared(ux::DotOp op);
  void stageOperand(Value v, int64_t base, const SharedTile& t);

  // ---- software pipelining (async_loads.h) ----
  // Where an async load's tiles live: `stages` buffers of `stageBytes` from `offset`, each
  // laid out as `tile`. `width` elements per cp.async.
  struct Ring {
    int64_t offset = 0, stageBytes = 0;
    SharedTile tile;
    int width = 1;
    bool feedsWgmma = false;  // read by the async proxy: needs a proxy fence before the barrier
    Value readOffset;         // absolute byte offset of the buffer this step reads
  };
  std::optional<Ring> planRing(const AsyncLoad& a);
  Value ringElementOffset(const Ring& r, ux::LoadOp load, const ThreadElements& te, int k);
  void issueAsyncCopies(const AsyncLoad& a, const Ring& r, Value loopIv, Value iv, Value valid, Value stageOffset);
  void lowerRingLoad(ux::LoadOp op, const Ring& r);
  void asyncCommit() { inlineAsm(b_, loc_, Type(), ValueRange{}, "cp.async.commit_group;", "~{memory}"); }
  void wgmmaWait(int pending) {
    inlineAsm(b_, loc_, Type(), ValueRange{}, "wgmma.wait_group.sync.aligned " + std::to_string(pending) + ";",
              "~{memory}");
  }
  bool wgmmaChainsOnRings(scf::ForOp loop, const std::vector<std::pair<AsyncLoad, Ring>>& async);
  void proxyFence() { inlineAsm(b_, loc_, Type(), ValueRange{}, "fence.proxy.async.shared::cta;", "~{memory}"); }
  void asyncWait(int pending) {
    inlineAsm(b_, loc_, Type(), ValueRange{}, "cp.async.wait_group " + std::to_string(pending) + ";", "~{memory}");
  }

  Elements emitLoad(Value ptr, Type t, int n, Value pred, ArrayRef<Value> others);
  void emitStore(Value ptr, ArrayRef<Value> values, Value pred);
  void emitAtomicAdd(Value ptr, Value value, Value pred);

  const dsl::KernelProgram& program_;
  LoweringOptions options_;
  MLIRContext* ctx_;
  OpBuilder b_;
  Location loc_;
  LayoutMap layouts_;
  std::unique_ptr<AxisAnalysis> axis_;
  DenseMap<Value, Elements> vals_;
  Value lane_, warp_;
  Operation* entryMarker_ = nullptr;
  std::map<std::pair<std::string, int>, Value> baseCache_;
  int64_t sharedBytes_ = 0;
  int64_t scratchBase_ = 0;
  // False right after a barrier, until shared memory is read: then a write needs no barrier
  // before it to keep other threads' reads (write-after-read) safe.
  bool sharedReadSinceBarrier_ = true;
  bool wgmmaInFlight_ = false;  // in a loop whose wgmma chains may run one step into the next
  DenseMap<Value, Ring> rings_;  // async load result -> its ring, while its loop is lowered
  int numThreads_ = 128;
  bool waitedForPriorGrids_ = false;  // griddepcontrol.wait emitted (at top level)
};

// ---------------------------------------------------------------------------------------

Value Lowering::threadBase(const BlockedParams& p, int pd) {
  auto key = std::make_pair(p.toString(), pd);
  auto it = baseCache_.find(key);
  if (it != baseCache_.end()) return it->second;
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPoint(entryMarker_);
  int laneShift = p.laneShift(pd), warpShift = p.warpShift(pd);
  auto coordOf = [&](Value id, int shift, int count) -> Value {
    if (count == 1) return c32(0);
    Value s = shift ? (Value)arith::ShRUIOp::create(b_, loc_, id, c32(shift)) : id;
    return arith::AndIOp::create(b_, loc_, s, c32(count - 1));
  };
  Value laneC = coordOf(lane_, laneShift, p.threadsPerWarp[pd]);
  Value warpC = coordOf(warp_, warpShift, p.warpsPerCta[pd]);
  int spt = p.sizePerThread[pd];
  Value base = add(mul(laneC, spt), mul(warpC, int64_t(spt) * p.threadsPerWarp[pd]));
  baseCache_[key] = base;
  return base;
}

// True (i1) in exactly one of the threads that hold the same elements of a tile of `shape`:
// a layout spread over more lanes or warps than the tile has elements along a dimension, or a
// slice that dropped a dimension, gives several threads the same elements. Plain stores may
// repeat a write; an atomic must not. Null when no thread is a duplicate.
Value Lowering::ownsElements(const Layout& l, const std::vector<int64_t>& shape) {
  const BlockedParams& p = l.params;
  Value owns;
  auto require = [&](Value id, int shift, int count, int64_t used) {
    if (used >= count) return;
    Value c = arith::AndIOp::create(b_, loc_, arith::ShRUIOp::create(b_, loc_, id, c32(shift)), c32(count - 1));
    Value ok = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::ult, c, c32(used));
    owns = owns ? (Value)arith::AndIOp::create(b_, loc_, owns, ok) : ok;
  };
  for (int pd = 0; pd < p.rank(); ++pd) {
    auto it = std::find(l.dims.begin(), l.dims.end(), pd);
    int64_t size = it == l.dims.end() ? 1 : shape[it - l.dims.begin()];
    int64_t perThread = std::max<int64_t>(1, (size + p.sizePerThread[pd] - 1) / p.sizePerThread[pd]);
    require(lane_, p.laneShift(pd), p.threadsPerWarp[pd], perThread);
    require(warp_, p.warpShift(pd), p.warpsPerCta[pd], (perThread + p.threadsPerWarp[pd] - 1) / p.threadsPerWarp[pd]);
  }
  return owns;
}

Value Lowering::coordinate(const Layout& l, const ThreadElements& te, const std::vector<int>& idx, int i) {
  Value c = add(threadBase(l.params, l.dims[i]), c32(te.offsetAlong(i, idx[i])));
  if (te.shape[i] < te.coverPerDim[i] || te.shape[i] == 1)
    c = arith::AndIOp::create(b_, loc_, c, c32(te.shape[i] - 1));
  return c;
}

Value Lowering::linearIndex(const Layout& l, const ThreadElements& te, int k) {
  auto idx = te.split(k);
  Value lin = c32(0);
  int64_t stride = 1;
  for (int i = int(te.shape.size()) - 1; i >= 0; --i) {
    lin = add(lin, mul(coordinate(l, te, idx, i), stride));
    stride *= te.shape[i];
  }
  return lin;
}

Elements Lowering::get(Value v) {
  auto it = vals_.find(v);
  if (it == vals_.end()) fail(v.getDefiningOp(), "operand was not lowered");
  return it->second;
}

Elements Lowering::get(Value v, const Layout& want) {
  if (!isa<RankedTensorType>(v.getType())) return get(v);
  const Layout& have = layoutOf(v);
  if (equivalentFor(have, want, shapeVec(v))) return get(v);
  // Values that cost nothing to make are made again in the wanted layout, not moved.
  Operation* def = v.getDefiningOp();
  ThreadElements te = threadElements(want, shapeVec(v));
  if (auto s = dyn_cast_or_null<ux::SplatOp>(def)) return Elements(te.count(), get(s.getSrc())[0]);
  if (auto c = dyn_cast_or_null<arith::ConstantOp>(def))
    if (auto d = dyn_cast<DenseElementsAttr>(c.getValue()); d && d.isSplat())
      return Elements(te.count(), arith::ConstantOp::create(b_, loc_, cast<TypedAttr>(d.getSplatValue<Attribute>())));
  if (auto a = dyn_cast_or_null<ux::ArangeOp>(def)) {
    Elements e;
    for (int k = 0; k < te.count(); ++k) e.push_back(add(coordinate(want, te, te.split(k), 0), c32(a.getStart())));
    return e;
  }
  return convertLayout(get(v), ux::elementType(v.getType()), shapeVec(v), have, want);
}

// ---- shared memory ---------------------------------------------------------------------

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

// ---- driver ----------------------------------------------------------------------------

GpuKernelModule Lowering::run() {
  ctx_->loadDialect<gpu::GPUDialect, LLVM::LLVMDialect, NVVM::NVVMDialect, arith::ArithDialect,
                    scf::SCFDialect>();
  auto src = cast<func::FuncOp>(*program_.moduleOp().getOps<func::FuncOp>().begin());
  numThreads_ = program_.numWarps * 32;
  if (auto v = src->getAttrOfType<IntegerAttr>("ux.vec")) options_.vec = int(v.getInt());
  layouts_ = assignLayouts(src, program_.numWarps, options_.vec);
  axis_ = std::make_unique<AxisAnalysis>(src);

  GpuKernelModule result;
  result.numThreads = numThreads_;
  if (options_.annotateLayouts) {
    // The annotated copy is for humans (dumps); lowering reads the unannotated original.
    OwningOpRef<ModuleOp> annotated(program_.moduleOp().clone());
    auto f = *annotated->getOps<func::FuncOp>().begin();
    auto copyLayouts = assignLayouts(f, program_.numWarps, options_.vec);
    annotateLayouts(f, copyLayouts);
    llvm::raw_string_ostream os(result.layouts);
    annotated->print(os);
  }

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
  Block& entry = gfunc.getBody().front();
  for (unsigned i = 0; i < src.getNumArguments(); ++i) set(src.getArgument(i), {entry.getArgument(i)});

  b_.setInsertionPointToStart(&entry);
  Value tid = NVVM::ThreadIdXOp::create(b_, loc_, b_.getI32Type());
  lane_ = arith::AndIOp::create(b_, loc_, tid, c32(31));
  warp_ = arith::ShRUIOp::create(b_, loc_, tid, c32(5));
  entryMarker_ = c32(0).getDefiningOp();  // thread-coordinate math is inserted before this

  // The kernel's own ops, with the wait for earlier kernels before the first that needs it.
  if (program_.launchOverlap == dsl::LaunchOverlap::early) emitLaunchDependents();
  else emitWaitForPriorGrids();
  for (Operation& op : src.getBody().front().getOperations()) {
    if (!waitedForPriorGrids_ && touchesStreamOrderedMemory(&op)) emitWaitForPriorGrids();
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

// Programmatic dependent launch (sm_90+): launched with the runtime's programmatic-serialization
// attribute (codegen/runtime/cuda_module.h, LaunchOrder), a kernel may start before the kernel
// before it on the stream has finished. Two instructions place it among its neighbours:
// - griddepcontrol.wait: wait until the kernels before have finished and their writes are
//   visible. Emitted once, at top level (so it runs exactly once, whatever loops follow): at
//   entry, or with dsl::LaunchOverlap::early just before the first top-level op that loads
//   through a stream-ordered pointer argument or stores at all, so that the loads of constant
//   data before it (dsl::PointerAccess) are already on their way.
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

bool Lowering::touchesStreamOrderedMemory(Operation* top) {
  bool touches = false;
  top->walk([&](Operation* op) {
    if (isa<ux::StoreOp, ux::AtomicAddOp>(op)) touches = true;
    if (auto load = dyn_cast<ux::LoadOp>(op)) {
      int arg = pointerArgumentOf(load.getPtr());
      touches |= arg < 0 || program_.params[size_t(arg)].access != dsl::PointerAccess::constant;
    }
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
  if (auto s = dyn_cast<ux::StoreOp>(op)) return lowerStore(op, s.getPtr(), s.getValue(), s.getMask(), false);
  if (auto s = dyn_cast<ux::AtomicAddOp>(op))
    return lowerStore(op, s.getPtr(), s.getValue(), s.getMask(), true);
  if (auto r = dyn_cast<ux::ReduceOp>(op)) return lowerReduce(r);
  if (auto f = dyn_cast<scf::ForOp>(op)) return lowerFor(f);
  if (auto u = dyn_cast<ux::UnpackBitsOp>(op)) return lowerUnpackBits(u);
  if (auto d = dyn_cast<ux::DotOp>(op)) return lowerDot(d);
  if (op->getDialect() && op->getDialect()->getNamespace() == "arith") return lowerElementwise(op);
  fail(op, "no lowering for this op");
}

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

void Lowering::lowerElementwise(Operation* op) {
  Value result = op->getResult(0);
  bool tile = isa<RankedTensorType>(result.getType());
  std::vector<Elements> operands;
  for (Value v : op->getOperands()) operands.push_back(tile ? get(v, layoutOf(result)) : get(v));
  Type rt = ux::elementType(result.getType());
  size_t n = operands.empty() ? 1 : operands[0].size();
  Elements out;
  for (size_t k = 0; k < n; ++k) {
    OperationState st(loc_, op->getName());
    for (auto& e : operands) st.addOperands(e[k]);
    st.addTypes(rt);
    st.addAttributes(op->getAttrs());
    Operation* scalar = b_.create(st);
    // Let the backend fuse a multiply feeding an add into one fma: dequantization and
    // multiply-accumulate chains are most of a GEMV's instructions, and fma rounds once.
    if (auto fm = dyn_cast<arith::ArithFastMathInterface>(scalar))
      scalar->setAttr(fm.getFastMathAttrName(), arith::FastMathFlagsAttr::get(ctx_, arith::FastMathFlags::contract));
    out.push_back(scalar->getResult(0));
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

void Lowering::lowerUnpackBits(ux::UnpackBitsOp op) {
  const Layout& lo = layoutOf(op);
  auto outShape = shapeVec(op), inShape = shapeVec(op.getWords());
  int bits = op.getBits(), per = 32 / bits;
  int last = lo.dims.back();
  int spt = lo.params.sizePerThread[last];
  if (spt % per || outShape.back() < spt)
    fail(op, "each thread must hold whole words: the vector width (" + std::to_string(spt) +
                 ") must be a multiple of 32/bits = " + std::to_string(per) + " and at most the tile's last dimension");
  Layout li = lo;
  li.params.sizePerThread[last] = spt / per;
  Elements words = get(op.getWords(), li);
  ThreadElements to = threadElements(lo, outShape), ti = threadElements(li, inShape);
  Elements out;
  for (int k = 0; k < to.count(); ++k) {
    auto idx = to.split(k);
    int j = idx.back() % per;
    idx.back() /= per;  // run of spt fields <-> run of spt/per words, reps aligned
    Value w = words[ti.flatten(idx)];
    Value v = j ? (Value)arith::ShRUIOp::create(b_, loc_, w, c32(j * bits)) : w;
    if (bits < 32) v = arith::AndIOp::create(b_, loc_, v, c32((int64_t(1) << bits) - 1));
    out.push_back(v);
  }
  set(op, out);
}

Value Lowering::tileOffset(const SharedTile& t, Value row, Value colByte) {
  if (!t.swizzled) return add(mul(row, t.rowBytes), colByte);
  auto shr = [&](Value v, int b) -> Value { return arith::ShRUIOp::create(b_, loc_, v, c32(b)); };
  auto band = [&](Value v, int64_t m) -> Value { return arith::AndIOp::create(b_, loc_, v, c32(m)); };
  if (int nw = t.permutedWarps) {
    // r = rep*8nw + w*8 + g  ->  64 * block + 16 (w % 4) + 8 (rep % 2) + g, where block =
    // (rep / 2) * nw / 4 + w / 4 is the m64 block the warp's warpgroup computes for that rep
    // (16w + 8rep + g when every warpgroup has one block).
    Value w = band(shr(row, 3), nw - 1), rep = shr(row, 3 + log2i(nw));
    Value block = add(mul(shr(rep, 1), nw / 4), shr(w, 2));
    row = add(add(mul(block, 64), mul(band(w, 3), 16)), add(mul(band(rep, 1), 8), band(row, 7)));
  }
  Value r8 = band(row, 7);
  Value chunk = arith::XOrIOp::create(b_, loc_, band(shr(colByte, 4), 7), r8);
  Value block = add(mul(shr(colByte, 7), t.rows * 128), mul(row, 128));  // row = 8 * atom + r8
  return add(block, add(mul(chunk, 16), band(colByte, 15)));
}

bool Lowering::dotUsesWgmma(ux::DotOp dot) {
  auto acc = shapeVec(dot.getAcc()), a = shapeVec(dot.getA());
  return useWgmma(acc[0], acc[1], a[1], program_.numWarps, elemBytes(ux::elementType(dot.getA().getType())));
}

// The shared-memory form of a dot's operand (0: a, 1: w): mma.sync reads row-major tiles with
// rows padded by 16 bytes (the eight rows of an 8x8 ldmatrix read fall in distinct banks);
// wgmma reads the 128-byte swizzled form (SharedTile).
Lowering::SharedTile Lowering::dotOperandTile(ux::DotOp dot, int operand) {
  auto a = shapeVec(dot.getA());
  SharedTile t;
  t.rows = operand == 0 ? a[0] : shapeVec(dot.getAcc())[1];
  t.rowBytes = a[1] * elemBytes(ux::elementType(dot.getA().getType()));
  if (!dotUsesWgmma(dot)) {
    t.rowBytes += 16;
    return t;
  }
  t.swizzled = true;
  if (operand == 0) t.permutedWarps = program_.numWarps;
  return t;
}

// Writes a dot operand tile [rows, BK] (in its own layout) into shared memory at byte `base`
// of the scratch area, laid out as `t`; each thread stores its contiguous runs along k with
// vector stores of up to 16 bytes.
void Lowering::stageOperand(Value v, int64_t base, const SharedTile& t) {
  const Layout& l = layoutOf(v);
  auto shape = shapeVec(v);
  ThreadElements te = threadElements(l, shape);
  Elements e = get(v);
  Type elem = e[0].getType();
  int eb = elemBytes(elem);
  int w = 1;
  while (w * 2 <= te.runPerDim[1] && w * 2 * eb <= 16) w *= 2;
  for (int k = 0; k < te.count(); k += w) {
    auto idx = te.split(k);
    Value row = coordinate(l, te, idx, 0), col = coordinate(l, te, idx, 1);
    Value off = add(c32(base), tileOffset(t, row, mul(col, eb)));
    Value val = e[k];
    if (w > 1) {
      Value vec = LLVM::UndefOp::create(b_, loc_, VectorType::get({w}, elem));
      for (int i = 0; i < w; ++i) vec = LLVM::InsertElementOp::create(b_, loc_, vec, e[k + i], c32(i));
      val = w * eb >= 4 ? (Value)LLVM::BitcastOp::create(b_, loc_, VectorType::get({w * eb / 4}, b_.getI32Type()), vec)
                        : vec;
    }
    LLVM::StoreOp::create(b_, loc_, val, sharedPtr(off), /*alignment=*/w * eb);
  }
}

// The absolute byte offsets of a dot's operand tiles in shared memory for this step: the
// ring buffer when the loop pipelines the operand's load (already there: the loop waited and
// synchronized), else staged here, in the scratch area, in the form the dot reads
// (dotOperandTile). A w the dot takes from registers (dotWInRegisters) is left alone.
std::pair<Value, Value> Lowering::dotOperandsInShared(ux::DotOp op) {
  Value a = op.getA(), w = op.getB().getDefiningOp<ux::TransOp>().getSrc();
  SharedTile ta = dotOperandTile(op, 0), tw = dotOperandTile(op, 1);
  auto ringOf = [&](Value v, const SharedTile& want) -> const Ring* {
    auto it = rings_.find(v);
    if (it == rings_.end()) return nullptr;
    const SharedTile& t = it->second.tile;
    if (t.swizzled != want.swizzled || t.rowBytes != want.rowBytes || t.permutedWarps != want.permutedWarps)
      fail(op, "an operand's ring does not have the dot's layout");
    return &it->second;
  };
  const bool wInRegisters = dotWInRegisters(op);
  const Ring *ra = ringOf(a, ta), *rw = wInRegisters ? nullptr : ringOf(w, tw);
  int64_t aBytes = ra ? 0 : shapeVec(op.getAcc())[0] * ta.rowBytes;
  int64_t wBytes = rw || wInRegisters ? 0 : shapeVec(op.getAcc())[1] * tw.rowBytes;
  if (aBytes + wBytes) {
    useShared(aBytes + wBytes, op);
    // The previous readers of this memory (an earlier step's dot) must be done.
    if (sharedReadSinceBarrier_) barrier();
    if (!ra) stageOperand(a, 0, ta);
    if (!rw && !wInRegisters) stageOperand(w, aBytes, tw);
    if (ta.swizzled) proxyFence();  // generic-proxy stores, read by wgmma through the async proxy
    barrier();
  }
  return {ra ? ra->readOffset : c32(scratchBase_), rw ? rw->readOffset : c32(scratchBase_ + aBytes)};
}

// acc[BM, BN] += a[BM, BK] @ trans(w)[BK, BN] on mma.sync. Both operands are staged through
// shared memory: every thread stores its part of the tiles (each element once per CTA, so
// the dequantization before the dot is not repeated per warp), then each warp reads the
// fragments it needs with ldmatrix. Rows are padded by 16 bytes, which puts the eight rows
// of an 8x8 ldmatrix read in distinct banks.
//
// In bytes, a 32-byte step of k is one mma for every operand type: m16n8k16 for bf16/f16,
// m16n8k32 for int8. Its A fragment is 16 rows x 32 bytes = four 8x8 b16 matrices (rows
// 0-7 | 8-15, bytes 0-15 | 16-31) and its B fragment 8 rows of w x 32 bytes = two. The
// accumulator layout (mmaLayouts().acc) decides which rows each warp computes: local
// accumulator rows 2i, 2i+1 are an m16 block, columns 2j, 2j+1 of rep j an n8 block.
void Lowering::lowerDot(ux::DotOp op) {
  auto trans = op.getB().getDefiningOp<ux::TransOp>();
  if (!trans) fail(op, "the b operand must be trans(w) with w a [N, K] tile (weights are stored [N, K])");
  if (dotUsesWgmma(op)) return lowerWgmmaDot(op);
  if (dotWInRegisters(op)) return lowerRegisterDot(op);
  auto accShape = shapeVec(op.getAcc()), aShape = shapeVec(op.getA());
  int64_t BM = accShape[0], BN = accShape[1], BK = aShape[1];
  MmaLayouts m = mmaLayouts(BM, BN, BK, program_.numWarps);
  Layout lc = Layout::blocked(m.acc);
  Type elem = ux::elementType(op.getA().getType());
  bool isInt = elem.isInteger(8);
  int eb = isInt ? 1 : 2;
  int64_t stride = BK * eb + 16;
  auto [aBase, wBase] = dotOperandsInShared(op);

  Elements c = get(op.getAcc(), lc);
  ThreadElements tc = threadElements(lc, accShape);
  Type i32 = b_.getI32Type();
  // The lane's part of every ldmatrix address: lane = 8 * matrix + row of that matrix.
  Value r = arith::AndIOp::create(b_, loc_, lane_, c32(7));
  Value mat = arith::ShRUIOp::create(b_, loc_, lane_, c32(3));
  Value matLo = arith::AndIOp::create(b_, loc_, mat, c32(1)), matHi = arith::ShRUIOp::create(b_, loc_, mat, c32(1));
  int wnBits = log2i(m.warpsN);
  Value warpN = arith::AndIOp::create(b_, loc_, warp_, c32(m.warpsN - 1));
  Value warpM = arith::AndIOp::create(b_, loc_, arith::ShRUIOp::create(b_, loc_, warp_, c32(wnBits)), c32(m.warpsM - 1));
  // a: matrices (rows 0-7, bytes 0-15), (8-15, 0-15), (0-7, 16-31), (8-15, 16-31).
  Value aRow = add(add(mul(matLo, 8 * m.warpsM), mul(warpM, 8)), r);
  Value aLane = sharedAddress(add(aBase, add(mul(aRow, stride), mul(matHi, 16))));
  // w, two n8 blocks per x4: (block j, bytes 0-15), (j, 16-31), (j + 1, 0-15), (j + 1, 16-31).
  Value wRow = add(add(mul(matHi, 8 * m.warpsN), mul(warpN, 8)), r);
  Value wLane = sharedAddress(add(wBase, add(mul(wRow, stride), mul(matLo, 16))));
  auto ldmatrix = [&](Value addr, int n) {
    Type resT = LLVM::LLVMStructType::getLiteral(ctx_, SmallVector<Type>(n, i32));
    std::string text = "ldmatrix.sync.aligned.m8n8.x" + std::to_string(n) + ".shared.b16 " + regList(0, n) + ", [$" +
                       std::to_string(n) + "];";
    std::string cons;
    for (int i = 0; i < n; ++i) cons += "=r,";
    // Reads shared memory that the stores above wrote: keep it after the barrier.
    Value res = inlineAsm(b_, loc_, resT, ValueRange{addr}, text, cons + "r").getResult(0);
    sharedReadSinceBarrier_ = true;
    SmallVector<Value> regs;
    for (int i = 0; i < n; ++i) regs.push_back(LLVM::ExtractValueOp::create(b_, loc_, res, ArrayRef<int64_t>{i}));
    return regs;
  };

  int mBlocks = tc.countPerDim[0] / 2, nBlocks = tc.countPerDim[1] / 2;
  int64_t steps = BK * eb / 32;
  Elements out = c;
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<SmallVector<Value>> af, wf;
    for (int i = 0; i < mBlocks; ++i) af.push_back(ldmatrix(add(aLane, c32(2 * i * 8 * m.warpsM * stride + 32 * s)), 4));
    for (int j = 0; j < nBlocks; j += 2) {
      auto regs = ldmatrix(add(wLane, c32(j * 8 * m.warpsN * stride + 32 * s)), j + 1 < nBlocks ? 4 : 2);
      wf.push_back({regs[0], regs[1]});
      if (j + 1 < nBlocks) wf.push_back({regs[2], regs[3]});
    }
    for (int i = 0; i < mBlocks; ++i)
      for (int j = 0; j < nBlocks; ++j) {
        int c[4] = {tc.flatten({2 * i, 2 * j}), tc.flatten({2 * i, 2 * j + 1}), tc.flatten({2 * i + 1, 2 * j}),
                    tc.flatten({2 * i + 1, 2 * j + 1})};
        auto res = mmaSync(elem, af[i], wf[j], {out[c[0]], out[c[1]], out[c[2]], out[c[3]]});
        for (int q = 0; q < 4; ++q) out[c[q]] = res[q];
      }
  }
  set(op, out);
}

// One mma.sync: m16n8k16 for bf16/f16 (f32 accumulators), m16n8k32 for int8 (s32). `a` is the
// four 32-bit registers of the A fragment, `b` the two of the B fragment, `c` the
// accumulators; returns the new accumulators.
SmallVector<Value, 4> Lowering::mmaSync(Type elem, ArrayRef<Value> a, ArrayRef<Value> b, ArrayRef<Value> c) {
  bool isInt = elem.isInteger(8);
  std::string shape = isInt ? "m16n8k32.row.col.s32.s8.s8.s32" : elem.isBF16() ? "m16n8k16.row.col.f32.bf16.bf16.f32"
                                                                               : "m16n8k16.row.col.f32.f16.f16.f32";
  std::string text = "mma.sync.aligned." + shape + " {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};";
  std::string cr = isInt ? "r" : "f";
  std::string cons = "=" + cr + ",=" + cr + ",=" + cr + ",=" + cr + ",r,r,r,r,r,r," + cr + "," + cr + "," + cr + "," + cr;
  Type accT = isInt ? (Type)b_.getI32Type() : (Type)b_.getF32Type();
  Type resT = LLVM::LLVMStructType::getLiteral(ctx_, SmallVector<Type>(4, accT));
  SmallVector<Value> ops(a.begin(), a.end());
  ops.append(b.begin(), b.end());
  ops.append(c.begin(), c.end());
  Value res = inlineAsm(b_, loc_, resT, ops, text, cons, /*sideEffects=*/false).getResult(0);
  SmallVector<Value, 4> out;
  for (int64_t q = 0; q < 4; ++q) out.push_back(LLVM::ExtractValueOp::create(b_, loc_, res, ArrayRef<int64_t>{q}));
  return out;
}

// True when the dot's w operand has the register form of mmaRegisterOperandParams (the layout
// pass gave it that layout): lowerRegisterDot then takes the B fragments from registers.
bool Lowering::dotWInRegisters(ux::DotOp dot) {
  auto trans = dot.getB().getDefiningOp<ux::TransOp>();
  if (!trans || dotUsesWgmma(dot)) return false;
  auto acc = shapeVec(dot.getAcc()), a = shapeVec(dot.getA());
  auto p = mmaRegisterOperandParams(acc[0], acc[1], a[1], program_.numWarps,
                                    elemBytes(ux::elementType(dot.getA().getType())), options_.vec);
  return p && layoutOf(trans.getSrc()) == Layout::blocked(*p);
}

// acc[BM, BN] += a[BM, BK] @ trans(w)[BK, BN] on mma.sync with w in registers, in the form of
// mmaRegisterOperandParams: thread (g, c) holds rows of w, one per n8 block, and runs of S
// consecutive k. The a tile goes through shared memory as for lowerDot (padded rows, a ring
// or staged), and each thread reads the a rows its fragments need (16 i + g, 16 i + 8 + g)
// over its own k run with ld.shared. A k step of the mma takes 8 bytes of the run: the first
// 4 bytes are the fragment's k 2c, 2c+1 (16-bit; 4c..4c+3 for int8), the next 4 its k 2c+8,
// 2c+9 (16+4c..), in both fragments, so each product pairs the same k of a and w.
void Lowering::lowerRegisterDot(ux::DotOp op) {
  Value w = op.getB().getDefiningOp<ux::TransOp>().getSrc();
  auto accShape = shapeVec(op.getAcc()), aShape = shapeVec(op.getA());
  int64_t BM = accShape[0], BN = accShape[1], BK = aShape[1];
  Layout lc = Layout::blocked(mmaLayouts(BM, BN, BK, program_.numWarps).acc);
  Type elem = ux::elementType(op.getA().getType());
  int eb = elemBytes(elem);
  int64_t stride = dotOperandTile(op, 0).rowBytes;
  Value aBase = dotOperandsInShared(op).first;

  const Layout& lw = layoutOf(w);
  ThreadElements tw = threadElements(lw, shapeVec(w));
  Elements wv = get(w);
  const int runBytes = lw.params.sizePerThread[1] * eb, perReg = 4 / eb;
  const int64_t kBlocks = BK * eb / (4 * runBytes);
  Type i32 = b_.getI32Type();
  auto packed = [&](int first) -> Value {  // w elements first .. first + perReg as one register
    Value vec = LLVM::UndefOp::create(b_, loc_, VectorType::get({perReg}, elem));
    for (int i = 0; i < perReg; ++i) vec = LLVM::InsertElementOp::create(b_, loc_, vec, wv[first + i], c32(i));
    return LLVM::BitcastOp::create(b_, loc_, i32, vec);
  };
  // Each thread's a rows 16 i + 8 h + g, from byte c * runBytes of every 4 * runBytes k block.
  Value g = arith::ShRUIOp::create(b_, loc_, lane_, c32(2));
  Value cq = arith::AndIOp::create(b_, loc_, lane_, c32(3));
  Value aLane = add(aBase, add(mul(g, stride), mul(cq, runBytes)));
  auto aRun = [&](int64_t row, int64_t kb) {  // runBytes of row `row` (+ g), block kb, as registers
    SmallVector<Value> regs;
    for (int off = 0; off < runBytes; off += 16) {
      int n = std::min(16, runBytes - off) / 4;
      Value ptr = sharedPtrAt(add(aLane, c32(row * stride + kb * 4 * runBytes + off)));
      Value v = LLVM::LoadOp::create(b_, loc_, VectorType::get({n}, i32), ptr, /*alignment=*/n * 4);
      for (int i = 0; i < n; ++i) regs.push_back(LLVM::ExtractElementOp::create(b_, loc_, v, c32(i)));
    }
    sharedReadSinceBarrier_ = true;
    return regs;
  };

  Elements out = get(op.getAcc(), lc);
  ThreadElements tc = threadElements(lc, accShape);
  const int mBlocks = int(BM / 16), nBlocks = tw.countPerDim[0];
  for (int64_t kb = 0; kb < kBlocks; ++kb) {
    std::vector<std::array<SmallVector<Value>, 2>> arows(mBlocks);
    for (int i = 0; i < mBlocks; ++i) arows[i] = {aRun(16 * i, kb), aRun(16 * i + 8, kb)};
    for (int s = 0; s < runBytes / 8; ++s) {
      for (int j = 0; j < nBlocks; ++j) {
        int first = tw.flatten({j, int(kb * runBytes / eb + s * 8 / eb)});
        SmallVector<Value> bf{packed(first), packed(first + perReg)};
        for (int i = 0; i < mBlocks; ++i) {
          SmallVector<Value> af{arows[i][0][2 * s], arows[i][1][2 * s], arows[i][0][2 * s + 1], arows[i][1][2 * s + 1]};
          int c[4] = {tc.flatten({2 * i, 2 * j}), tc.flatten({2 * i, 2 * j + 1}), tc.flatten({2 * i + 1, 2 * j}),
                      tc.flatten({2 * i + 1, 2 * j + 1})};
          auto res = mmaSync(elem, af, bf, {out[c[0]], out[c[1]], out[c[2]], out[c[3]]});
          for (int q = 0; q < 4; ++q) out[c[q]] = res[q];
        }
      }
    }
  }
  set(op, out);
}

// acc[BM, BN] += a[BM, BK] @ trans(w)[BK, BN] on wgmma (sm_90a), BM = 16 or 32 * numWarps:
// each warpgroup (4 warps) computes one or two m64 blocks x BN with one wgmma.mma_async per
// block and 32 bytes of k, both operands read from shared memory through descriptors (128-byte
// swizzle, K-major: 1024 bytes between 8-row atoms; a k step's start moves 32 bytes along the
// 128-byte row, and by a whole [rows, 128 B] block every four steps). The accumulator layout
// (wgmmaLayouts) gives thread (warp w, lane) rows rep*8*numWarps + w*8 + g (g = lane / 4) of
// every n8 block, while wgmma computes rows 16 (w % 4) + g and 16 (w % 4) + 8 + g of an m64
// block: the a tile is stored with its rows permuted to match (tileOffset; reps 2b and 2b + 1
// are block b of the warpgroup), so each thread's registers hold its own rows. Two blocks per
// warpgroup halve the w tile (and its dequantization) per multiply-add. The dot waits for its
// wgmma group before returning.
void Lowering::lowerWgmmaDot(ux::DotOp op) {
  auto accShape = shapeVec(op.getAcc()), aShape = shapeVec(op.getA());
  int64_t BN = accShape[1], BK = aShape[1];
  int nw = program_.numWarps;
  Layout lc = Layout::blocked(wgmmaLayouts(nw).acc);
  Type elem = ux::elementType(op.getA().getType());
  bool isInt = elem.isInteger(8);
  int eb = isInt ? 1 : 2;
  SharedTile ta = dotOperandTile(op, 0), tw = dotOperandTile(op, 1);
  auto [aBase, wBase] = dotOperandsInShared(op);

  Type i64 = b_.getI64Type(), i32 = b_.getI32Type();
  // Descriptor: start address >> 4 in bits 0-13, leading byte offset >> 4 in 16-29 (unused
  // with this swizzle: 1), stride byte offset >> 4 in 32-45, 128-byte swizzle (1) in 62-63.
  auto descriptor = [&](Value byteOffset) -> Value {
    Value addr = arith::ShRUIOp::create(b_, loc_, sharedAddress(byteOffset), c32(4));
    addr = arith::AndIOp::create(b_, loc_, addr, c32(0x3FFF));
    int64_t fixed = (int64_t(1) << 16) | (int64_t(1024 >> 4) << 32) | (int64_t(1) << 62);
    Value wide = arith::ExtUIOp::create(b_, loc_, i64, addr);
    return arith::OrIOp::create(b_, loc_, wide, arith::ConstantOp::create(b_, loc_, b_.getI64IntegerAttr(fixed)));
  };
  // This warpgroup's m64 blocks of a (tileOffset): block b of warpgroup G is tile block
  // b * nw / 4 + G, 8 atoms of 1024 bytes each.
  const int mBlocks = int(aShape[0] / (16 * nw));
  Value group = arith::ShRUIOp::create(b_, loc_, warp_, c32(2));
  auto aBlock = [&](int b) { return add(aBase, mul(add(group, c32(b * nw / 4)), 8 * 1024)); };
  auto kStep = [&](const SharedTile& t, int64_t s) { return (32 * s / 128) * t.rows * 128 + 32 * s % 128; };

  Elements c = get(op.getAcc(), lc);
  ThreadElements tc = threadElements(lc, accShape);
  int nBlocks = int(BN / 8), regs = 4 * nBlocks;
  // The accumulator registers of block b: local rows 2b (g) and 2b + 1 (g + 8) of the layout.
  std::vector<std::vector<int>> slots(mBlocks, std::vector<int>(regs));
  for (int b = 0; b < mBlocks; ++b)
    for (int j = 0; j < nBlocks; ++j) {
      std::vector<int>& slot = slots[b];
      slot[4 * j + 0] = tc.flatten({2 * b, 2 * j}), slot[4 * j + 1] = tc.flatten({2 * b, 2 * j + 1});
      slot[4 * j + 2] = tc.flatten({2 * b + 1, 2 * j}), slot[4 * j + 3] = tc.flatten({2 * b + 1, 2 * j + 1});
    }
  std::string shape = "m64n" + std::to_string(BN) + (isInt ? "k32.s32.s8.s8" : elem.isBF16() ? "k16.f32.bf16.bf16" : "k16.f32.f16.f16");
  std::string text = "{ .reg .pred p; setp.ne.b32 p, $" + std::to_string(regs + 2) + ", 0; wgmma.mma_async.sync.aligned." +
                     shape + " {";
  for (int i = 0; i < regs; ++i) text += (i ? ", $" : "$") + std::to_string(i);
  text += "}, $" + std::to_string(regs) + ", $" + std::to_string(regs + 1) + ", p" + (isInt ? "" : ", 1, 1, 0, 0") + "; }";
  std::string cr = isInt ? "r" : "f", cons;
  for (int i = 0; i < regs; ++i) cons += "=" + cr + ",";
  cons += "l,l,r";
  for (int i = 0; i < regs; ++i) cons += "," + std::to_string(i);
  Type accT = isInt ? (Type)i32 : (Type)b_.getF32Type();
  Type resT = LLVM::LLVMStructType::getLiteral(ctx_, SmallVector<Type>(regs, accT));

  Elements out = c;
  inlineAsm(b_, loc_, Type(), ValueRange{}, "wgmma.fence.sync.aligned;", "~{memory}");
  for (int64_t s = 0; s < BK * eb / 32; ++s) {
    Value wDesc = descriptor(add(wBase, c32(kStep(tw, s))));
    for (int b = 0; b < mBlocks; ++b) {
      SmallVector<Value> operands{descriptor(add(aBlock(b), c32(kStep(ta, s)))), wDesc, c32(1)};
      for (int i = 0; i < regs; ++i) operands.push_back(out[slots[b][i]]);
      Value res = inlineAsm(b_, loc_, resT, operands, text, cons).getResult(0);
      for (int i = 0; i < regs; ++i) out[slots[b][i]] = LLVM::ExtractValueOp::create(b_, loc_, res, ArrayRef<int64_t>{i});
    }
  }
  inlineAsm(b_, loc_, Type(), ValueRange{}, "wgmma.commit_group.sync.aligned;", "~{memory}");
  // In a chain (the accumulators go only to the next step's wgmmas, wgmmaChainsOnRings), the
  // previous step's group must be done: its ring buffer is refilled at the next step's top.
  wgmmaWait(wgmmaInFlight_ ? 1 : 0);
  sharedReadSinceBarrier_ = true;
  set(op, out);
}

// True when every dot in the body runs on wgmma with both operands in rings, and each dot's
// result is only carried to the next step as that same dot's accumulator: then the wgmmas of
// one step can keep running while the next step waits for its copies, nothing reads their
// registers in between.
bool Lowering::wgmmaChainsOnRings(scf::ForOp loop, const std::vector<std::pair<AsyncLoad, Ring>>& async) {
  auto inRing = [&](Value v) {
    return llvm::any_of(async, [&](const auto& a) { return ux::LoadOp(a.first.load).getResult() == v && a.second.feedsWgmma; });
  };
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  bool any = false;
  for (Operation& o : loop.getBody()->without_terminator()) {
    auto dot = dyn_cast<ux::DotOp>(o);
    if (!dot) continue;
    any = true;
    auto trans = dot.getB().getDefiningOp<ux::TransOp>();
    if (!trans || !dotUsesWgmma(dot) || !inRing(dot.getA()) || !inRing(trans.getSrc())) return false;
    if (!dot.getResult().hasOneUse() || *dot.getResult().getUsers().begin() != yield.getOperation()) return false;
    auto acc = dyn_cast<BlockArgument>(dot.getAcc());
    if (!acc || acc.getOwner() != loop.getBody() || acc.getArgNumber() == 0) return false;
    unsigned carried = acc.getArgNumber() - 1;
    if (yield.getOperand(carried) != dot.getResult() || !acc.hasOneUse()) return false;
  }
  return any;
}

// A loop marked with stages S >= 2 and with async loads (async_loads.h) is pipelined:
//   prologue:  barrier; for j < S-1: cp.async step j's tiles into buffer j; commit
//   step t:    wait until step t's group landed (S-2 groups may stay in flight); barrier;
//              cp.async step t+S-1's tiles into the buffer step t-1 read; commit;
//              the body, reading step t's tiles from buffer t % S
//   epilogue:  wait for all groups; barrier
// The barrier of step t also orders step t-1's reads of the buffer before its overwrite, so
// one barrier per step suffices. Copies for steps past the end are masked (zero-filled, no
// global read). The loop carries the index of the buffer it reads.
void Lowering::lowerFor(scf::ForOp op) {
  Value lo = get(op.getLowerBound())[0], hi = get(op.getUpperBound())[0], step = get(op.getStep())[0];
  SmallVector<Value> inits;
  std::vector<size_t> counts;
  for (Value init : op.getInitArgs()) {
    Elements e = isa<RankedTensorType>(init.getType()) ? get(init, layoutOf(init)) : get(init);
    counts.push_back(e.size());
    inits.append(e.begin(), e.end());
  }
  const int stages = loopStages(op);
  std::vector<std::pair<AsyncLoad, Ring>> async;
  int64_t savedScratch = scratchBase_;
  for (AsyncLoad& a : findAsyncLoads(op))
    if (auto r = planRing(a)) async.emplace_back(std::move(a), *r);
  // Copies run `ahead` steps ahead. When every dot of the body is a wgmma chain fed by rings
  // alone, a step's wgmmas may still run during the next step (wgmmaInFlight_): one buffer
  // more stays untouched for them, so copies run one step less ahead.
  bool chains = stages >= 3 && !async.empty() && wgmmaChainsOnRings(op, async);
  const int ahead = chains ? stages - 2 : stages - 1;
  bool savedChains = wgmmaInFlight_;
  wgmmaInFlight_ = chains;
  if (!async.empty()) {
    scratchBase_ = (scratchBase_ + 1023) / 1024 * 1024;  // rings start on swizzle atoms
    for (auto& [a, r] : async) {
      r.offset = scratchBase_;
      scratchBase_ += stages * r.stageBytes;
    }
    useShared(0, op);
    barrier();  // earlier users of this shared memory are done before the prologue writes it
    for (int j = 0; j < ahead; ++j) {
      Value iv = add(lo, arith::MulIOp::create(b_, loc_, step, c32(j)));
      Value valid = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::slt, iv, hi);
      for (auto& [a, r] : async)
        issueAsyncCopies(a, r, op.getInductionVar(), iv, valid, c32(r.offset + j * r.stageBytes));
      asyncCommit();
    }
    inits.push_back(c32(0));  // the buffer step 0 reads
  }
  auto loop = scf::ForOp::create(b_, loc_, lo, hi, step, inits);
  Block* body = loop.getBody();
  set(op.getInductionVar(), {loop.getInductionVar()});
  size_t pos = 0;
  for (unsigned i = 0; i < op.getNumRegionIterArgs(); ++i) {
    Elements e;
    for (size_t j = 0; j < counts[i]; ++j) e.push_back(loop.getRegionIterArgs()[pos + j]);
    set(op.getRegionIterArgs()[i], e);
    pos += counts[i];
  }
  {
    OpBuilder::InsertionGuard guard(b_);
    if (!body->empty() && body->back().hasTrait<OpTrait::IsTerminator>()) body->back().erase();
    b_.setInsertionPointToEnd(body);
    sharedReadSinceBarrier_ = true;  // by the previous iteration
    Value nextBuffer;
    if (!async.empty()) {
      Value buffer = loop.getRegionIterArgs().back();
      asyncWait(ahead - 1);
      // wgmma reads shared memory through the async proxy: order the copies before it.
      if (llvm::any_of(async, [](const auto& a) { return a.second.feedsWgmma; })) proxyFence();
      barrier();
      Value iv = add(loop.getInductionVar(), arith::MulIOp::create(b_, loc_, step, c32(ahead)));
      Value valid = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::slt, iv, hi);
      // The buffer of step t + ahead: (buffer + ahead) mod stages.
      Value sum = add(buffer, c32(ahead));
      Value wraps = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::sge, sum, c32(stages));
      Value target = arith::SelectOp::create(b_, loc_, wraps, arith::SubIOp::create(b_, loc_, sum, c32(stages)), sum);
      for (auto& [a, r] : async) {
        issueAsyncCopies(a, r, op.getInductionVar(), iv, valid, add(c32(r.offset), mul(target, r.stageBytes)));
        r.readOffset = add(c32(r.offset), mul(buffer, r.stageBytes));
        rings_[a.load.getResult()] = r;
      }
      asyncCommit();
      Value isLast = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::eq, buffer, c32(stages - 1));
      nextBuffer = arith::SelectOp::create(b_, loc_, isLast, c32(0), add(buffer, c32(1)));
    }
    for (Operation& inner : op.getBody()->without_terminator()) lowerOp(&inner);
    auto yield = cast<scf::YieldOp>(op.getBody()->getTerminator());
    SmallVector<Value> yields;
    for (unsigned i = 0; i < yield.getNumOperands(); ++i) {
      Value y = yield.getOperand(i);
      Elements e = isa<RankedTensorType>(y.getType()) ? get(y, layoutOf(op.getRegionIterArgs()[i])) : get(y);
      yields.append(e.begin(), e.end());
    }
    if (nextBuffer) yields.push_back(nextBuffer);
    scf::YieldOp::create(b_, loc_, yields);
  }
  sharedReadSinceBarrier_ = true;  // by the last iteration
  if (chains) wgmmaWait(0);  // the last step's wgmmas, before anyone reads the accumulators
  wgmmaInFlight_ = savedChains;
  if (!async.empty()) {
    asyncWait(0);  // copies for steps past the end may still be writing
    barrier();
    for (auto& [a, r] : async) rings_.erase(a.load.getResult());
    scratchBase_ = savedScratch;
  }
  pos = 0;
  for (unsigned i = 0; i < op.getNumResults(); ++i) {
    Elements e;
    for (size_t j = 0; j < counts[i]; ++j) e.push_back(loop.getResult(pos + j));
    set(op.getResult(i), e);
    pos += counts[i];
  }
}

}  // namespace uintx::codegen

namespace uintx::codegen {

// ---- memory ------------------------------------------------------------------------------

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

// The vector width for a run of `run` elements along the last dim given what is known of
// the pointers and the mask: contiguous, aligned, uniformly masked, at most 16 bytes.
static int vectorWidth(int run, const AxisInfo& ptr, const AxisInfo* mask, int eb) {
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

// ---- reductions -------------------------------------------------------------------------

void Lowering::lowerReduce(ux::ReduceOp op) {
  bool isSum = op.getKind() == "sum";
  bool isUnsignedMax = op.getKind() == "maxu";
  Type elem = ux::elementType(op.getSrc().getType());
  bool narrowFloat = elem.isBF16() || elem.isF16();
  bool narrowInt = elem.isInteger() && elem.getIntOrFloatBitWidth() < 32;
  Type acc = narrowFloat ? (Type)b_.getF32Type() : narrowInt ? (Type)b_.getI32Type() : elem;
  auto combine = [&](Value a, Value c) -> Value {
    // contract: a product summed here may fuse into an fma (see lowerElementwise).
    if (isa<FloatType>(acc))
      return isSum ? (Value)arith::AddFOp::create(b_, loc_, a, c, arith::FastMathFlags::contract)
                   : arith::MaximumFOp::create(b_, loc_, a, c);
    if (isSum) return arith::AddIOp::create(b_, loc_, a, c);
    return isUnsignedMax ? (Value)arith::MaxUIOp::create(b_, loc_, a, c) : arith::MaxSIOp::create(b_, loc_, a, c);
  };
  auto widen = [&](Value v) -> Value {
    if (narrowFloat) return arith::ExtFOp::create(b_, loc_, acc, v);
    if (narrowInt && isUnsignedMax) return arith::ExtUIOp::create(b_, loc_, acc, v);
    if (narrowInt) return arith::ExtSIOp::create(b_, loc_, acc, v);
    return v;
  };
  auto narrow = [&](Value v) -> Value {
    if (narrowFloat) return arith::TruncFOp::create(b_, loc_, elem, v);
    if (narrowInt) return arith::TruncIOp::create(b_, loc_, elem, v);
    return v;
  };

  const Layout& l = layoutOf(op.getSrc());
  auto shape = shapeVec(op.getSrc());
  int axis = op.getAxis();
  ThreadElements te = threadElements(l, shape);
  Elements src = get(op.getSrc());
  Layout lo = l.slice(axis);
  std::vector<int64_t> outShape = shape;
  outShape.erase(outShape.begin() + axis);
  ThreadElements to = threadElements(lo, outShape);

  // 1. Within the thread.
  Elements partial;
  for (int k = 0; k < to.count(); ++k) {
    auto oidx = to.split(k);
    Value a;
    for (int j = 0; j < te.countPerDim[axis]; ++j) {
      auto idx = oidx;
      idx.insert(idx.begin() + axis, j);
      Value v = widen(src[te.flatten(idx)]);
      a = a ? combine(a, v) : v;
    }
    partial.push_back(a);
  }
  // 2. Across the lanes that hold distinct positions along the axis.
  const BlockedParams& p = l.params;
  int pd = l.dims[axis];
  int64_t size = shape[axis];
  int laneShift = p.laneShift(pd);
  int64_t lanes = std::clamp<int64_t>(size / p.sizePerThread[pd], 1, p.threadsPerWarp[pd]);
  for (Value& a : partial)
    for (int bit = 0; (int64_t(1) << bit) < lanes; ++bit) {
      auto sh = gpu::ShuffleOp::create(b_, loc_, a, 1 << (laneShift + bit), 32, gpu::ShuffleMode::XOR);
      a = combine(a, sh.getShuffleResult());
    }
  // 3. Across warps, through shared memory.
  int64_t warps = std::clamp<int64_t>(size / (int64_t(p.sizePerThread[pd]) * p.threadsPerWarp[pd]), 1,
                                      p.warpsPerCta[pd]);
  if (warps > 1) {
    int warpShift = p.warpShift(pd);
    int64_t outNumel = 1;
    for (auto d : outShape) outNumel *= d;
    int eb = elemBytes(acc);
    useShared(warps * outNumel * eb, op);
    Value warpC = arith::AndIOp::create(b_, loc_, arith::ShRUIOp::create(b_, loc_, warp_, c32(warpShift)),
                                        c32(p.warpsPerCta[pd] - 1));
    barrier();
    std::vector<Value> lin;
    for (int k = 0; k < to.count(); ++k) {
      lin.push_back(outShape.empty() ? c32(0) : linearIndex(lo, to, k));
      Value slot = add(mul(warpC, outNumel), lin[k]);
      // Warps beyond `warps` hold duplicates and would write out of range: mask them.
      Value inRange = arith::CmpIOp::create(b_, loc_, arith::CmpIPredicate::ult, warpC, c32(warps));
      auto ifOp = scf::IfOp::create(b_, loc_, inRange, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b_);
      b_.setInsertionPointToStart(ifOp.thenBlock());
      storeShared(mul(slot, eb), partial[k]);
    }
    barrier();
    for (int k = 0; k < to.count(); ++k) {
      Value a;
      for (int w = 0; w < warps; ++w) {
        Value v = loadShared(mul(add(c32(w * outNumel), lin[k]), eb), acc);
        a = a ? combine(a, v) : v;
      }
      partial[k] = a;
    }
  }
  Elements out;
  for (Value a : partial) out.push_back(narrow(a));
  set(op, out);
}

// ---- software pipelining ------------------------------------------------------------------

// True when every use of `v` is as a dot operand (a, or w under trans(w) as b) read from
// shared memory by the dot itself: such a tile never needs registers. (A w the dot takes
// from registers, dotWInRegisters, does.)
bool Lowering::feedsOnlyDots(Value v) {
  auto isDotB = [&](Operation* t) {
    return isa<ux::TransOp>(t) && !t->use_empty() && llvm::all_of(t->getUses(), [&](OpOperand& u) {
      auto d = dyn_cast<ux::DotOp>(u.getOwner());
      return d && u.getOperandNumber() == 1 && !dotWInRegisters(d);
    });
  };
  return !v.use_empty() && llvm::all_of(v.getUses(), [&](OpOperand& u) {
    return (isa<ux::DotOp>(u.getOwner()) && u.getOperandNumber() == 0) || isDotB(u.getOwner());
  });
}

// The first dot that reads `v` from shared memory, and as which operand (0: a, 1: w under trans).
std::optional<std::pair<ux::DotOp, int>> Lowering::dotUseOf(Value v) {
  for (OpOperand& u : v.getUses()) {
    if (auto d = dyn_cast<ux::DotOp>(u.getOwner()); d && u.getOperandNumber() == 0) return std::make_pair(d, 0);
    if (isa<ux::TransOp>(u.getOwner()))
      for (OpOperand& t : u.getOwner()->getUses())
        if (auto d = dyn_cast<ux::DotOp>(t.getOwner()); d && t.getOperandNumber() == 1 && !dotWInRegisters(d))
          return std::make_pair(d, 1);
  }
  return std::nullopt;
}

// The ring of an async load, or nullopt when its accesses are not 4, 8 or 16 bytes per
// thread (then it stays an ordinary load). Tiles a dot reads have the dot's padded rows.
std::optional<Lowering::Ring> Lowering::planRing(const AsyncLoad& a) {
  ux::LoadOp op = a.load;
  auto shape = shapeVec(op);
  ThreadElements te = threadElements(layoutOf(op), shape);
  int eb = elemBytes(ux::elementType(op.getType()));
  AxisInfo am = op.getMask() ? axis_->get(op.getMask()) : AxisInfo();
  int w = vectorWidth(te.runPerDim.back(), axis_->get(op.getPtr()), op.getMask() ? &am : nullptr, eb);
  if (w * eb < 4) return std::nullopt;
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < shape.size(); ++d) rows *= shape[d];
  Ring r;
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

Value Lowering::ringElementOffset(const Ring& r, ux::LoadOp load, const ThreadElements& te, int k) {
  const Layout& l = layoutOf(load);
  auto idx = te.split(k);
  int last = int(te.shape.size()) - 1;
  Value row = c32(0);
  int64_t stride = 1;
  for (int d = last - 1; d >= 0; --d) {
    row = add(row, mul(coordinate(l, te, idx, d), stride));
    stride *= te.shape[d];
  }
  return tileOffset(r.tile, row, mul(coordinate(l, te, idx, last), elemBytes(ux::elementType(load.getType()))));
}

// Issues the cp.async copies of `a` for the step whose induction variable is `iv`, into the
// buffer at absolute byte `stageOffset`; `valid` masks the whole step. The address
// computation is lowered again with the loop's induction variable standing for `iv`.
void Lowering::issueAsyncCopies(const AsyncLoad& a, const Ring& r, Value loopIv, Value iv, Value valid,
                                Value stageOffset) {
  Elements savedIv = vals_.count(loopIv) ? get(loopIv) : Elements();
  set(loopIv, {iv});
  for (Operation* o : a.addressOps) lowerOp(o);
  ux::LoadOp op = a.load;
  const Layout& l = layoutOf(op);
  ThreadElements te = threadElements(l, shapeVec(op));
  Elements ptrs = get(op.getPtr(), l);
  Elements mask = op.getMask() ? get(op.getMask(), l) : Elements();
  int bytes = r.width * elemBytes(ux::elementType(op.getType()));
  // .cg (bypass L1) exists only for 16-byte copies.
  std::string text = std::string("cp.async.") + (bytes == 16 ? "cg" : "ca") + ".shared.global [$0], [$1], " +
                     std::to_string(bytes) + ", $2;";
  for (int k = 0; k < te.count(); k += r.width) {
    Value pred = mask.empty() ? valid : (Value)arith::AndIOp::create(b_, loc_, mask[k], valid);
    Value srcBytes = arith::SelectOp::create(b_, loc_, pred, c32(bytes), c32(0));  // 0: zero-fill, no read
    Value dst = sharedAddress(add(stageOffset, ringElementOffset(r, op, te, k)));
    inlineAsm(b_, loc_, Type(), ValueRange{dst, ptrs[k], srcBytes}, text, "r,l,r,~{memory}");
  }
  for (Operation* o : a.addressOps)
    for (Value res : o->getResults()) vals_.erase(res);
  if (savedIv.empty()) vals_.erase(loopIv);
  else set(loopIv, savedIv);
}

// An async load in the body: its tile is in this step's buffer. Dots read it from there;
// any other user gets it in registers, each thread reading back what it copied.
void Lowering::lowerRingLoad(ux::LoadOp op, const Ring& r) {
  if (feedsOnlyDots(op.getResult())) return;
  Type t = ux::elementType(op.getType());
  ThreadElements te = threadElements(layoutOf(op), shapeVec(op));
  int eb = elemBytes(t);
  auto vecT = VectorType::get({r.width}, t);
  Elements out;
  for (int k = 0; k < te.count(); k += r.width) {
    Value ptr = sharedPtrAt(add(r.readOffset, ringElementOffset(r, op, te, k)));
    Value v = LLVM::LoadOp::create(b_, loc_, vecT, ptr, /*alignment=*/r.width * eb);
    sharedReadSinceBarrier_ = true;
    for (int i = 0; i < r.width; ++i) out.push_back(LLVM::ExtractElementOp::create(b_, loc_, v, c32(i)));
  }
  set(op, out);
}

GpuKernelModule lowerToGpu(const dsl::KernelProgram& program, const LoweringOptions& options) {
  return Lowering(program, options).run();
}

}  // namespace uintx::codegen
