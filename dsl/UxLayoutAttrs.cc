// The layout attributes' generated definitions and their verifiers (UxLayoutAttrs.td).

#include "dsl/UxDialect.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;

#define GET_ATTRDEF_CLASSES
#include "dsl/UxAttrs.cpp.inc"

namespace uintx::ux {

void UxDialect::registerLayoutAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dsl/UxAttrs.cpp.inc"
      >();
}

static bool isPowerOfTwo(int v) { return v > 0 && (v & (v - 1)) == 0; }

// The tile rank a layout attribute describes; -1 when `a` is not a layout.
static int layoutRank(Attribute a) {
  if (auto b = dyn_cast_or_null<BlockedLayoutAttr>(a)) return int(b.getSizePerThread().size());
  if (isa_and_nonnull<MmaLayoutAttr, WgmmaLayoutAttr, MmaOperandBLayoutAttr>(a)) return 2;
  if (auto s = dyn_cast_or_null<SliceLayoutAttr>(a)) {
    int parent = layoutRank(s.getParent());
    return parent < 0 ? -1 : parent - 1;
  }
  return -1;
}

LogicalResult BlockedLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError, ArrayRef<int> sizePerThread,
                                        ArrayRef<int> threadsPerWarp, ArrayRef<int> warpsPerCTA) {
  if (sizePerThread.empty() || threadsPerWarp.size() != sizePerThread.size() ||
      warpsPerCTA.size() != sizePerThread.size())
    return emitError() << "sizePerThread, threadsPerWarp and warpsPerCTA need one entry per dimension";
  int lanes = 1;
  for (ArrayRef<int> list : {sizePerThread, threadsPerWarp, warpsPerCTA})
    for (int v : list)
      if (!isPowerOfTwo(v)) return emitError() << "entries must be powers of two, got " << v;
  for (int t : threadsPerWarp) lanes *= t;
  if (lanes != 32) return emitError() << "threadsPerWarp must cover the 32 lanes of a warp, covers " << lanes;
  return success();
}

LogicalResult SliceLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError, unsigned dim, Attribute parent) {
  int rank = layoutRank(parent);
  if (rank < 0) return emitError() << "parent must be a ux layout";
  if (rank < 2 || dim >= unsigned(rank))
    return emitError() << "dim " << dim << " is not a dimension of a rank-" << rank << " parent that keeps one";
  return success();
}

}  // namespace uintx::ux
