// What the lowering of one kernel shares across the files of codegen/lowering/: the Lowering
// class (builder, per-thread values of every lowered value, layouts, axis info, shared-memory
// bookkeeping), declared once here and defined by concern, one op family per file (the
// arrangement of Triton's lib/Conversion/TritonGPUToLLVM):
//   lower_kernel.cc     the gpu.func, op dispatch, programmatic dependent launch
//   thread_values.cc    thread coordinates under a layout, values in the layout an op wants
//   shared_memory.cc    shared-memory access, layout conversions, reshape and trans
//   elementwise.cc      constants, arith and math.fma ops (16-bit ones two lanes at a time),
//                       broadcast, expand_dims, unpack_bits
//   memory_ops.cc       global loads, stores and atomics
//   reduce.cc           reductions
//   dot_operands.cc     dot operands in shared memory (padding, swizzle, staging)
//   dot_mma.cc          dot on mma.sync
//   dot_wgmma.cc        dot on wgmma
//   pipeline_loops.cc   scf.for and its rings of copies (software pipelining)
//   warp_specialized_loops.cc  the same with a producer warpgroup for its TMA copies
//   tensor_copies.cc    load_block: TMA copies and the mbarriers that wait for them
// Internal to codegen: the public entry point is lower_to_gpu.h.
#pragma once

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codegen/assign_layouts.h"
#include "codegen/async_loads.h"
#include "codegen/axis_info.h"
#include "codegen/layout.h"
#include "codegen/layout_attr.h"
#include "codegen/lower_to_gpu.h"
#include "dsl/UxDialect.h"
#include "dsl/tensor_block.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
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
inline constexpr const char* kSharedName = "ux_smem";

inline int log2i(int64_t v) {
  int l = 0;
  while ((int64_t(1) << l) < v) ++l;
  return l;
}

inline std::vector<int64_t> shapeVec(Value v) {
  auto s = ux::shapeOf(v.getType());
  return std::vector<int64_t>(s.begin(), s.end());
}

// Predicated accesses use inline PTX so that a masked vector access is one instruction
// under a predicate, not a branch (what Triton does too).
inline std::string regList(int first, int n) {
  std::string s = n > 1 ? "{" : "";
  for (int i = 0; i < n; ++i) s += (i ? ", $" : "$") + std::to_string(first + i);
  return s + (n > 1 ? "}" : "");
}

