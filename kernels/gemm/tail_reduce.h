// The second kernel of a tail split (GemmConfig::tailSplit): sums the f32 partials of each tail
// tile's slices (+ bias) into y. Both GEMM families (weight-only and int8) end with it.
#pragma once

#include <cstdint>

#include "dsl/kernel_builder.h"
#include "kernels/common/launch.h"
#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// How a call of M rows runs under a tail split: `tiles` output tiles, of which the first
// `fullTiles` are computed whole, one program each, and every later one by `slices` programs,
// one K slice each. With waves of one program per SM (`sms` of them: a second resident program
// shares its SM's bandwidth and tensor cores rather than adding to them), the tiles past the
// last whole wave are split into c.tailSplit slices (of at least 4 K steps each) when they fill
// at most half a wave and the slices fill at least a tenth more of the SMs; otherwise none is.
struct TailSplit {
  int64_t tiles = 0, fullTiles = 0;
  int slices = 1;
  int64_t tailTiles() const { return tiles - fullTiles; }
  int64_t programs() const { return fullTiles + tailTiles() * slices; }
};
TailSplit tailSplitOf(const QuantSpec& q, const GemmConfig& c, int64_t M, uint64_t sms);

// `c` as a call of M rows on `sms` SMs runs: without its tail split where that splits no tile
// (the same programs, the same work).
GemmConfig asRun(const QuantSpec& q, GemmConfig c, int64_t M, uint64_t sms);

// Bytes of the f32 partials a tail split of M rows on `sms` SMs writes (0 where it splits no
// tile): a [blockM, blockN] tile per tail program, rounded up to 256 so that what follows them
// in a workspace stays aligned.
size_t tailPartialBytes(const QuantSpec& q, const GemmConfig& c, int64_t M, uint64_t sms);

// y[tile] = the sum of its slices' partial tiles (+ bias), program t summing tile full_tiles + t
// from partial tiles t * c.tailSplit .. t * c.tailSplit + c.tailSplit - 1. Parameters: partial,
// bias (if hasBias), y, M, full_tiles.
// Grid: (tail tiles). The bias has the weight's scale dtype.
dsl::KernelProgram buildTailReduce(const QuantSpec& q, const GemmConfig& c, dsl::DType yType, bool hasBias);

// Launches the GEMM program `main` (built with c.tailSplit > 1) on `args` (weights, activations,
// M), then `reduce` (buildTailReduce) where the call has tail tiles.
void launchTailSplit(const codegen::JitKernel& main, const codegen::JitKernel& reduce, const QuantSpec& q,
                     const GemmConfig& c, NamedArgs args, const LinearCall& call, CUdeviceptr partial, bool hasBias,
                     CUstream stream);

}  // namespace uintx::kernels
