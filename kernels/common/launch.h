// What every kernel family's launch recipe takes: the buffers of one linear call, and how the
// compiled kernels of one (format, dtypes, bias, config) are launched on them. dispatch/
// launches served calls through it and autotune/ times candidates through it, so the two can
// never launch a family differently.
#pragma once

#include <cuda.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "codegen/jit_kernel.h"
#include "dsl/kernel_builder.h"

namespace uintx::kernels {

using codegen::LaunchArg;
using codegen::NamedArgs;

// y = x @ dequant(W)^T (+ bias) for M rows. Pointers are device addresses in the current
// context; zeros and bias are 0 where the weight has none.
struct LinearCall {
  CUdeviceptr x = 0, y = 0;
  CUdeviceptr packed = 0, scales = 0, zeros = 0, bias = 0;
  CUdeviceptr workspace = 0;  // KernelPlan::workspaceBytes(M) bytes (0 where that is 0)
  int64_t M = 0;
};

// Turns a program into a launchable kernel (dispatch/'s kernel store: memory, disk, compile).
using CompileFn = std::function<std::shared_ptr<codegen::JitKernel>(const dsl::KernelProgram&)>;

// The compiled kernels of one family for one (format, dtypes, bias, config).
class KernelPlan {
 public:
  virtual ~KernelPlan() = default;
  // Scratch memory a call of M rows needs (split-K partials, int8 activations).
  virtual size_t workspaceBytes(int64_t M) const = 0;
  virtual void launch(const LinearCall& call, CUstream stream) const = 0;
  // Rows of x one program covers (its tile's rows); 0 where programs do not tile the rows.
  virtual int64_t rowsPerProgram() const { return 0; }
};

// The weight's arguments, as every family names them: qweight, scales, zeros (where present).
NamedArgs weightArgs(const LinearCall& call);
// Where a family's main kernel writes: f32 partials at `partial` when K is split (the split-K
// reduce then adds the bias), else y, with the bias when the program takes one.
void addOutputArgs(NamedArgs& args, const LinearCall& call, int splitK, bool hasBias, CUdeviceptr partial);
unsigned ceilDiv(int64_t a, int64_t b);

}  // namespace uintx::kernels
