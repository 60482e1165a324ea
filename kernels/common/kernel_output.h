// How the GEMV and GEMM programs write y. Unsplit, each program stores its tile (+ bias).
// Split along K, each stores an f32 partial tile into the workspace and counts its arrival at
// its output tile's counter; the program that arrives last sums the tile's partials in slice
// order (+ bias) into y. One launch, and the same bits whichever program finishes.
#pragma once

#include <cstdint>
#include <vector>

#include "dsl/kernel_builder.h"

namespace uintx::kernels {

// The output parameters of a program, declared by outputParams: y and bias (when it has one),
// and, split, "partial" (f32 [splitK, M, N]) and "counters" (i32, one per output tile, zero
// between launches: KernelPlan::workspaceBytes counts them, the workspace keeps them zeroed).
struct OutputParams {
  dsl::Value y, bias, partial, counters;
  dsl::DType yType;
  int splitK = 1;
};
OutputParams outputParams(dsl::KernelBuilder& kb, dsl::DType yType, bool hasBias, dsl::DType biasDtype, int splitK);

// One tile of the program's result: f32 sums `acc`, their elements' offsets m * N + n in y,
// the column index n and its mask (shaped to broadcast over acc, for the bias), and the mask
// of the elements in y.
struct OutputTile {
  dsl::Value acc, offset, n, nMask, mask;
};

// Writes the program's tiles. `slice` is the program's K slice and `tileIndex` its output
// tile's counter (from 0 to the number of output tiles), both unused unsplit.
void storeOutput(dsl::KernelBuilder& kb, const OutputParams& out, const std::vector<OutputTile>& tiles,
                 dsl::Value M, int64_t N, dsl::Value slice, dsl::Value tileIndex);

}  // namespace uintx::kernels
