#include "codegen/assign_layouts.h"

#include <map>
#include <set>

#include "codegen/layout_attr.h"
#include "dsl/UxDialect.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/Pass.h"

namespace uintx::codegen {

using namespace mlir;

static bool isTile(Value v) { return isa<RankedTensorType>(v.getType()); }

// A tile the program loads rather than computes: a load's result, or a loop-carried value
// whose initial and next values are loads (a step's tile loaded one step ahead, in registers).
static bool isLoaded(Value v) {
  if (v.getDefiningOp<ux::LoadOp>() || v.getDefiningOp<ux::LoadBlockOp>()) return true;
  auto arg = dyn_cast<BlockArgument>(v);
  auto loop = arg ? dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp()) : scf::ForOp();
  if (!loop || arg.getArgNumber() == 0) return false;  // argument 0 is the induction variable
  unsigned i = arg.getArgNumber() - 1;
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  return loop.getInitArgs()[i].getDefiningOp<ux::LoadOp>() && yield.getOperand(i).getDefiningOp<ux::LoadOp>();
}

// Ops whose tile operands and results must share a layout.
static bool isElementwise(Operation* op) {
  return (op->getDialect() && (op->getDialect()->getNamespace() == "arith" || op->getDialect()->getNamespace() == "math")) ||
         isa<ux::AddPtrOp, ux::LoadOp, ux::StoreOp, ux::AtomicAddOp>(op);
}

using LayoutMap = llvm::DenseMap<Value, Layout>;

static Layout withForm(Layout l, Layout::Form form) {
  l.form = form;
  return l;
}

