// Lowering of a ux kernel to a gpu.module holding one gpu.func, in which every tile has been
// replaced by the scalars each thread owns (per its layout; see layout.h). Elementwise ops
// become scalar arith ops, memory ops become (vectorized, predicated) global loads and
// stores, reductions become in-thread folds + warp shuffles + a shared-memory step, and
// layout changes go through shared memory. The result is ready for MLIR's GPU-to-NVVM
// pipeline. The kernel's layouts must be in the IR (createAssignLayoutsPass, passes.h);
// the implementation is in lowering/, one op family per file.
#pragma once

#include <string>
#include <vector>

#include "dsl/kernel_builder.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace uintx::codegen {

// The gpu.func attribute listing (array<i32>) the arguments that are tensor descriptors: their
// tensor maps are passed by value (128 bytes) and the kernel takes their address; compileToPtx
// gives them the attributes that say so once the function is an llvm.func.
inline constexpr const char* kTensorMapArgsAttr = "ux.tensor_maps";

struct GpuKernelModule {
  mlir::OwningOpRef<mlir::ModuleOp> module;  // module { gpu.module @uintx { gpu.func @name } }
  int numThreads = 128;
  int sharedBytes = 0;   // dynamic shared memory each launch must provide
};

struct LoweringOptions {
  int vec = 4;  // elements per thread along the last dimension
  std::string chip = "sm_90a";
  std::string features = "+ptx80";
};

// What the lowering needs to know of a kernel beyond its IR (a dsl::KernelProgram says it).
struct KernelFacts {
  std::string name;
  int numWarps = 4;
  std::vector<bool> constantPointerArgs;  // per argument: dsl::PointerAccess::constant
  dsl::LaunchOverlap launchOverlap = dsl::LaunchOverlap::standard;
  bool isConstantPointer(int arg) const { return size_t(arg) < constantPointerArgs.size() && constantPointerArgs[arg]; }
};

// Whether kernels for `chip` ("sm_90a") begin with griddepcontrol (programmatic dependent
// launch, sm_90 and later): they may then be launched to overlap the kernel before them.
bool chipHasGridDependencyControl(const std::string& chip);

// Throws uintx::Error for programs the lowering cannot handle, naming the op.
GpuKernelModule lowerToGpu(const dsl::KernelProgram& program, const LoweringOptions& options);
GpuKernelModule lowerKernelToGpu(mlir::func::FuncOp kernel, const KernelFacts& facts, const LoweringOptions& options);

}  // namespace uintx::codegen
