// The DSL example kernels: small programs that exercise the language end to end. The
// demo (examples/demo_main.cc), the CPU tests and the GPU suite all build them from here.
#pragma once

#include "dsl/kernel_builder.h"

namespace uintx::examples {

// z[i] = x[i] + y[i] for i < n, n a multiple of 16. Grid: ceil(n / block).
dsl::KernelProgram vectorAdd(int block = 1024, int numWarps = 4);

// out[i] = max(x[i] * a + y[i], 0) * (x[i] > y[i] ? 2 : 0.5) - y[i] / 4, for i < n,
// x and y in bf16, math in f32, out in f32. Grid: ceil(n / block).
dsl::KernelProgram fusedChain(int block = 512, int numWarps = 4);

// For a row-major [rows, cols] f32 matrix (cols <= block_cols): rowSum[r] and rowMax[r].
// Each program handles block_rows rows. Grid: ceil(rows / block_rows).
dsl::KernelProgram rowSumMax(int blockRows = 16, int blockCols = 128, int numWarps = 4);

// Unpacks 4-bit values from u32 words (value j of a word at bits [4j, 4j+4)), computes
// (q - zero) * scale with one scale and zero per group of `group` values and stores bf16.
// Inputs: words [n/8] u32, scales [n/group] f32, zeros [n/group] f32, out [n] bf16.
// Grid: ceil(n / block).
dsl::KernelProgram unpackInt4(int block = 1024, int group = 128, int numWarps = 4);
// The same on the 16-bit path: `bits`-wide codes unpacked straight to `half` (bf16 or f16) as
// magic + u, then (u - z) s in packed two-lane arithmetic, with scales and zeros in `half`.
dsl::KernelProgram unpackToHalf(int bits, dsl::DType half, int block = 1024, int group = 128, int numWarps = 4);

// Tensor descriptors (TMA copies). Each program copies one [rows, cols] block of the tensor x
// at (row + dr, col + dc), where (row, col) is the program's block of out ([grid.y * rows,
// grid.x * cols], row-major, ldo elements between rows): elements outside x read as 0.
dsl::KernelProgram blockCopy(dsl::DType dtype, int rows, int cols, int numWarps = 4);
// rowSum[r] = sum of row r of the f32 tensor x over its `cols` columns, read in blocks of
// [rows, blockCols] in a loop pipelined over `stages` (copied ahead into a ring).
// Grid: ceil(rows / blockRows).
dsl::KernelProgram blockRowSum(int blockRows, int blockCols, int stages, int numWarps = 4);
// y[M, N] = x[M, K] @ w[N, K]^T on the tensor cores, both operands tensor descriptors read in
// blocks (BM x BK, BN x BK) by a loop pipelined over `stages`: bf16 or f16 in, f32 out; i8 in,
// i32 out. Grid: (ceil(N / BN), ceil(M / BM)).
// `warpSpecialized`: forLoop's (a producer warpgroup issues the copies).
dsl::KernelProgram blockMatmul(dsl::DType dtype, int BM, int BN, int BK, int stages, int numWarps = 4,
                               bool warpSpecialized = false);

}  // namespace uintx::examples
