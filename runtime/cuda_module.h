// A loaded CUDA module (PTX or cubin) and kernel launches. A module belongs to the
// context it was loaded in, so any cache of modules must be keyed by CUcontext too.
#pragma once
#include <cuda.h>

#include <string>

namespace uintx::runtime {

class CudaModule {
 public:
  // Loads PTX text (JIT-compiled by the driver) into the current context (see
  // ensureCudaContext); a JIT failure throws uintx::Error carrying the JIT error log.
  static CudaModule fromPtx(const std::string& ptx);
  // Loads a cubin or fatbin image; the bytes need only stay valid during the call.
  static CudaModule fromImage(const void* image);

  CudaModule() = default;
  CudaModule(CudaModule&& other) noexcept;
  CudaModule& operator=(CudaModule&& other) noexcept;
  CudaModule(const CudaModule&) = delete;
  CudaModule& operator=(const CudaModule&) = delete;
  ~CudaModule();

  // Throws uintx::Error naming the kernel when the module has no such function.
  CUfunction function(const std::string& name) const;
  CUmodule get() const { return module_; }
  CUcontext context() const { return context_; }

 private:
  CudaModule(CUmodule module, CUcontext context) : module_(module), context_(context) {}
  void reset() noexcept;

  CUmodule module_ = nullptr;
  CUcontext context_ = nullptr;
};

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

// Dynamic shared memory a launch may ask for without reserveDynamicShared.
constexpr unsigned kDefaultDynamicSharedBytes = 48 * 1024;

// Opts `kernel` into `sharedBytes` of dynamic shared memory, with the shared-memory carveout
// at its maximum (so that as many blocks fit on an SM as the shared memory allows). Needed
// before launches above 48 KiB; the setting stays with the loaded function, so once per
// function is enough.
void reserveDynamicShared(CUfunction kernel, unsigned sharedBytes);

// How a launch is ordered after the kernel before it on the stream. `afterCompletion` is the
// stream's usual order. `overlapPrevious` (programmatic dependent launch, sm_90+) lets the
// kernel be launched while the one before it still runs, so that its start-up hides behind
// that kernel's tail; only for kernels that execute griddepcontrol.wait before their first
// memory access (every kernel of the code generator on sm_90+, see codegen/lowering/lower_kernel.cc), since
// nothing else orders them after the previous kernel's writes. In a CUDA graph capture the
// edge becomes a programmatic dependency.
enum class LaunchOrder { afterCompletion, overlapPrevious };

// Launches `kernel` with its parameters in `args` (one pointer per parameter, as
// cuLaunchKernel takes them). Above 48 KiB of dynamic shared memory the kernel must have been
// given reserveDynamicShared first (else the driver refuses the launch).
void launchKernel(CUfunction kernel, Dim3 grid, Dim3 block, unsigned sharedBytes,
                  CUstream stream, void** args, LaunchOrder order = LaunchOrder::afterCompletion);

}  // namespace uintx::runtime
