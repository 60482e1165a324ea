// The first kernel of an int8-activation call: each row of x to int8 with its own scale.
#pragma once

#include <cstdint>

#include "dsl/kernel_builder.h"

namespace uintx::kernels {

// Per-row symmetric int8 quantization: scale[m] = max|x[m, :]| / 127 (1 if the row is 0),
// xq = round-half-away(x / scale) clamped to [-127, 127]. Parameters: x [M, K] (act),
// xq [M, K] i8, scale [M] f32, M. One program per row: grid (M). A row of up to
// kQuantizeRowsMaxBlock values is loaded once and quantized from registers; a longer one is
// read twice (its maximum, then its codes) in blocks of `block` values (<= 0: the default,
// the row rounded up to a power of two, at most kQuantizeRowsMaxBlock).
constexpr int64_t kQuantizeRowsMaxBlock = 16384;
constexpr int kQuantizeRowsWarps = 8;
dsl::KernelProgram buildQuantizeRows(int64_t K, dsl::DType act, int block = 0);

}  // namespace uintx::kernels
