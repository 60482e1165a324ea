#include "runtime/cuda_module.h"

#include <cstdint>
#include <utility>

#include "runtime/cuda_driver.h"
#include "uintx/error.h"

namespace uintx::runtime {
namespace {

constexpr size_t kJitLogBytes = 16384;

std::string dimText(Dim3 d) {
  return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
}

}  // namespace

CudaModule CudaModule::fromPtx(const std::string& ptx) {
  if (ptx.empty()) throw Error("CudaModule::fromPtx: the PTX text is empty");
  return fromImage(ptx.c_str());  // c_str() is NUL-terminated, as the driver requires
}

CudaModule CudaModule::fromImage(const void* image) {
  const CudaDriverApi& api = cudaDriver();
  if (!image) throw Error("CudaModule::fromImage: the image pointer is null");
  CUcontext context = ensureCudaContext();
  std::string errorLog(kJitLogBytes, '\0');
  std::string infoLog(kJitLogBytes, '\0');
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                            CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  void* values[] = {errorLog.data(), reinterpret_cast<void*>(uintptr_t(kJitLogBytes)),
                    infoLog.data(), reinterpret_cast<void*>(uintptr_t(kJitLogBytes))};
  CUmodule module = nullptr;
  CUresult result = api.cuModuleLoadDataEx(&module, image, 4, options, values);
  if (result != CUDA_SUCCESS) {
    errorLog.resize(errorLog.find('\0') == std::string::npos ? errorLog.size()
                                                             : errorLog.find('\0'));
    try {
      checkCuda(result, "cuModuleLoadDataEx");
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + "; JIT error log: " +
                  (errorLog.empty() ? std::string("(empty)") : errorLog));
    }
  }
  return CudaModule(module, context);
}

CudaModule::CudaModule(CudaModule&& other) noexcept
    : module_(std::exchange(other.module_, nullptr)),
      context_(std::exchange(other.context_, nullptr)) {}

CudaModule& CudaModule::operator=(CudaModule&& other) noexcept {
  if (this != &other) {
    reset();
    module_ = std::exchange(other.module_, nullptr);
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

CudaModule::~CudaModule() { reset(); }

void CudaModule::reset() noexcept {
  if (!module_) return;
  // Errors are ignored: at process exit the driver may already be shutting down.
  ScopedCudaContext inOwnContext(context_);
  cudaDriver().cuModuleUnload(module_);
  module_ = nullptr;
  context_ = nullptr;
}

CUfunction CudaModule::function(const std::string& name) const {
  const CudaDriverApi& api = cudaDriver();
  if (!module_) throw Error("CudaModule::function('" + name + "'): the module is empty (moved from)");
  CUfunction fn = nullptr;
  CUresult result = api.cuModuleGetFunction(&fn, module_, name.c_str());
  if (result == CUDA_ERROR_NOT_FOUND)
    throw Error("CudaModule::function: the module has no kernel named '" + name + "'");
  checkCuda(result, ("cuModuleGetFunction('" + name + "')").c_str());
  return fn;
}

void reserveDynamicShared(CUfunction kernel, unsigned sharedBytes) {
  const CudaDriverApi& api = cudaDriver();
  if (!kernel) throw Error("reserveDynamicShared: the kernel function is null");
  std::string call = "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES=" + std::to_string(sharedBytes) + ")";
  checkCuda(api.cuFuncSetAttribute(kernel, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(sharedBytes)),
            call.c_str());
  checkCuda(api.cuFuncSetAttribute(kernel, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100),
            "cuFuncSetAttribute(PREFERRED_SHARED_MEMORY_CARVEOUT=100)");
}

void launchKernel(CUfunction kernel, Dim3 grid, Dim3 block, unsigned sharedBytes,
                  CUstream stream, void** args, LaunchOrder order) {
  const CudaDriverApi& api = cudaDriver();
  if (!kernel) throw Error("launchKernel: the kernel function is null");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0)
    throw Error("launchKernel: grid " + dimText(grid) + " has a zero dimension");
  // The driver's limits (every GPU since sm_30), named here rather than as its invalid-value error.
  if (grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
    throw Error("launchKernel: grid " + dimText(grid) + " exceeds the GPU's (2^31 - 1, 65535, 65535): too many rows "
                "or columns for one launch");
  if (block.x == 0 || block.y == 0 || block.z == 0 ||
      uint64_t(block.x) * block.y * block.z > 1024)
    throw Error("launchKernel: block " + dimText(block) +
                " must have nonzero dimensions and at most 1024 threads");
  ensureCudaContext();
  CUresult result;
  if (!api.cuLaunchKernelEx) order = LaunchOrder::afterCompletion;  // a driver before CUDA 12.0
  if (order == LaunchOrder::overlapPrevious) {
    CUlaunchAttribute overlap{};
    overlap.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    overlap.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config{};
    config.gridDimX = grid.x, config.gridDimY = grid.y, config.gridDimZ = grid.z;
    config.blockDimX = block.x, config.blockDimY = block.y, config.blockDimZ = block.z;
    config.sharedMemBytes = sharedBytes;
    config.hStream = stream;
    config.attrs = &overlap;
    config.numAttrs = 1;
    result = api.cuLaunchKernelEx(&config, kernel, args, nullptr);
  } else {
    result = api.cuLaunchKernel(kernel, grid.x, grid.y, grid.z, block.x, block.y, block.z, sharedBytes, stream,
                                args, nullptr);
  }
  if (result != CUDA_SUCCESS) {
    std::string call = std::string(order == LaunchOrder::overlapPrevious ? "cuLaunchKernelEx" : "cuLaunchKernel") +
                       "(grid " + dimText(grid) + ", block " + dimText(block) + ", " + std::to_string(sharedBytes) +
                       " B shared)";
    checkCuda(result, call.c_str());
  }
}

}  // namespace uintx::runtime
