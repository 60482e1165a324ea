// The small elementwise kernels tensor parallelism needs besides the GEMVs, written in the
// DSL (so the CPU interpreter checks them in CI and codegen compiles them for the GPU):
//  - swiGlu: h = silu(gate) * up, the gated MLP's activation between the column-parallel
//    gate/up projections and the row-parallel down projection;
//  - sumPartials: the one-GPU stand-in for an all-reduce: the ranks' partial outputs summed;
//  - rankMajorToRowMajor: an all-gather of [M, N/world] blocks gives [world, M, N/world];
//    this rearranges it into the [M, N] matrix a caller expects.
// All work on flat element indices, i32 (callers keep sizes below 2^31).
#pragma once

#include <optional>

#include "dsl/kernel_builder.h"

namespace uintx::parallel {

// h[i] = gate[i] / (1 + exp(-gate[i])) * up[i], math in f32, `act` in and out (bf16, f16 or
// f32). The DSL has no transcendental op, so exp is built from a range reduction and a
// polynomial (relative error ~1e-7, far below bf16/fp16 rounding).
// Params: gate, up, h, n (i32, promised to be a multiple of `divisibility`). Grid: ceil(n / block).
dsl::KernelProgram buildSwiGlu(dsl::DType act, int block = 1024, int divisibility = 1);

// out[i] = sum over r = 0..world-1 of partials[r * n + i], accumulated in f32 in rank order and
// rounded once to `act`. Params: partials, out, n (i32), world (i32). Grid: ceil(n / block).
// `partial` is the partials' dtype: `act`, or f32 for sums kept unrounded until here.
dsl::KernelProgram buildSumPartials(dsl::DType act, int block = 1024, int divisibility = 1,
                                    std::optional<dsl::DType> partial = std::nullopt);

// dst[m, r * cols + j] = src[r, m, j] for dst [rows, world * cols], src [world, rows, cols].
// Params: src, dst, total (i32, rows * world * cols), rows (i32), cols (i32).
// Grid: ceil(total / block).
dsl::KernelProgram buildRankMajorToRowMajor(dsl::DType act, int block = 1024);

}  // namespace uintx::parallel
