// The CUDA Driver API, loaded with dlopen at first use, so that everything except
// launching works on machines without a GPU, and a launch there fails with a clear error.
// <cuda.h> is used for types only; libcuda is never linked.
#pragma once
#include <cuda.h>

#include <string>

namespace uintx::runtime {

// Entry points resolved with dlsym under the names libcuda.so.1 exports: cuda.h maps e.g.
// cuMemAlloc to cuMemAlloc_v2 with #defines, so the members carry the real names.
#define UINTX_CUDA_DRIVER_ENTRIES(X)                                                      \
  X(cuInit) X(cuGetErrorName) X(cuGetErrorString) X(cuDeviceGet) X(cuDeviceGetCount)     \
  X(cuDeviceGetName) X(cuDeviceGetAttribute) X(cuDevicePrimaryCtxRetain)                 \
  X(cuCtxGetCurrent) X(cuCtxSetCurrent) X(cuCtxPushCurrent_v2) X(cuCtxPopCurrent_v2)     \
  X(cuCtxGetDevice) X(cuCtxSynchronize) X(cuModuleLoadDataEx) X(cuModuleGetFunction)     \
  X(cuModuleUnload) X(cuFuncSetAttribute) X(cuFuncGetAttribute) X(cuLaunchKernel)        \
  /* cuLaunchKernelEx (CUDA 12.0+) may be missing: launches then keep plain stream order */ \
  X(cuLaunchKernelEx) X(cuOccupancyMaxActiveBlocksPerMultiprocessor)                     \
  X(cuMemAlloc_v2) X(cuMemFree_v2) X(cuMemcpyHtoD_v2) X(cuMemcpyDtoH_v2)                 \
  X(cuMemcpyDtoDAsync_v2) X(cuMemsetD8_v2) X(cuMemsetD32Async) X(cuPointerGetAttribute)  \
  X(cuStreamCreate) X(cuStreamDestroy_v2) X(cuStreamSynchronize) X(cuEventCreate)        \
  X(cuEventDestroy_v2) X(cuEventRecord) X(cuEventSynchronize)                            \
  /* cuEventElapsedTime_v2 (CUDA 12.8+); the loader falls back to cuEventElapsedTime */  \
  X(cuEventElapsedTime_v2)                                                               \
  X(cuStreamBeginCapture_v2) X(cuStreamEndCapture) X(cuGraphInstantiateWithFlags)         \
  X(cuGraphLaunch) X(cuGraphExecDestroy) X(cuGraphDestroy)                               \
  /* cuTensorMapEncodeTiled (CUDA 12.0+) may be missing: tensor arguments then fail */    \
  X(cuTensorMapEncodeTiled)

struct CudaDriverApi {
#define UINTX_CUDA_ENTRY_MEMBER(name) decltype(&::name) name = nullptr;
  UINTX_CUDA_DRIVER_ENTRIES(UINTX_CUDA_ENTRY_MEMBER)
#undef UINTX_CUDA_ENTRY_MEMBER
};

// True when libcuda.so.1 (or $UINTX_LIBCUDA) loads, has every entry point and cuInit
// succeeds; otherwise false, with the reason in *why.
bool cudaDriverAvailable(std::string* why = nullptr);

// The loaded driver; throws uintx::Error("no CUDA driver: ...") when there is none.
const CudaDriverApi& cudaDriver();

// Throws uintx::Error naming `call`, the error's name and the driver's message.
// Without a loaded driver the error is named by its number.
void checkCuda(CUresult result, const char* call);

// The calling thread's current context; when it has none, device $UINTX_DEVICE's
// (default 0) primary context is retained and made current, as the CUDA runtime does.
CUcontext ensureCudaContext();

struct CudaDeviceInfo {
  int ordinal = 0;
  std::string name;
  int ccMajor = 0;
  int ccMinor = 0;
  int smCount = 0;
  int maxSharedBytesPerBlockOptin = 0;  // the most dynamic shared memory a kernel may opt into
  std::string smArch() const { return "sm_" + std::to_string(ccMajor * 10 + ccMinor); }
};

// The device of the current context (made current by ensureCudaContext if needed).
CudaDeviceInfo currentCudaDevice();

// Makes `context` current on this thread for a scope (push/pop), e.g. to free a resource
// that was made in another context. Never throws; a null context does nothing.
class ScopedCudaContext {
 public:
  explicit ScopedCudaContext(CUcontext context) noexcept;
  ~ScopedCudaContext();
  ScopedCudaContext(const ScopedCudaContext&) = delete;
  ScopedCudaContext& operator=(const ScopedCudaContext&) = delete;

 private:
  bool pushed_ = false;
};

}  // namespace uintx::runtime