static LayoutMap assignLayouts(Operation* func, int numWarps, int vec) {
  llvm::EquivalenceClasses<void*> groups;
  std::vector<Value> tiles;
  auto note = [&](Value v) {
    if (isTile(v)) {
      groups.insert(v.getAsOpaquePointer());
      tiles.push_back(v);
    }
  };
  auto join = [&](Value a, Value b) {
    if (isTile(a) && isTile(b)) groups.unionSets(a.getAsOpaquePointer(), b.getAsOpaquePointer());
  };
  func->walk([&](Operation* op) {
    for (Value r : op->getResults()) note(r);
    for (Region& region : op->getRegions())
      for (Block& block : region)
        for (BlockArgument a : block.getArguments()) note(a);
    if (isElementwise(op)) {
      Value first;
      for (Value v : op->getOperands())
        if (isTile(v)) first ? join(first, v) : void(first = v);
      for (Value v : op->getResults())
        if (isTile(v)) first ? join(first, v) : void(first = v);
    }
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
      for (unsigned i = 0; i < loop.getNumResults(); ++i) {
        join(loop.getInitArgs()[i], loop.getRegionIterArgs()[i]);
        join(loop.getInitArgs()[i], yield.getOperand(i));
        join(loop.getInitArgs()[i], loop.getResult(i));
      }
    }
  });

  // One params set per rank, sized by the largest tile of that rank.
  std::map<int, std::vector<int64_t>> maxShape;
  for (Value v : tiles) {
    auto s = ux::shapeOf(v.getType());
    auto& m = maxShape[int(s.size())];
    if (m.empty()) m.assign(s.begin(), s.end());
    for (size_t i = 0; i < s.size(); ++i) m[i] = std::max(m[i], s[i]);
  }
  std::map<int, BlockedParams> params;
  for (auto& [rank, shape] : maxShape) params[rank] = defaultParams(shape, numWarps, vec);

  LayoutMap result;
  std::map<void*, Layout> groupLayout;
  auto leaderOf = [&](Value v) { return groups.getLeaderValue(v.getAsOpaquePointer()); };
  int maxRank = maxShape.empty() ? 0 : maxShape.rbegin()->first;
  for (int rank = maxRank; rank >= 1; --rank) {
    // Preferences from reductions and expand_dims, in program order.
    func->walk([&](Operation* op) {
      if (auto red = dyn_cast<ux::ReduceOp>(op)) {
        Value out = red.getResult();
        if (!isTile(out) || ux::shapeOf(out.getType()).size() != size_t(rank)) return;
        auto in = groupLayout.find(leaderOf(red.getSrc()));
        if (in != groupLayout.end()) groupLayout.emplace(leaderOf(out), in->second.slice(red.getAxis()));
      } else if (auto exp = dyn_cast<ux::ExpandDimsOp>(op)) {
        Value src = exp.getSrc();
        if (ux::shapeOf(src.getType()).size() != size_t(rank)) return;
        auto out = groupLayout.find(leaderOf(exp.getResult()));
        if (out != groupLayout.end()) groupLayout.emplace(leaderOf(src), out->second.slice(exp.getAxis()));
      }
    });
    // Inputs of broadcast and unpack_bits take their layout from the result (a broadcast
    // input keeps the result's params; words feeding unpack_bits hold 1/(32/bits) of the
    // fields' run, so a thread unpacks exactly the words of its own fields). These are
    // derived after the other groups of the rank get theirs, repeatedly, consumers first.
    std::set<void*> derivedInputs;
    func->walk([&](Operation* op) {
      if (isa<ux::UnpackBitsOp, ux::BroadcastOp>(op) && ux::shapeOf(op->getResult(0).getType()).size() == size_t(rank))
        derivedInputs.insert(leaderOf(op->getOperand(0)));
    });
    auto derive = [&] {
      bool changed = true;
      while (changed) {
        changed = false;
        func->walk([&](Operation* op) {
          if (!isa<ux::UnpackBitsOp, ux::BroadcastOp>(op)) return;
          if (ux::shapeOf(op->getResult(0).getType()).size() != size_t(rank)) return;
          auto out = groupLayout.find(leaderOf(op->getResult(0)));
          if (out == groupLayout.end() || groupLayout.count(leaderOf(op->getOperand(0)))) return;
          Layout in = out->second;
          if (auto u = dyn_cast<ux::UnpackBitsOp>(op)) {
            int last = in.dims.back(), per = 32 / int(u.getBits());
            int spt = in.params.sizePerThread[last];
            if (spt % per == 0) {
              in.params.sizePerThread[last] /= per;  // a thread's fields are whole words of its own
            } else if (per % (spt * in.params.threadsPerWarp[last] * in.params.warpsPerCta[last]) == 0) {
              // Every word holds fields of every thread along k (a thread's runs are shorter
              // than a word): each thread holds the whole row of words (the params cover more
              // than the tile, so threads along k hold the same words) and takes its fields.
              in.params.sizePerThread[last] = int(ux::shapeOf(op->getOperand(0).getType()).back());
            } else {
              return;  // the lowering reports it
            }
            in.form = Layout::Form::blocked;
          }
          groupLayout.emplace(leaderOf(op->getOperand(0)), in);
          changed = true;
        });
      }
    };
    // Tensor-core accumulators take the mma layout before anything else. The operands go
    // through shared memory (but a w that mma.sync can take from registers, see below); each
    // gets default params sized by its own tile, so that no two
    // threads load and dequantize the same element (the rank's params, sized by the largest
    // tile, could spread more lanes along k than a narrow k step has). The a operand is only
    // moved, never unpacked: 16 bytes per thread along k are a whole vector access and spread
    // a small tile over the most threads.
    func->walk([&](ux::DotOp dot) {
      if (rank != 2) return;
      auto a = ux::shapeOf(dot.getA().getType()), acc = ux::shapeOf(dot.getAcc().getType());
      auto trans = dot.getB().getDefiningOp<ux::TransOp>();
      if (!trans) return;  // the lowering reports it
      int aBytes = std::max(1u, ux::elementType(dot.getA().getType()).getIntOrFloatBitWidth() / 8);
      bool wgmma = useWgmma(acc[0], acc[1], a[1], numWarps, aBytes);
      MmaLayouts m = wgmma ? wgmmaLayouts(numWarps) : mmaLayouts(acc[0], acc[1], a[1], numWarps);
      Layout accLayout = withForm(Layout::blocked(m.acc), wgmma ? Layout::Form::wgmmaAccumulator
                                                                : Layout::Form::mmaAccumulator);
      groupLayout.emplace(leaderOf(dot.getResult()), accLayout);
      groupLayout.emplace(leaderOf(dot.getAcc()), accLayout);
      auto w = ux::shapeOf(trans.getSrc().getType());
      int aVec = std::min(vec, std::max(1, 16 / aBytes));
      // An a the program computes (not loaded) feeds the tensor cores from registers (layout.h:
      // wgmmaRegisterOperandParams, and on mma.sync mmaRegisterOperandAParams when w is loaded);
      // a loaded a goes through shared memory, where cp.async puts it or it is staged.
      std::optional<BlockedParams> aInRegisters;
      if (!isLoaded(dot.getA())) {
        if (wgmma)
          aInRegisters = wgmmaRegisterOperandParams(acc[0], acc[1], a[1], numWarps, aBytes);
        else if (isLoaded(trans.getSrc()))
          aInRegisters = mmaRegisterOperandAParams(acc[0], acc[1], a[1], numWarps, aBytes, vec);
      }
      groupLayout.emplace(leaderOf(dot.getA()), Layout::blocked(aInRegisters ? *aInRegisters
                                                                            : defaultParams({a.begin(), a.end()}, numWarps, aVec)));
      // w in registers where mma.sync allows it (layout.h, mmaRegisterOperandParams) and a is not.
      std::optional<BlockedParams> inRegisters;
      if (!wgmma && !aInRegisters)
        inRegisters = mmaRegisterOperandParams(acc[0], acc[1], a[1], numWarps, aBytes, vec);
      // A loaded w in shared memory is only moved, as a loaded a: 16-byte vectors.
      int wVec = isLoaded(trans.getSrc()) ? aVec : vec;
      groupLayout.emplace(leaderOf(trans.getSrc()),
                          inRegisters ? withForm(Layout::blocked(*inRegisters), Layout::Form::mmaOperandB)
                                      : Layout::blocked(defaultParams({w.begin(), w.end()}, numWarps, wVec)));
    });
    derive();
    for (Value v : tiles)
      if (ux::shapeOf(v.getType()).size() == size_t(rank) && !derivedInputs.count(leaderOf(v)))
        groupLayout.emplace(leaderOf(v), Layout::blocked(params[rank]));
    derive();
    for (Value v : tiles) {
      if (ux::shapeOf(v.getType()).size() != size_t(rank)) continue;
      auto it = groupLayout.emplace(leaderOf(v), Layout::blocked(params[rank])).first;
      result.try_emplace(v, it->second);
    }
  }
  return result;
}

