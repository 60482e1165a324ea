// Layout assignment: decides, for every tile value of a kernel, how its elements are spread
// over threads (see layout.h). Values joined by elementwise ops, memory ops and loop-carried
// edges share one layout, so those ops never move data. Lower-rank tiles that feed
// expand_dims, or come out of a reduction, take the matching slice layout of the higher-rank
// tile, so that broadcasting patterns (x[None, :] * w) need no data movement either. Where
// two requirements disagree the lowering inserts a conversion through shared memory.
#pragma once

#include "codegen/layout.h"
#include "llvm/ADT/DenseMap.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"

namespace uintx::codegen {

using LayoutMap = llvm::DenseMap<mlir::Value, Layout>;

// `func` is the kernel's func.func; `vec` is the elements per thread along the last dim.
LayoutMap assignLayouts(mlir::Operation* func, int numWarps, int vec);

// Writes each tile-producing op's layout as an attribute "ux.layout" (for IR dumps).
void annotateLayouts(mlir::Operation* func, const LayoutMap& layouts);

}  // namespace uintx::codegen
