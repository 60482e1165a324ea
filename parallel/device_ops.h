// Launching the kernels of parallel_kernels.h on device matrices, on the caller's current
// context and stream. Each kernel is compiled once per (kernel, dtype, divisibility) and
// cached (in memory, and on disk through uintx's kernel cache). Thread-safe.
#pragma once
#include <cuda.h>

#include "uintx/uintx.h"

namespace uintx::parallel {

// h = silu(gate) * up, elementwise; all three of one shape and dtype (bf16 or fp16).
void swiGlu(const DeviceMatrix& gate, const DeviceMatrix& up, const DeviceMatrix& h, CUstream stream);

// out = sum over r < world of partials[r] (world contiguous matrices of out's shape and
// dtype), accumulated in f32 in rank order, rounded once.
// With f32Partials the partials are f32 (unrounded sums), rounded once into out's dtype.
void sumPartials(CUdeviceptr partials, int world, const DeviceMatrix& out, CUstream stream, bool f32Partials = false);

// out [M, world * cols] from `gathered` [world, M, cols] (an all-gather of [M, cols] blocks).
void rankMajorToRowMajor(CUdeviceptr gathered, int world, const DeviceMatrix& out, CUstream stream);

}  // namespace uintx::parallel
