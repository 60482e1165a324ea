// -ux-lower-to-gpu: lowerKernelToGpu (lower_to_gpu.h) as a pass over a module that holds one
// ux kernel whose layouts are assigned. What the IR does not say about a kernel takes the
// conservative default: every pointer argument is stream-ordered and the kernel overlaps its
// neighbours the standard way (dsl::PointerAccess, dsl::LaunchOverlap).

#include "codegen/assign_layouts.h"
#include "codegen/lower_to_gpu.h"
#include "codegen/passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace uintx::codegen {

using namespace mlir;

namespace {

struct LowerToGpuPass : PassWrapper<LowerToGpuPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(LowerToGpuPass)

  LowerToGpuPass() = default;
  LowerToGpuPass(const LowerToGpuPass& other) : PassWrapper(other) {}

  StringRef getArgument() const override { return "ux-lower-to-gpu"; }
  StringRef getDescription() const override {
    return "Lowers a ux kernel with assigned layouts to a gpu.module of per-thread code";
  }
  void getDependentDialects(DialectRegistry& registry) const override {
    registry.insert<arith::ArithDialect, gpu::GPUDialect, LLVM::LLVMDialect, NVVM::NVVMDialect, scf::SCFDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> kernels;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr("ux.kernel")) kernels.push_back(f);
    if (kernels.size() != 1) {
      module.emitError() << "expected one func.func with ux.kernel, found " << kernels.size();
      return signalPassFailure();
    }
    func::FuncOp kernel = kernels.front();
    auto numWarps = kernel->getAttrOfType<IntegerAttr>(kNumWarpsAttrName);
    if (!numWarps) {
      kernel.emitError() << "has no " << kNumWarpsAttrName << ": run -ux-assign-layouts first";
      return signalPassFailure();
    }
    KernelFacts facts;
    facts.name = kernel.getSymName().str();
    facts.numWarps = int(numWarps.getInt());
    LoweringOptions options;
    options.vec = vec;
    options.chip = chip;
    options.features = features;
    GpuKernelModule lowered;
    try {
      lowered = lowerKernelToGpu(kernel, facts, options);
    } catch (const std::exception& e) {
      kernel.emitError() << e.what();
      return signalPassFailure();
    }
    kernel.erase();
    module->setAttr("gpu.container_module", UnitAttr::get(&getContext()));
    // What a launch must provide, for readers of the IR (PtxKernel::sharedBytes in compiles).
    module->setAttr("ux.shared_bytes", IntegerAttr::get(IntegerType::get(&getContext(), 32), lowered.sharedBytes));
    Block* body = module.getBody();
    for (Operation& op : llvm::make_early_inc_range(lowered.module->getBody()->getOperations()))
      op.moveBefore(body, body->end());
  }

  Option<std::string> chip{*this, "chip", llvm::cl::desc("target chip"), llvm::cl::init("sm_90a")};
  Option<std::string> features{*this, "features", llvm::cl::desc("PTX features"), llvm::cl::init("+ptx80")};
  Option<int> vec{*this, "vec", llvm::cl::desc("elements per thread along the last dimension"), llvm::cl::init(4)};
};

}  // namespace

std::unique_ptr<Pass> createLowerToGpuPass() { return std::make_unique<LowerToGpuPass>(); }

}  // namespace uintx::codegen
