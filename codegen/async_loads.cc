#include "codegen/async_loads.h"

#include <set>

#include "dsl/kernel_builder.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace uintx::codegen {

using namespace mlir;

int loopStages(scf::ForOp loop) {
  auto a = loop->getAttrOfType<IntegerAttr>(dsl::kNumStagesAttr);
  return a ? int(a.getInt()) : 1;
}

// True when `v` reads as zero everywhere (the masked-off value cp.async writes).
static bool isZero(Value v) {
  if (auto s = v.getDefiningOp<ux::SplatOp>()) return isZero(s.getSrc());
  if (auto b = v.getDefiningOp<ux::BroadcastOp>()) return isZero(b.getSrc());
  auto c = v.getDefiningOp<arith::ConstantOp>();
  if (!c) return false;
  Attribute a = c.getValue();
  if (auto d = dyn_cast<DenseElementsAttr>(a)) {
    if (!d.isSplat()) return false;
    a = d.getSplatValue<Attribute>();
  }
  if (auto f = dyn_cast<FloatAttr>(a)) return f.getValue().isZero() && !f.getValue().isNegative();
  if (auto i = dyn_cast<IntegerAttr>(a)) return i.getValue().isZero();
  return false;
}

// Collects into `ops` the body ops `v` depends on; false when it depends on a carried value
// or on an op that cannot simply be evaluated again (a load, a reduction, a dot, a region).
static bool addressSlice(scf::ForOp loop, Value v, std::set<Operation*>& ops) {
  Block* body = loop.getBody();
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != body) return true;      // defined outside the loop
    return arg == loop.getInductionVar();         // a carried value changes with the loop
  }
  Operation* def = v.getDefiningOp();
  if (def->getBlock() != body) return !loop->isAncestor(def);  // nested ops: not candidates
  if (ops.count(def)) return true;
  if (!isPure(def) || def->getNumRegions() || isa<ux::ReduceOp, ux::DotOp>(def)) return false;
  ops.insert(def);
  for (Value operand : def->getOperands())
    if (!addressSlice(loop, operand, ops)) return false;
  return true;
}

std::vector<AsyncLoad> findAsyncLoads(scf::ForOp loop) {
  std::vector<AsyncLoad> out;
  if (loopStages(loop) < 2) return out;
  for (Operation& op : loop.getBody()->without_terminator()) {
    if (auto block = dyn_cast<ux::LoadBlockOp>(op)) {
      std::set<Operation*> ops;
      if (!addressSlice(loop, block.getRow(), ops) || !addressSlice(loop, block.getCol(), ops)) continue;
      AsyncLoad a{{}, block, {}};
      for (Operation& o : loop.getBody()->without_terminator())
        if (ops.count(&o)) a.addressOps.push_back(&o);
      out.push_back(std::move(a));
      continue;
    }
    auto load = dyn_cast<ux::LoadOp>(op);
    if (!load || !isa<RankedTensorType>(load.getType())) continue;
    if (load.getOther() && !isZero(load.getOther())) continue;
    std::set<Operation*> ops;
    if (!addressSlice(loop, load.getPtr(), ops)) continue;
    if (load.getMask() && !addressSlice(loop, load.getMask(), ops)) continue;
    AsyncLoad a{load, {}, {}};
    for (Operation& o : loop.getBody()->without_terminator())
      if (ops.count(&o)) a.addressOps.push_back(&o);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace uintx::codegen
