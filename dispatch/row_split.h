// How uintx::linear runs a call of M rows on a plan whose programs take `rowsPerProgram` rows.
#pragma once

#include <cstdint>

#include "cache/kernel_key.h"

namespace uintx::dispatch {

// The rows past the last whole row block of large tiles that run as a call of their own (0
// for none). A few rows would cost a whole row block of programs, as long as a full one, while
// a call of their own runs them on the small-M tiles in a fraction of that: for row blocks of
// 128 rows or more (16-byte multiples, so the second call's x and y stay aligned), a remainder
// of at most a quarter of a block. Not with int8 activations: that call streams the 8-bit
// weights once more, about as long as the int8 GEMM's 128-row block, whose second block mostly
// fills idle SMs (docs/PERFORMANCE.md, run 22: 8192x8192 W8A8 at M = 160 took 66 us split,
// 1.7x M = 128).
int64_t separateTailRows(int64_t M, int64_t rowsPerProgram, cache::KernelFamily family);

}  // namespace uintx::dispatch
