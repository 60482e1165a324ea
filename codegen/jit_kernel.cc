#include "codegen/jit_kernel.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "dsl/tensor_block.h"
#include "runtime/cuda_driver.h"
#include "runtime/tensor_map.h"
#include "uintx/error.h"

namespace uintx::codegen {

std::shared_ptr<JitKernel> JitKernel::compile(const dsl::KernelProgram& program, const PtxOptions& options) {
  return std::make_shared<JitKernel>(compileToPtx(program, options), program.params);
}

// UINTX_OVERLAP_LAUNCHES=0 launches every kernel in plain stream order (to compare, or to rule
// programmatic launches out when debugging); read once.
static bool overlapLaunchesAllowed() {
  static const bool allowed = [] {
    const char* v = std::getenv("UINTX_OVERLAP_LAUNCHES");
    return !(v && std::string(v) == "0");
  }();
  return allowed;
}

// The PTX itself says how the kernel overlaps its neighbours (the code generator emits the
// instructions on sm_90+; a kernel from an older disk cache entry has none and keeps the stream's
// usual order).
JitKernel::JitKernel(PtxKernel ptx, std::vector<dsl::KernelParam> params)
    : ptx_(std::move(ptx)), params_(std::move(params)),
      waitsForPriorKernels_(overlapLaunchesAllowed() && ptx_.ptx.find("griddepcontrol.wait;") != std::string::npos),
      launchesNextAtEntry_(ptx_.ptx.find("griddepcontrol.launch_dependents;") != std::string::npos),
      loadsBeforeWait_(std::min(ptx_.ptx.find("ld.global"), ptx_.ptx.find("cp.async")) < ptx_.ptx.find("griddepcontrol.wait;")) {}

std::vector<LaunchArg> JitKernel::bind(const NamedArgs& args) const {
  std::vector<LaunchArg> ordered;
  for (const dsl::KernelParam& p : params_) {
    const LaunchArg* found = nullptr;
    for (const auto& [name, arg] : args)
      if (name == p.name) {
        if (found) throw Error("kernel '" + ptx_.name + "': argument '" + name + "' given twice");
        found = &arg;
      }
    if (!found) throw Error("kernel '" + ptx_.name + "': no argument for parameter '" + p.name + "'");
    ordered.push_back(*found);
  }
  for (const auto& named : args) {
    bool known = false;
    for (const dsl::KernelParam& p : params_) known = known || p.name == named.first;
    if (!known) throw Error("kernel '" + ptx_.name + "' has no parameter '" + named.first + "'");
  }
  return ordered;
}

void JitKernel::checkArgs(const std::vector<LaunchArg>& args) const {
  auto where = [&](size_t i) { return "kernel '" + ptx_.name + "' parameter " + std::to_string(i) + " '" + params_[i].name + "'"; };
  if (args.size() != params_.size())
    throw Error("kernel '" + ptx_.name + "' takes " + std::to_string(params_.size()) + " arguments, got " +
                std::to_string(args.size()));
  for (size_t i = 0; i < args.size(); ++i) {
    const dsl::KernelParam& p = params_[i];
    const LaunchArg& a = args[i];
    if (p.isTensor() != (a.kind == LaunchArg::Kind::tensor))
      throw Error(where(i) + (p.isTensor() ? ": expected a tensor (LaunchArg::tensor)" : ": got a tensor"));
    if (p.isTensor()) {
      try {
        runtime::checkTiledTensor(tiledTensorOf(p, a, false));
      } catch (const Error& e) {
        throw Error(where(i) + ": " + e.what());
      }
    } else if (p.isPointer) {
      if (a.kind != LaunchArg::Kind::pointer) throw Error(where(i) + ": expected a device pointer");
      if (a.pointer == 0) throw Error(where(i) + ": null pointer");
      if (a.pointer % p.divisibility)
        throw Error(where(i) + ": pointer is not " + std::to_string(p.divisibility) +
                    "-byte aligned (kernels use vector accesses)");
    } else if (dsl::isFloat(p.dtype)) {
      if (a.kind != LaunchArg::Kind::f32) throw Error(where(i) + ": expected a float scalar");
    } else {
      if (a.kind != LaunchArg::Kind::i32) throw Error(where(i) + ": expected an integer scalar");
      if (p.divisibility > 1 && (uint32_t(a.i) % uint32_t(p.divisibility)) != 0)
        throw Error(where(i) + ": value " + std::to_string(a.i) + " must be a multiple of " +
                    std::to_string(p.divisibility) + " for this specialization");
    }
  }
}

// A tensor argument as the TMA reads it through map 0 (copies of rows in order) or map 1
// (atoms): its box and swizzle follow the block's form, which the code generator laid shared
// memory out for (dsl/tensor_block.h).
runtime::TiledTensor JitKernel::tiledTensorOf(const dsl::KernelParam& p, const LaunchArg& a, bool atoms) {
  dsl::TensorBlockForm f = dsl::tensorBlockForm(p.dtype, p.block);
  runtime::TiledTensor t;
  t.base = CUdeviceptr(a.pointer);
  switch (p.dtype) {
    case dsl::DType::f32: t.dtype = CU_TENSOR_MAP_DATA_TYPE_FLOAT32; break;
    case dsl::DType::bf16: t.dtype = CU_TENSOR_MAP_DATA_TYPE_BFLOAT16; break;
    case dsl::DType::f16: t.dtype = CU_TENSOR_MAP_DATA_TYPE_FLOAT16; break;
    case dsl::DType::i32: t.dtype = CU_TENSOR_MAP_DATA_TYPE_INT32; break;
    case dsl::DType::u32: t.dtype = CU_TENSOR_MAP_DATA_TYPE_UINT32; break;
    default: t.dtype = CU_TENSOR_MAP_DATA_TYPE_UINT8; break;  // i8, u8: copied as bytes
  }
  t.elemBytes = f.elemBytes;
  t.rows = a.rows;
  t.cols = a.cols;
  t.rowStride = a.rowStride;
  t.boxRows = f.boxRows(atoms);
  t.boxCols = f.boxCols;
  t.swizzle128 = f.swizzled;
  return t;
}

const JitKernel::Loaded& JitKernel::loadedInCurrentContext() const {
  CUcontext ctx = runtime::ensureCudaContext();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = loaded_.find(ctx);
  if (it != loaded_.end()) return it->second;
  runtime::CudaModule module = runtime::CudaModule::fromPtx(ptx_.ptx);
  CUfunction f = module.function(ptx_.name);
  // Once per loaded function, not per launch: the setting stays with it.
  if (unsigned(ptx_.sharedBytes) > runtime::kDefaultDynamicSharedBytes) runtime::reserveDynamicShared(f, unsigned(ptx_.sharedBytes));
  const uint64_t sms = uint64_t(runtime::currentCudaDevice().smCount);
  uint64_t fillingGrid = 0;  // only a kernel that launches the next at entry needs it (orderFor)
  if (launchesNextAtEntry_) {
    int perSm = 0;
    runtime::checkCuda(runtime::cudaDriver().cuOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, f, ptx_.numThreads,
                                                                       size_t(ptx_.sharedBytes)),
              "cuOccupancyMaxActiveBlocksPerMultiprocessor");
    fillingGrid = uint64_t(std::max(perSm, 1) - 1) * sms;
  }
  return loaded_.emplace(ctx, Loaded{std::move(module), f, fillingGrid, sms}).first->second;
}

