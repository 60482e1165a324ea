#include "codegen/ptx_compiler.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>

#include "codegen/lower_to_gpu.h"
#include "codegen/passes.h"
#include "dsl/tensor_block.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/xxhash.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/LLVMIR/Transforms/OptimizeForNVVM.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "codegen/codegen_source_hash.h"
#include "uintx/error.h"

namespace uintx::codegen {

using namespace mlir;

// The on-disk kernel caches' key names this: the version of the entry format, the hash of
// the codegen sources (BUILD: codegen_source_hash) and LLVM's version.
static constexpr const char* kCodegenVersion = "uintx-codegen-4";

std::string compilerVersion() {
  return std::string(kCodegenVersion) + "-" + UINTX_CODEGEN_SOURCE_HASH + "+llvm-" + LLVM_VERSION_STRING;
}

static void initLlvmOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
}

// Only the dialects and translations the pipeline touches are registered: it keeps the
// statically linked binaries small.
static void registerPipelineDialects(MLIRContext* ctx) {
  DialectRegistry registry;
  registry.insert<arith::ArithDialect, cf::ControlFlowDialect, func::FuncDialect, gpu::GPUDialect,
                  index::IndexDialect, LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect,
                  NVVM::NVVMDialect, scf::SCFDialect, ub::UBDialect, vector::VectorDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  vector::registerConvertVectorToLLVMInterface(registry);
  gpu::registerConvertGpuToLLVMInterface(registry);
  ctx->appendDialectRegistry(registry);
  ctx->loadAllAvailableDialects();
}

static std::string print(Operation* op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  op->print(os);
  return s;
}

// Kernels of one name are compiled for many configs (tile sizes, bit widths, chips): the dump
// file names carry a hash of what the PTX is a function of, so that no compile overwrites
// another's files and two runs of the same tests write the same names.
static std::string dumpName(const PtxKernel& k, const std::string& uxText, const PtxOptions& o) {
  std::string key = uxText + "\n" + o.chip + "\n" + o.features + "\n" + std::to_string(o.vec);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", (unsigned long long)llvm::xxh3_64bits(key));
  return k.name + "-" + std::string(hash, 8);
}

static void dumpStages(const PtxKernel& k, const std::string& fileName, const char* where) {
  std::string dir(where);
  for (size_t i = 0; i < k.stages.size(); ++i) {
    const auto& [name, text] = k.stages[i];
    if (dir == "-") {
      std::cerr << "// ===== " << k.name << ": " << name << " =====\n" << text << "\n";
      continue;
    }
    std::string path = dir + "/" + fileName + "." + std::to_string(i + 1) + "-" + name;
    std::ofstream f(path);
    f << text;
    if (!f) throw Error("UINTX_DUMP_IR: cannot write " + path);
  }
}

// Tensor-map parameters (kTensorMapArgsAttr) become `.param .align 64 .b8 [256]` (a tensor
// parameter's two maps, dsl/tensor_block.h) whose address the kernel takes
// (__grid_constant__): byval, 64-byte aligned, nvvm.grid_constant.
// MLIR's gpu.func lowering keeps function attributes but not these argument attributes, so
// they are set on the llvm.func it produced.
static void passTensorMapsByValue(ModuleOp module) {
  module.walk([](LLVM::LLVMFuncOp f) {
    auto args = f->getAttrOfType<DenseI32ArrayAttr>(kTensorMapArgsAttr);
    if (!args) return;
    MLIRContext* ctx = f.getContext();
    Builder b(ctx);
    for (int32_t i : args.asArrayRef()) {
      const int bytes = dsl::kTensorMapBytes * dsl::kTensorMapsPerBlock;
      f.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(), TypeAttr::get(LLVM::LLVMArrayType::get(b.getI8Type(), bytes)));
      f.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(), b.getI64IntegerAttr(64));
      f.setArgAttr(i, NVVM::NVVMDialect::getGridConstantAttrName(), b.getUnitAttr());
    }
    f->removeAttr(kTensorMapArgsAttr);
  });
}

