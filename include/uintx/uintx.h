// uintx: low-bit weight-quantized linear layers on NVIDIA GPUs.
//
//   auto q = uintx::quantize(w.data(), N, K, {.bit_width = 4, .group_size = 128});
//   uintx::DeviceWeight dw(q);                      // upload (current CUDA context)
//   uintx::linear({x, M, K, uintx::ScalarType::bf16}, dw, {y, M, N, uintx::ScalarType::bf16}, stream);
//
// y = x @ dequant(W)^T (+ bias), x [M, K] and y [M, N] row-major in device memory, bf16 or
// fp16. Kernels are JIT-compiled per (format, shape, M bucket) on first use and cached; see
// uintx-tune and docs/CACHE.md to pre-warm the caches before serving.
#pragma once

#include <cuda.h>

#include <cstdint>

#include <string>

#include "packing/quantize.h"
#include "packing/quantized_weight.h"
#include "packing/scalar_type.h"
#include "uintx/device_weight.h"
#include "uintx/error.h"
#include "uintx/half.h"

namespace uintx {

// A row-major matrix in device memory (of the current CUDA context).
struct DeviceMatrix {
  const void* data = nullptr;
  int64_t rows = 0, cols = 0;
  ScalarType dtype = ScalarType::bf16;
};

// y = x @ dequant(w)^T (+ w's bias), enqueued on `stream` (0: the legacy default stream) in
// the current context. y is in x's dtype, or f32 (unrounded sums, e.g. for an all-reduce),
// and the context must be the one `w` was uploaded in. Any M >= 1.
// Throws uintx::Error for mismatched shapes or dtypes, null or misaligned pointers, or a
// weight from another context. Safe to call from several threads; after one call with a
// given shape (which compiles the kernel and sizes the workspace) it can be captured in a
// CUDA graph. Its kernels may start while the kernel before them on `stream` finishes
// (programmatic dependent launch, sm_90+): they wait for it before reading x or writing y,
// and read w's buffers before that. A kernel of yours launched right after with the
// programmatic-serialization attribute must itself wait before reading y.
struct LinearOptions {
  // Quantize each row of x to int8 (per-row scale) and multiply int8 x int8 on tensor cores
  // (torchao's Int8DynamicActivation...): for 8-bit symmetric weights and 4-bit grouped
  // weights (group size 32, 64, 128 or 256), K a multiple of 32. Where the weight-only kernels
  // on the same weights are faster, x is not quantized and they run instead (closer to the
  // float result): one row; two on layers of at most 2^24 weights; 4-bit weights at every M
  // (docs/PERFORMANCE.md, run 15). Other formats fail with a uintx::Error naming the rule.
  bool int8Activations = false;
};

// Where tuned configs and compiled kernels live; empty strings disable that cache.
// Defaults: $UINTX_CONFIG_CACHE / $UINTX_KERNEL_CACHE_DIR (see docs/CACHE.md); caching is
// on by default for kernels and off for configs unless the variable or this call names one.
// A call takes effect at every later linear() call, of shapes that already ran too.
struct CacheSettings {
  std::string configCachePath;
  std::string kernelsDir;
};
void setCacheSettings(const CacheSettings& settings);
CacheSettings cacheSettings();

void linear(const DeviceMatrix& x, const DeviceWeight& w, const DeviceMatrix& y, CUstream stream = nullptr,
            const LinearOptions& options = {});

}  // namespace uintx
