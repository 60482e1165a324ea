// The passes of codegen, for pipelines (ptx_compiler.cc) and for uintx-opt (uintx_opt.cc),
// which runs them on .mlir files (tests/mlir/). In order:
//   -ux-assign-layouts   a layout for every tile, recorded in the IR (layout_attr.h)
//   -ux-lower-to-gpu     the kernel as a gpu.module of per-thread code (lower_to_gpu.h),
//                        software pipelining of marked loops included
// and, for tests only (//codegen:test_passes), analyses printed as remarks:
//   -ux-test-axis-info   contiguity, divisibility and constancy of every integer/pointer value
//   -ux-test-async-loads the loads of each pipelined loop that can become cp.async copies
#pragma once

#include <memory>
#include <string>

#include "mlir/Pass/Pass.h"

namespace uintx::codegen {

// Options: num-warps (default 4), vec (default 4; a kernel's `ux.vec` attribute wins).
std::unique_ptr<mlir::Pass> createAssignLayoutsPass();
std::unique_ptr<mlir::Pass> createAssignLayoutsPass(int numWarps, int vec);

// On a module holding one ux kernel (func.func with `ux.kernel`) whose layouts are assigned:
// replaces it with the gpu.module of lower_to_gpu.h. Options: chip, features, vec.
std::unique_ptr<mlir::Pass> createLowerToGpuPass();

std::unique_ptr<mlir::Pass> createTestAxisInfoPass();
std::unique_ptr<mlir::Pass> createTestAsyncLoadsPass();

}  // namespace uintx::codegen
