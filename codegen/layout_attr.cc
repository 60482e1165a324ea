#include "codegen/layout_attr.h"

#include "dsl/UxDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace uintx::codegen {

using namespace mlir;

// The params of the tensor-core forms (layout.h: mmaLayouts, wgmmaLayouts,
// mmaRegisterOperandParams).
static BlockedParams mmaAccumulatorParams(int warpsM, int warpsN) { return {{1, 2}, {8, 4}, {warpsM, warpsN}}; }
static BlockedParams mmaOperandBParams(int kRun, int warps) { return {{1, kRun}, {8, 4}, {warps, 1}}; }

static Attribute formAttr(MLIRContext* ctx, const Layout& l) {
  const BlockedParams& p = l.params;
  // A form is named only when the params are the form's (else the plain blocked attribute).
  if (p.rank() == 2) {
    int wm = p.warpsPerCta[0], wn = p.warpsPerCta[1];
    switch (l.form) {
      case Layout::Form::mmaAccumulator:
        if (p == mmaAccumulatorParams(wm, wn)) return ux::MmaLayoutAttr::get(ctx, p.warpsPerCta);
        break;
      case Layout::Form::wgmmaAccumulator:
        if (wn == 1 && p == mmaAccumulatorParams(wm, 1)) return ux::WgmmaLayoutAttr::get(ctx, wm);
        break;
      case Layout::Form::mmaOperandB:
        if (wn == 1 && p == mmaOperandBParams(p.sizePerThread[1], wm))
          return ux::MmaOperandBLayoutAttr::get(ctx, p.sizePerThread[1], wm);
        break;
      case Layout::Form::blocked:
        break;
    }
  }
  return ux::BlockedLayoutAttr::get(ctx, p.sizePerThread, p.threadsPerWarp, p.warpsPerCta);
}

Attribute layoutToAttr(MLIRContext* ctx, const Layout& layout) {
  Attribute a = formAttr(ctx, layout);
  for (int pd = layout.params.rank() - 1; pd >= 0; --pd)
    if (std::find(layout.dims.begin(), layout.dims.end(), pd) == layout.dims.end())
      a = ux::SliceLayoutAttr::get(ctx, unsigned(pd), a);  // the dims below pd are all still there
  return a;
}

std::optional<Layout> layoutFromAttr(Attribute attr) {
  auto with = [](BlockedParams p, Layout::Form form) {
    Layout l = Layout::blocked(p);
    l.form = form;
    return l;
  };
  if (auto b = dyn_cast_or_null<ux::BlockedLayoutAttr>(attr))
    return Layout::blocked({b.getSizePerThread().vec(), b.getThreadsPerWarp().vec(), b.getWarpsPerCTA().vec()});
  if (auto m = dyn_cast_or_null<ux::MmaLayoutAttr>(attr)) {
    if (m.getWarpsPerCTA().size() != 2) return std::nullopt;
    return with(mmaAccumulatorParams(m.getWarpsPerCTA()[0], m.getWarpsPerCTA()[1]), Layout::Form::mmaAccumulator);
  }
  if (auto w = dyn_cast_or_null<ux::WgmmaLayoutAttr>(attr))
    return with(mmaAccumulatorParams(w.getWarps(), 1), Layout::Form::wgmmaAccumulator);
  if (auto o = dyn_cast_or_null<ux::MmaOperandBLayoutAttr>(attr))
    return with(mmaOperandBParams(o.getKRun(), o.getWarps()), Layout::Form::mmaOperandB);
  if (auto s = dyn_cast_or_null<ux::SliceLayoutAttr>(attr)) {
    auto parent = layoutFromAttr(s.getParent());
    if (!parent || s.getDim() >= unsigned(parent->rank())) return std::nullopt;
    return parent->slice(int(s.getDim()));
  }
  return std::nullopt;
}

std::optional<Layout> layoutOfValue(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto loop = dyn_cast_or_null<scf::ForOp>(arg.getOwner()->getParentOp());
    if (!loop || arg.getArgNumber() == 0) return std::nullopt;  // argument 0: the induction variable
    v = loop.getResult(arg.getArgNumber() - 1);
  }
  auto result = cast<OpResult>(v);
  Operation* op = result.getOwner();
  if (op->getNumResults() == 1) return layoutFromAttr(op->getAttr(kLayoutAttrName));
  auto all = op->getAttrOfType<ArrayAttr>(kResultLayoutsAttrName);
  if (!all || all.size() != op->getNumResults()) return std::nullopt;
  return layoutFromAttr(all[result.getResultNumber()]);
}

void setLayoutOfResult(Value v, const Layout& layout) {
  auto result = cast<OpResult>(v);
  Operation* op = result.getOwner();
  MLIRContext* ctx = op->getContext();
  if (op->getNumResults() == 1) return op->setAttr(kLayoutAttrName, layoutToAttr(ctx, layout));
  SmallVector<Attribute> all(op->getNumResults(), UnitAttr::get(ctx));
  if (auto old = op->getAttrOfType<ArrayAttr>(kResultLayoutsAttrName); old && old.size() == all.size())
    all.assign(old.begin(), old.end());
  all[result.getResultNumber()] = layoutToAttr(ctx, layout);
  op->setAttr(kResultLayoutsAttrName, ArrayAttr::get(ctx, all));
}

}  // namespace uintx::codegen
