// uintx-opt: the passes of codegen (passes.h) on .mlir files, in the manner of mlir-opt:
//   uintx-opt -ux-assign-layouts="num-warps=8" kernel.mlir
//   uintx-opt -ux-assign-layouts -ux-lower-to-gpu kernel.mlir
// The FileCheck tests of tests/mlir/ run it.

#include "codegen/passes.h"
#include "dsl/UxDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char** argv) {
  using namespace uintx::codegen;
  mlir::registerPass([] { return createAssignLayoutsPass(); });
  mlir::registerPass([] { return createLowerToGpuPass(); });
  mlir::registerPass([] { return createTestAxisInfoPass(); });
  mlir::registerPass([] { return createTestAsyncLoadsPass(); });

  mlir::DialectRegistry registry;
  registry.insert<uintx::ux::UxDialect, mlir::arith::ArithDialect, mlir::func::FuncDialect, mlir::gpu::GPUDialect,
                  mlir::LLVM::LLVMDialect, mlir::NVVM::NVVMDialect, mlir::scf::SCFDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, "uintx pass driver\n", registry));
}
