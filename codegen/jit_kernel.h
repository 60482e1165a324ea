// A DSL program compiled to PTX and launchable: the module is loaded lazily, once per CUDA
// context (modules belong to contexts), and launches check every argument against the
// program's parameters first, so a bad call fails with a message instead of a GPU fault.
#pragma once

#include <cuda.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "codegen/ptx_compiler.h"
#include "runtime/cuda_module.h"
#include "runtime/tensor_map.h"
#include "dsl/kernel_builder.h"

namespace uintx::codegen {

// One kernel argument: a device pointer, a 32-bit scalar, or a tensor (KernelBuilder::tensorArg:
// a row-major [rows, cols] tensor at `pointer`, rowStride elements between rows; the launch
// encodes its tensor map).
struct LaunchArg {
  enum class Kind { pointer, i32, f32, tensor } kind;
  uint64_t pointer = 0;
  int32_t i = 0;
  float f = 0;
  int64_t rows = 0, cols = 0, rowStride = 0;
  static LaunchArg ptr(CUdeviceptr p) { return {Kind::pointer, uint64_t(p)}; }
  static LaunchArg ptr(const void* p) { return {Kind::pointer, uint64_t(uintptr_t(p))}; }
  static LaunchArg i32(int32_t v) { return {Kind::i32, 0, v}; }
  static LaunchArg u32(uint32_t v) { return {Kind::i32, 0, int32_t(v)}; }
  static LaunchArg f32(float v) { return {Kind::f32, 0, 0, v}; }
  static LaunchArg tensor(CUdeviceptr base, int64_t rows, int64_t cols, int64_t rowStride) {
    return {Kind::tensor, uint64_t(base), 0, 0, rows, cols, rowStride};
  }
};

// Arguments by parameter name (KernelBuilder::pointerArg / scalarArg), in any order: a
// launcher names what it passes instead of repeating each program's parameter order.
using NamedArgs = std::vector<std::pair<std::string, LaunchArg>>;

class JitKernel {
 public:
  // Compiles the program to PTX now (no GPU needed).
  static std::shared_ptr<JitKernel> compile(const dsl::KernelProgram& program, const PtxOptions& options = {});
  JitKernel(PtxKernel ptx, std::vector<dsl::KernelParam> params);

  // Launches on `stream` (0: the legacy default stream) in the caller's current context.
  void launch(runtime::Dim3 grid, CUstream stream, const std::vector<LaunchArg>& args) const;
  void launch(runtime::Dim3 grid, CUstream stream, const NamedArgs& args) const { launch(grid, stream, bind(args)); }
  // `args` in the program's parameter order; throws uintx::Error naming a parameter that is
  // missing, or a name that is no parameter (or given twice).
  std::vector<LaunchArg> bind(const NamedArgs& args) const;
  // Checks arguments only (what launch checks first); throws uintx::Error.
  void checkArgs(const std::vector<LaunchArg>& args) const;
  // Loads the module in the caller's current context now rather than at the first launch, so
  // that the driver's PTX compile can run on a thread of its own (the tuner compiles ahead).
  void load() const { loadedInCurrentContext(); }

  // SMs of the current context's device.
  uint64_t smCount() const { return loadedInCurrentContext().sms; }

  const PtxKernel& ptx() const { return ptx_; }
  const std::vector<dsl::KernelParam>& params() const { return params_; }

 private:
  // The kernel loaded in one context.
  struct Loaded {
    runtime::CudaModule module;
    CUfunction function;
    // Kernels that launch the next at entry: the programs that fill all but one resident slot
    // per SM (occupancy x SMs - SMs), the least a launch needs to overlap the kernel before.
    uint64_t fillingGrid;
    uint64_t sms;
  };
  const Loaded& loadedInCurrentContext() const;
  static runtime::TiledTensor tiledTensorOf(const dsl::KernelParam& p, const LaunchArg& a, bool atoms);
  // How a launch of `programs` programs is ordered after the kernel before it (runtime::launchKernel).
  runtime::LaunchOrder orderFor(const Loaded& loaded, uint64_t programs) const;
  PtxKernel ptx_;
  std::vector<dsl::KernelParam> params_;
  bool waitsForPriorKernels_;    // griddepcontrol.wait: may be launched to overlap the kernel before
  bool launchesNextAtEntry_;     // griddepcontrol.launch_dependents at entry (dsl::LaunchOverlap::early)
  bool loadsBeforeWait_;         // requests (constant) data before griddepcontrol.wait
  mutable std::mutex mutex_;
  mutable std::map<CUcontext, Loaded> loaded_;
};

}  // namespace uintx::codegen
