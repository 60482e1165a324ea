// Layout assignment: decides, for every tile value of a kernel, how its elements are spread
// over threads (see layout.h). Values joined by elementwise ops, memory ops and loop-carried
// edges share one layout, so those ops never move data. Lower-rank tiles that feed
// expand_dims, or come out of a reduction, take the matching slice layout of the higher-rank
// tile, so that broadcasting patterns (x[None, :] * w) need no data movement either. Where
// two requirements disagree the lowering inserts a conversion through shared memory.
// A pass (createAssignLayoutsPass, passes.h) records the result in the IR (layout_attr.h).
#pragma once

#include "codegen/passes.h"

namespace uintx::codegen {

// The warp count the layouts were made for, on the kernel function (an i32).
inline constexpr const char* kNumWarpsAttrName = "ux.num_warps";

}  // namespace uintx::codegen