// A kernel that streams data from entry and lets the next one launch there (the GEMV) overlaps
// the kernel before it only when its grid fills the device, all but one program slot per SM:
// the next kernel's programs, launched early, then take the slots its programs leave as they
// finish, one for one. A grid that leaves SMs room got its successors' early programs piled
// onto a few SMs, and ran slower (4096x4096 W4 M=1, 256 programs of 16 rows: 7.3 -> 8.2 us
// graph-timed). One that requests nothing before it waits (the row quantization before an int8
// GEMM, a few programs) and other kernels, which let the next launch only when their programs
// have exited, always overlap.
runtime::LaunchOrder JitKernel::orderFor(const Loaded& l, uint64_t programs) const {
  if (!waitsForPriorKernels_) return runtime::LaunchOrder::afterCompletion;
  if (!launchesNextAtEntry_ || !loadsBeforeWait_) return runtime::LaunchOrder::overlapPrevious;
  return programs >= l.fillingGrid ? runtime::LaunchOrder::overlapPrevious : runtime::LaunchOrder::afterCompletion;
}

void JitKernel::launch(runtime::Dim3 grid, CUstream stream, const std::vector<LaunchArg>& args) const {
  checkArgs(args);
  const Loaded& l = loadedInCurrentContext();
  std::vector<void*> ptrs(args.size());
  // cuLaunchKernel reads each parameter through a pointer to its storage.
  std::vector<LaunchArg> storage(args);
  // A tensor parameter's maps, in the order of dsl/tensor_block.h (CUtensorMap is 64-byte
  // aligned, as the parameter).
  struct TensorMaps { CUtensorMap inOrder, atoms; };
  static_assert(sizeof(TensorMaps) == dsl::kTensorMapBytes * dsl::kTensorMapsPerBlock);
  std::vector<TensorMaps> maps;
  maps.reserve(args.size());
  for (size_t i = 0; i < storage.size(); ++i) {
    LaunchArg& a = storage[i];
    if (a.kind == LaunchArg::Kind::tensor) {
      maps.push_back({runtime::encodeTensorMap(tiledTensorOf(params_[i], a, false)),
                      runtime::encodeTensorMap(tiledTensorOf(params_[i], a, true))});
      ptrs[i] = &maps.back();
      continue;
    }
    ptrs[i] = a.kind == LaunchArg::Kind::pointer ? (void*)&a.pointer
              : a.kind == LaunchArg::Kind::i32   ? (void*)&a.i
                                                 : (void*)&a.f;
  }
  runtime::launchKernel(l.function, grid, runtime::Dim3{unsigned(ptx_.numThreads), 1, 1}, unsigned(ptx_.sharedBytes), stream,
               ptrs.data(), orderFor(l, uint64_t(grid.x) * grid.y * grid.z));
}

}  // namespace uintx::codegen