inline LLVM::InlineAsmOp inlineAsm(OpBuilder& b, Location loc, Type result, ValueRange operands,
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
  Lowering(func::FuncOp kernel, const KernelFacts& facts, const LoweringOptions& options)
      : src_(kernel), facts_(facts), options_(options), ctx_(kernel->getContext()), b_(ctx_),
        loc_(UnknownLoc::get(ctx_)) {}

  GpuKernelModule run();

 private:
  void readLayouts();
  [[noreturn]] void fail(Operation* op, const std::string& msg) {
    std::string name = op ? op->getName().getStringRef().str() : "kernel";
    throw Error("codegen of kernel '" + facts_.name + "': " + name + ": " + msg);
  }

  // ---- types and constants ----
  Type scalarType(Type uxElement) {
    if (isa<ux::PointerType>(uxElement)) return LLVM::LLVMPointerType::get(ctx_, 1);
    // The address of the tensor map (a kernel parameter passed by value: ptx_compiler.cc).
    if (isa<ux::TensorDescType>(uxElement)) return LLVM::LLVMPointerType::get(ctx_);
    return uxElement;
  }
  Value c32(int64_t v) { return arith::ConstantOp::create(b_, loc_, b_.getI32IntegerAttr(int32_t(v))); }
  Value add(Value a, Value b) { return arith::AddIOp::create(b_, loc_, a, b); }
  // An i1 as the i32 0 or 1 that inline PTX takes for a predicate.
  Value asI32(Value flag) { return arith::ExtUIOp::create(b_, loc_, b_.getI32Type(), flag); }
  Value cmp(arith::CmpIPredicate p, Value a, Value b) { return arith::CmpIOp::create(b_, loc_, p, a, b); }
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
    // Past a warp-specialized loop only the numWarps computing warps go on: a named barrier.
    if (consumersOnly_)
      inlineAsm(b_, loc_, Type(), ValueRange{}, "bar.sync 1, " + std::to_string(32 * facts_.numWarps) + ";", "~{memory}");
    else
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
  bool readsConstantMemory(Operation* load);  // a load or load_block of a PointerAccess::constant argument
  static bool isSplatConstant(Value v);
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
  void lowerWarpSpecializedFor(scf::ForOp op);
  // A loop's carried values as per-thread scalars, in order: initial values (`counts` gets
  // how many scalars each takes) or, without `counts`, the body's next values.
  SmallVector<Value> carriedScalars(scf::ForOp op, ValueRange values, std::vector<size_t>* counts);
  // Binds values[i] to the next counts[i] of `scalars` (the new loop's iter args or results).
  void bindCarried(ValueRange values, ValueRange scalars, const std::vector<size_t>& counts);
  void lowerUnpackBits(ux::UnpackBitsOp op);
  void lowerUnpackSharedWords(ux::UnpackBitsOp op);
  void appendFields(Elements& out, Value word, int first, int count, int bits, Type elem);
  Value halfPairOfFields(Value word, int j, int bits, Type half);
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
  bool dotAInRegisters(ux::DotOp dot);
  void lowerDot(ux::DotOp op);
  void lowerRegisterDot(ux::DotOp op);
  void lowerRegisterADot(ux::DotOp op);
  Value packRegister(const Elements& v, int first);
  SmallVector<Value> sharedRegisters(Value at, int bytes);
  void lowerWgmmaDot(ux::DotOp op);
  SmallVector<Value, 4> mmaSync(Type elem, ArrayRef<Value> a, ArrayRef<Value> b, ArrayRef<Value> c);
  void mmaIntoBlock(Type elem, ArrayRef<Value> a, ArrayRef<Value> b, Elements& acc, const ThreadElements& tc, int i, int j);
  bool feedsOnlyDots(Value v);
  std::optional<std::pair<ux::DotOp, int>> dotUseOf(Value v);
  std::pair<Value, Value> dotOperandsInShared(ux::DotOp op);
  void stageOperand(Value v, Value base, const SharedTile& t);

  // ---- software pipelining (async_loads.h) ----
  // Where an async load's tiles live: `stages` buffers of `stageBytes` from `offset`, each
  // laid out as `tile`. `width` elements per cp.async (per shared-memory read of a TMA ring).
  struct Ring {
    int64_t offset = 0, stageBytes = 0;
    SharedTile tile;
    int width = 1;
    bool tma = false;         // filled by TMA copies (a load_block), completing on mbarriers
    bool feedsWgmma = false;  // written by cp.async, read by the async proxy: needs a proxy fence
    Value readOffset;         // absolute byte offset of the buffer this step reads
  };
  std::optional<Ring> planRing(const AsyncLoad& a);
  Value ringElementOffset(const SharedTile& t, Value loaded, const ThreadElements& te, int k);
  // `barrier`: the stage's mbarrier (absolute byte offset), for TMA rings.
  void issueAsyncCopies(const AsyncLoad& a, const Ring& r, Value loopIv, Value iv, Value valid, Value stageOffset,
                        Value barrier, int firstThread = 0);
  void lowerRingLoad(Operation* op, const Ring& r);
  Elements readTile(Value loaded, const SharedTile& t, Value base, int width);  // each thread's elements

  // ---- tensor copies (tensor_copies.cc) ----
  dsl::TensorBlockForm blockForm(ux::LoadBlockOp op);
  SharedTile blockTile(const dsl::TensorBlockForm& f);  // the form a load_block's block lands in
  Value isThread(int tid);  // i32: 1 in thread `tid` of the program, else 0
  // `count` of them, 8 bytes apart, each completing a phase on `arrivals` arrivals; then fence
  // and barrier.
  void mbarrierInit(int64_t offset, int count, int arrivals);
  void mbarrierInval(int64_t offset, int count);  // by thread 0
  void mbarrierWait(Value offset, Value parity);
  void mbarrierWaitIf(Value offset, Value parity, Value pred);
  void mbarrierArrivePerWarp(Value offset, Value pred);
  // By thread `thread`: this phase's arrival.
  void expectBytes(Value barrier, int64_t bytes, Value valid, int thread = 0);
  // The copies of block (row, col) of `op`'s descriptor into the tile `t` at absolute byte `dst`,
  // completing on `barrier`, all issued by thread `thread`; none where `valid` is 0.
  void copyBlock(ux::LoadBlockOp op, const SharedTile& t, Value row, Value col, Value dst, Value barrier, Value valid,
                 int thread = 0);
  void lowerLoadBlock(ux::LoadBlockOp op);
  void asyncCommit() { inlineAsm(b_, loc_, Type(), ValueRange{}, "cp.async.commit_group;", "~{memory}"); }
  void wgmmaWait(int pending) {
    inlineAsm(b_, loc_, Type(), ValueRange{}, "wgmma.wait_group.sync.aligned " + std::to_string(pending) + ";",
              "~{memory}");
  }
  bool wgmmaChains(scf::ForOp loop, const std::vector<std::pair<AsyncLoad, Ring>>& async,
                   std::vector<std::pair<ux::DotOp, int64_t>>& staged);
  void proxyFence() { inlineAsm(b_, loc_, Type(), ValueRange{}, "fence.proxy.async.shared::cta;", "~{memory}"); }
  void asyncWait(int pending) {
    inlineAsm(b_, loc_, Type(), ValueRange{}, "cp.async.wait_group " + std::to_string(pending) + ";", "~{memory}");
  }

  Elements emitLoad(Value ptr, Type t, int n, Value pred, ArrayRef<Value> others);
  void emitStore(Value ptr, ArrayRef<Value> values, Value pred);
  void emitAtomicAdd(Value ptr, Value value, Value pred);

  func::FuncOp src_;  // the ux kernel, layouts assigned
  KernelFacts facts_;
  LoweringOptions options_;
  MLIRContext* ctx_;
  OpBuilder b_;
  Location loc_;
  DenseMap<Value, Layout> layouts_;  // of every tile, read from the IR once (readLayouts)
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
  // A wgmma of this loop step reads its a operand from registers: the step's group is waited
  // for at the end of the step, before the next step writes them.
  bool waitBeforeYield_ = false;
  // In such a loop, the two buffers (absolute byte offset, bytes each) where a dot stages its
  // operands from registers, alternating by step (stagingParity_): the buffer one step writes
  // is the one its wgmmas' predecessors two steps back read, done by then.
  DenseMap<Operation*, std::pair<int64_t, int64_t>> stagingBuffers_;
  Value stagingParity_;
  DenseMap<Value, Ring> rings_;  // async load result -> its ring, while its loop is lowered
  // The w operand a dot staged in the scratch area alone (its a in registers), while nothing
  // else has written there since, in the same block: a second dot on the same w reads it
  // where it is (dotOperandsInShared). Cleared by useShared and at loop bodies' bounds.
  struct StagedW {
    Value w, base;
    int64_t rowBytes = 0;
  } stagedW_;
  int numThreads_ = 128;
  // A warp-specialized loop (lowerWarpSpecializedFor) adds a producer warpgroup; after it the
  // kernel goes on in the computing warps only, inside consumerIf_'s else block.
  bool consumersOnly_ = false;
  Operation* consumerIf_ = nullptr;
  bool waitedForPriorGrids_ = false;  // griddepcontrol.wait emitted (at top level)
};

// The vector width for a run of `run` elements along the last dim given what is known of
// the pointers and the mask: contiguous, aligned, uniformly masked, at most 16 bytes.
int vectorWidth(int run, const AxisInfo& ptr, const AxisInfo* mask, int eb);

}  // namespace uintx::codegen
