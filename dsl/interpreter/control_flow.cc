// scf.for and scf.if.

#include "dsl/interpreter/machine.h"

namespace uintx::dsl::interp {

void Machine::execFor(scf::ForOp op) {
  Elem ie = elemOf(op.getInductionVar().getType(), "scf.for");
  if (ie.cls != Elem::kInt) fail("scf.for", "induction variable must be an integer");
  bool unsignedCmp = op.getUnsignedCmp();
  auto read = [&](mlir::Value v) { return at(v).i[0]; };
  uint64_t lb = read(op.getLowerBound()), ub = read(op.getUpperBound()), step = read(op.getStep());
  if (ie.sext(step) <= 0) fail("scf.for", "step " + std::to_string(ie.sext(step)) + " must be positive");
  auto less = [&](uint64_t x, uint64_t y) { return unsignedCmp ? x < y : ie.sext(x) < ie.sext(y); };
  auto iterArgs = op.getRegionIterArgs();
  auto inits = op.getInitArgs();
  for (size_t k = 0; k < iterArgs.size(); ++k) copyTile(at(inits[k]), at(iterArgs[k]));
  mlir::Block* body = op.getBody();
  Tile& iv = at(op.getInductionVar());
  std::vector<Tile> next(iterArgs.size());
  for (uint64_t i = lb; less(i, ub);) {
    iv.i.assign(1, i);
    Operation* yield = runBlock(*body);
    // Through temporaries: a yield may permute the iter args (yield %b, %a).
    for (size_t k = 0; k < iterArgs.size(); ++k) copyTile(at(yield->getOperand(k)), next[k]);
    for (size_t k = 0; k < iterArgs.size(); ++k) std::swap(next[k], at(iterArgs[k]));
    uint64_t inext = (i + step) & ie.mask();
    // Stop where the induction variable would wrap around (scf.for does not wrap).
    if (unsignedCmp ? inext < i : ie.sext(inext) < ie.sext(i)) break;
    i = inext;
  }
  for (size_t k = 0; k < iterArgs.size(); ++k) copyTile(at(iterArgs[k]), at(op.getResult(k)));
}

void Machine::execIf(scf::IfOp op) {
  bool cond = at(op.getCondition()).i[0] != 0;
  mlir::Region& region = cond ? op.getThenRegion() : op.getElseRegion();
  if (region.empty()) return;
  Operation* yield = runBlock(region.front());
  for (unsigned k = 0; k < op.getNumResults(); ++k)
    copyTile(at(yield->getOperand(k)), at(op.getResult(k)));
}

}  // namespace uintx::dsl::interp