namespace {

// The pass: computes the layouts of a kernel function and records them in the IR
// (layout_attr.h), with the warp count they were made for (`ux.num_warps`, which the
// lowering pass reads). The function's `ux.num_warps` and `ux.vec` attributes (the DSL writes
// both) win over the options.
struct AssignLayoutsPass : PassWrapper<AssignLayoutsPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(AssignLayoutsPass)

  AssignLayoutsPass() = default;
  AssignLayoutsPass(const AssignLayoutsPass& other) : PassWrapper(other) {}
  AssignLayoutsPass(int numWarps, int vec) {
    this->numWarps = numWarps;
    this->vec = vec;
  }

  StringRef getArgument() const override { return "ux-assign-layouts"; }
  StringRef getDescription() const override {
    return "Assigns every tile of a ux kernel a layout (#ux.blocked, #ux.slice, #ux.mma, ...)";
  }
  void getDependentDialects(DialectRegistry& registry) const override { registry.insert<ux::UxDialect>(); }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal()) return;
    int warps = numWarps, v = vec;
    if (auto attr = func->getAttrOfType<IntegerAttr>(kNumWarpsAttrName)) warps = int(attr.getInt());
    if (auto attr = func->getAttrOfType<IntegerAttr>("ux.vec")) v = int(attr.getInt());
    LayoutMap layouts;
    try {
      layouts = assignLayouts(func, warps, v);
    } catch (const std::exception& e) {  // a dot tile the tensor cores cannot split
      func.emitError() << e.what();
      return signalPassFailure();
    }
    Builder b(func.getContext());
    func->setAttr(kNumWarpsAttrName, b.getI32IntegerAttr(warps));
    func.walk([&](Operation* op) {
      for (Value r : op->getResults())
        if (auto it = layouts.find(r); it != layouts.end()) setLayoutOfResult(r, it->second);
    });
  }

  Option<int> numWarps{*this, "num-warps", llvm::cl::desc("warps per program (CTA)"), llvm::cl::init(4)};
  Option<int> vec{*this, "vec", llvm::cl::desc("elements per thread along the last dimension"), llvm::cl::init(4)};
};

}  // namespace

std::unique_ptr<Pass> createAssignLayoutsPass() { return std::make_unique<AssignLayoutsPass>(); }

std::unique_ptr<Pass> createAssignLayoutsPass(int numWarps, int vec) {
  return std::make_unique<AssignLayoutsPass>(numWarps, vec);
}

}  // namespace uintx::codegen
