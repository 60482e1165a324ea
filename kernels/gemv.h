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

#include "dsl/kernel_builder.h"

namespace uintx::kernels {

// Packed weights, scales, zeros and bias reach the kernels as DeviceWeight buffers, uploaded
// once and written by nothing while kernels run: a kernel may start reading them before it
// waits for the kernels before it on the stream (dsl::PointerAccess::constant).
constexpr dsl::PointerAccess kWeightData = dsl::PointerAccess::constant;

// What a kernel program needs to know about the weight format.
struct QuantSpec {
  int bits = 4;
  bool symmetric = false;  // true: q is bits-wide two's complement, W = q * scale per row
  int groupSize = 128;     // along K (== K: one scale per row)
  int packingBits = 32;    // width of the packed words (8, 16, 32)
  int64_t N = 0, K = 0;
  dsl::DType scaleDtype = dsl::DType::bf16;
  int valuesPerWord() const { return packingBits / bits; }
  int64_t rowBytes() const;
};

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

// Symmetric formats store each field as a bits-wide two's complement; flipping every field's
// sign bit makes it offset binary (u = q + 2^(bits-1)): one xor per 32-bit word, not per value.
dsl::Value signedFieldsToUnsigned(dsl::Value words, int bits);

// f = 1 + u / 2^bits as f32, exactly, for unsigned codes u < 2^bits (bits <= 8): the code
// becomes the top mantissa bits of 1.0f (a shift and one lop3; no int->float conversion,
// which is quarter rate on the GPU, and no magic-number subtract).
dsl::Value codesToUnitFloat(dsl::Value codes, int bits);
// The GEMV's paired decode (buildGemv): the float whose bits are the code in the top `bits`
// mantissa bits, u 2^(-126-bits), or, where `evenField`, in the `bits` below them,
// u 2^(-126-2 bits); subnormal, exact, no exponent to set. Neighbouring fields of a word then
// share one shift.
dsl::Value codesToPairedSubnormal(dsl::Value codes, dsl::Value evenField, int bits);

// True when the fast path applies: whole 32-bit words, K a multiple of blockK * splitK.
bool usesWordPath(const QuantSpec& q, const GemvConfig& c);

// Consecutive K elements a thread loads at once: four 32-bit words of codes (one 16-byte load)
// on the word path, 4 bytes' worth otherwise, at most 32 and at most blockK. A config whose
// tile gives a thread fewer elements than this makes threads duplicate work.
int gemvVectorWidth(const QuantSpec& q, const GemvConfig& c);
// Tile elements per thread and K step: blockN * blockK / threads.
double gemvElementsPerThread(const GemvConfig& c);

// Throws uintx::Error when the config cannot run this format (the message names the rule).
void validateGemvConfig(const QuantSpec& q, const GemvConfig& c);

// Parameters, in order: x [M, K] (act), qweight, scales [N, G], zeros [N, G] (asymmetric only),
// bias [N] (if hasBias; splitK == 1 only), out, M (i32). out is y [M, N] in `act` when
// splitK == 1, else f32 partials [splitK, M, N]. Grid: (ceil(N / blockN), splitK, ceil(M / blockM)).
// `out`: y's dtype, the activation dtype unless given (f32 keeps partial sums exact for a
// tensor-parallel all-reduce).
dsl::KernelProgram buildGemv(const QuantSpec& q, dsl::DType act, bool hasBias, const GemvConfig& c,
                             std::optional<dsl::DType> out = std::nullopt);

// y[m, n] = sum_s partial[s, m, n] (+ bias[n]). Parameters: partial, bias (if hasBias), y, M.
// Grid: (ceil(N / block), M).
// The bias has the weight's scale dtype.
dsl::KernelProgram buildSplitKReduce(int64_t N, int splitK, dsl::DType act, bool hasBias,
                                     dsl::DType biasDtype, int block = 256);

}  // namespace uintx::kernels
