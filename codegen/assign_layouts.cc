#include "codegen/assign_layouts.h"

#include <map>
#include <set>

#include "dsl/UxDialect.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace uintx::codegen {

using namespace mlir;

static bool isTile(Value v) { return isa<RankedTensorType>(v.getType()); }

// Ops whose tile operands and results must share a layout.
static bool isElementwise(Operation* op) {
  return (op->getDialect() && op->getDialect()->getNamespace() == "arith") ||
         isa<ux::AddPtrOp, ux::LoadOp, ux::StoreOp, ux::AtomicAddOp>(op);
}

LayoutMap assignLayouts(Operation* func, int numWarps, int vec) {
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
            if (in.params.sizePerThread[last] % per) return;  // the lowering reports it
            in.params.sizePerThread[last] /= per;
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
      MmaLayouts m = useWgmma(acc[0], acc[1], a[1], numWarps, aBytes) ? wgmmaLayouts(numWarps)
                                                                       : mmaLayouts(acc[0], acc[1], a[1], numWarps);
      groupLayout.emplace(leaderOf(dot.getResult()), Layout::blocked(m.acc));
      groupLayout.emplace(leaderOf(dot.getAcc()), Layout::blocked(m.acc));
      auto w = ux::shapeOf(trans.getSrc().getType());
      int aVec = std::min(vec, std::max(1, 16 / aBytes));
      groupLayout.emplace(leaderOf(dot.getA()), Layout::blocked(defaultParams({a.begin(), a.end()}, numWarps, aVec)));
      // w in registers where mma.sync allows it (layout.h, mmaRegisterOperandParams).
      std::optional<BlockedParams> inRegisters;
      if (!useWgmma(acc[0], acc[1], a[1], numWarps, aBytes))
        inRegisters = mmaRegisterOperandParams(acc[0], acc[1], a[1], numWarps, aBytes, vec);
      groupLayout.emplace(leaderOf(trans.getSrc()),
                          Layout::blocked(inRegisters ? *inRegisters : defaultParams({w.begin(), w.end()}, numWarps, vec)));
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

void annotateLayouts(Operation* func, const LayoutMap& layouts) {
  Builder b(func->getContext());
  func->walk([&](Operation* op) {
    if (op->getNumResults() == 1) {
      auto it = layouts.find(op->getResult(0));
      if (it != layouts.end()) op->setAttr("ux.layout", b.getStringAttr(it->second.toString()));
    }
  });
}

}  // namespace uintx::codegen