// MLIR's GPU-to-NVVM pipeline (gpu::buildLowerToNVVMPassPipeline, the same passes in the same
// order), cut in two where the kernel has become an llvm.func, for passTensorMapsByValue.
static LogicalResult runNvvmPipeline(ModuleOp module, const PtxOptions& options) {
  MLIRContext* ctx = module.getContext();
  PassManager toLlvm(ctx);
  toLlvm.addPass(createConvertNVGPUToNVVMPass());
  toLlvm.addPass(createGpuKernelOutliningPass());
  toLlvm.addPass(createConvertVectorToSCFPass());
  toLlvm.addPass(createSCFToControlFlowPass());
  toLlvm.addPass(createConvertNVVMToLLVMPass());
  toLlvm.addPass(createConvertFuncToLLVMPass());
  toLlvm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.triple = "nvptx64-nvidia-cuda";
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = 3;
  toLlvm.addPass(createGpuNVVMAttachTarget(target));
  toLlvm.addPass(createLowerAffinePass());
  toLlvm.addPass(createArithToLLVMConversionPass());
  ConvertIndexToLLVMPassOptions index;
  index.indexBitwidth = 64;
  toLlvm.addPass(createConvertIndexToLLVMPass(index));
  toLlvm.addPass(createCanonicalizerPass());
  toLlvm.addPass(createCSEPass());
  toLlvm.addNestedPass<gpu::GPUModuleOp>(createStripDebugInfoPass());
  ConvertGpuOpsToNVVMOpsOptions gpuOps;
  gpuOps.indexBitwidth = 64;
  toLlvm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(gpuOps));
  toLlvm.addNestedPass<gpu::GPUModuleOp>(LLVM::createNVVMOptimizeForTargetPass());
  toLlvm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  toLlvm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  toLlvm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
  if (failed(toLlvm.run(module))) return failure();
  passTensorMapsByValue(module);
  PassManager toPtx(ctx);
  toPtx.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  toPtx.addPass(createGpuModuleToBinaryPass(binary));
  toPtx.addPass(createConvertMathToLLVMPass());
  toPtx.addPass(createCanonicalizerPass());
  toPtx.addPass(createCSEPass());
  toPtx.addPass(createReconcileUnrealizedCastsPass());
  return toPtx.run(module);
}

// Runs the layout assignment on the program (the compile's own copy). Its errors (a dot tile
// the tensor cores cannot split) are thrown as they are worded.
static void assignLayouts(const dsl::KernelProgram& program, const PtxOptions& options) {
  std::string firstError;
  ScopedDiagnosticHandler handler(program.context.get(), [&](Diagnostic& d) {
    if (firstError.empty()) firstError = d.str();
    return success();
  });
  PassManager pm(program.context.get());
  pm.addNestedPass<func::FuncOp>(createAssignLayoutsPass(program.numWarps, options.vec));
  if (failed(pm.run(program.moduleOp())))
    throw Error(firstError.empty() ? "codegen of kernel '" + program.name + "': layout assignment failed" : firstError);
}

PtxKernel compileToPtx(const dsl::KernelProgram& program, const PtxOptions& options) {
  auto start = std::chrono::steady_clock::now();
  initLlvmOnce();
  const char* dumpDir = std::getenv("UINTX_DUMP_IR");
  bool keep = options.keepStages || (dumpDir && *dumpDir);

  // Work in a fresh context: programs may share theirs, and compiles may run concurrently.
  auto ctx = dsl::makeDslContext();
  ctx->disableMultithreading();
  registerPipelineDialects(ctx.get());
  dsl::KernelProgram local = program;
  local.context = ctx;
  {
    std::string text = program.irText();
    auto parsed = parseSourceString<ModuleOp>(text, ctx.get());
    if (!parsed) throw Error("codegen: cannot re-read the program of kernel '" + program.name + "'");
    local.module = std::make_shared<OwningOpRef<ModuleOp>>(std::move(parsed));
  }

  PtxKernel result;
  result.name = program.name;
  if (keep) result.stages.push_back({"ux.mlir", local.irText()});

  assignLayouts(local, options);
  if (keep) result.stages.push_back({"layouts.mlir", local.irText()});

  LoweringOptions lo;
  lo.vec = options.vec;
  lo.chip = options.chip;
  lo.features = options.features;
  GpuKernelModule gpuModule = lowerToGpu(local, lo);
  result.numThreads = gpuModule.numThreads;
  result.sharedBytes = gpuModule.sharedBytes;
  if (keep) result.stages.push_back({"gpu.mlir", print(*gpuModule.module)});

  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx.get(), [&](Diagnostic& d) {
    llvm::raw_string_ostream os(diagnostics);
    os << d.getLocation() << ": " << d.str() << "\n";
    return success();
  });
  if (failed(mlir::verify(*gpuModule.module)) || failed(runNvvmPipeline(*gpuModule.module, options)))
    throw Error("codegen of kernel '" + program.name + "' failed in the NVVM pipeline:\n" + diagnostics);

  // The PTX sits in the gpu.binary op's object as text (format isa).
  std::string ptx;
  gpuModule.module->walk([&](gpu::BinaryOp bin) {
    for (Attribute a : bin.getObjects())
      if (auto obj = dyn_cast<gpu::ObjectAttr>(a)) ptx = obj.getObject().str();
  });
  if (ptx.empty()) throw Error("codegen of kernel '" + program.name + "': the pipeline produced no PTX");
  result.ptx = ptx;
  if (keep) result.stages.push_back({"ptx", ptx});
  result.compileMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (dumpDir && *dumpDir) dumpStages(result, dumpName(result, program.irText(), options), dumpDir);
  return result;
}

}  // namespace uintx::codegen
