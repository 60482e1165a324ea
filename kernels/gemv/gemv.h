// The weight-only quantized GEMV family, written once in the DSL and specialized per weight
// format (bit width, group size, packing width, shape), activation dtype and config:
//   y[m, n] = sum_k x[m, k] * dequant(W)[n, k] (+ bias[n])
// Each program computes blockN outputs of blockM rows over a K range (split-K programs
// write f32 partials that splitKReduce sums). Works for any registered width: widths that
// divide 32 read whole 32-bit words and unpack them in registers (unpack_bits); others read
// the bytes each value spans. A thread holds S consecutive k of a row (a segment, inside
// one quantization group): it decodes each code to 1 + u / 2^bits with a shift and a lop3,
// sums the segment with one fma per weight, and applies scale and zero once per segment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cache/kernel_key.h"
#include "dsl/kernel_builder.h"
#include "kernels/common/quant_spec.h"

namespace uintx::kernels {

struct GemvConfig {
  int blockN = 16;
  int blockK = 256;
  int numWarps = 4;
  int splitK = 1;
  int blockM = 1;  // activation rows per program
  int stages = 2;  // 2: the next step's loads are issued before this step's math (registers);
                   // >= 3: pipelined through a shared-memory ring that deep (cp.async)
  std::string toString() const;
};

// The config cache's form of a GemvConfig (BLOCK_N, BLOCK_K, BLOCK_M, num_warps, split_k,
// num_stages), both ways.
GemvConfig gemvConfigFrom(const cache::KernelConfig& config);
cache::KernelConfig toKernelConfig(const GemvConfig& config);

// True when the fast path applies: whole 32-bit words, K a multiple of the vector width (a
// last step past K masks whole segments).
bool usesWordPath(const QuantSpec& q, const GemvConfig& c);
// K steps of blockK, the last one possibly past K; split-K deals them out to the slices.
int64_t gemvSteps(const QuantSpec& q, const GemvConfig& c);

// Consecutive K elements a thread loads at once: four 32-bit words of codes (one 16-byte load)
// on the word path, 4 bytes' worth otherwise, at most 32 and at most blockK. A config whose
// tile gives a thread fewer elements than this makes threads duplicate work.
int gemvVectorWidth(const QuantSpec& q, const GemvConfig& c);
// Tile elements per thread and K step: blockN * blockK / threads.
double gemvElementsPerThread(const GemvConfig& c);

// What any GEMV config may ask for: beyond these a program only spills or stalls the compiler.
constexpr int kMaxGemvBlockN = 256;
constexpr int kMaxGemvBlockK = 4096;
constexpr int kMaxSplitK = 64;
constexpr int kMaxGemvTileElementsPerThread = 1024;

// Throws uintx::Error when the config cannot run this format (the message names the rule).
void validateGemvConfig(const QuantSpec& q, const GemvConfig& c);

// Parameters, in order: x [M, K] (act), qweight, scales [N, G], zeros [N, G] (asymmetric only),
// bias [N] (if hasBias; splitK == 1 only), out, M (i32). out is y [M, N] in `act` when
// splitK == 1, else f32 partials [splitK, M, N]. Grid: (ceil(N / blockN), splitK, ceil(M / blockM)).
// `out`: y's dtype, the activation dtype unless given (f32 keeps partial sums exact for a
// tensor-parallel all-reduce).
dsl::KernelProgram buildGemv(const QuantSpec& q, dsl::DType act, bool hasBias, const GemvConfig& c,
                             std::optional<dsl::DType> out = std::nullopt);

}  // namespace uintx::kernels
