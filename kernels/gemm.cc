#include "kernels/gemm.h"

#include "kernels/pipelined_loop.h"
#include "uintx/error.h"

namespace uintx::kernels {

using namespace uintx::dsl;

std::string GemmConfig::toString() const {
  return "BM=" + std::to_string(blockM) + " BN=" + std::to_string(blockN) + " BK=" + std::to_string(blockK) +
         " warps=" + std::to_string(numWarps) + " stages=" + std::to_string(stages) +
         " splitK=" + std::to_string(splitK);
}

// The first rule `c` breaks for this format, or empty when the GEMM programs can run it.
static std::string unsupportedBecause(const QuantSpec& q, const GemmConfig& c, bool int8Activations) {
  auto n = [](int64_t v) { return std::to_string(v); };
  if (q.bits != 4 && q.bits != 8) return "bit width " + n(q.bits) + " is not 4 or 8";
  if (q.rowBytes() % 16 != 0) return "weight rows of " + n(q.rowBytes()) + " bytes are not 16-byte multiples";
  if (c.blockM < 1 || c.blockN < 1 || c.numWarps < 1) return "block sizes and warps must be >= 1";
  if (c.blockK < 32 || c.blockK % 32 != 0) return "blockK must be a multiple of 32";
  if (c.stages < 1 || c.stages > 8) return "stages must be in [1, 8]";
  if (c.splitK < 1) return "splitK must be >= 1";
  if (q.K % (int64_t(c.blockK) * c.splitK) != 0)
    return "K (" + n(q.K) + ") must be a multiple of blockK * splitK (" + n(int64_t(c.blockK) * c.splitK) + ")";
  if (int8Activations) {
    if (q.bits == 8 && !q.symmetric) return "8-bit weights must be symmetric";
    if (!q.symmetric && q.groupSize != c.blockK)
      return "4-bit weights need blockK equal to the group size (" + n(q.groupSize) + ")";
    return "";
  }
  bool grouped = q.groupSize < q.K;
  if (grouped && q.groupSize % 32 != 0) return "group size " + n(q.groupSize) + " is not a multiple of 32";
  // Each split covers whole groups, so that no group's scale is applied across two programs.
  if (grouped && c.splitK > 1 && (q.K / c.splitK) % q.groupSize != 0)
    return "split-K slices of K / splitK = " + n(q.K / c.splitK) + " must hold whole groups of " + n(q.groupSize);
  return "";
}

bool gemmSupports(const QuantSpec& q, const GemmConfig& c, bool int8Activations) {
  return unsupportedBecause(q, c, int8Activations).empty();
}

void validateGemmConfig(const QuantSpec& q, const GemmConfig& c, bool int8Activations) {
  std::string why = unsupportedBecause(q, c, int8Activations);
  if (!why.empty())
    throw Error(std::string(int8Activations ? "int8 GEMM" : "GEMM") + " config " + c.toString() + " (bits=" +
                std::to_string(q.bits) + ", group=" + std::to_string(q.groupSize) + ", K=" + std::to_string(q.K) +
                "): " + why);
}

// Elements per thread along k: four 32-bit words of codes (one 16-byte load), so that each
// thread unpacks whole words; the dot stages the tiles through shared memory from there.
static int gemmVectorWidth(const QuantSpec& q, const GemmConfig& c) { return std::min(c.blockK, 4 * (32 / q.bits)); }

// The index tiles of one [BM, BN] output block. They are built separately for the weight
// rows (rn2) and the output columns (rn): each side has its own tensor-core layout, and an
// arange costs nothing to rebuild.
struct BlockIndices {
  Value rm, rmMask2;      // activation / output rows [BM], and their mask as [BM, 1]
  Value rn2, rnMask2;     // weight rows as [BN, 1]
  Value rn, rnMask;       // output columns [BN]
  Value numGroups;        // scale groups per weight row
};

// Programs start in launch order, x fastest. Mapped directly, a wave of programs would sweep
// all of N for one or two row blocks of M, and every row block would read all the weights
// again from memory. Taken in groups of kGroupRows row blocks (Triton's GROUP_M), a wave
// shares its weight tiles and activation rows in L2. Returns the (row block, column block)
// of this program; the grid is unchanged, (ceil(N / blockN), ceil(M / blockM)).
constexpr int kGroupRows = 8;
static std::pair<Value, Value> tileOfProgram(KernelBuilder& kb, const GemmConfig& c, Value M, int64_t N) {
  int columns = int((N + c.blockN - 1) / c.blockN), perGroup = kGroupRows * columns;
  Value rows = (M + (c.blockM - 1)) / c.blockM;
  Value linear = kb.programId(1) * columns + kb.programId(0);
  Value first = linear / perGroup * kGroupRows;
  Value groupRows = minimum(rows - first, kGroupRows);
  Value inGroup = linear % perGroup;
  return {first + inGroup % groupRows, inGroup / groupRows};
}

static BlockIndices blockIndices(KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, Value M) {
  BlockIndices b;
  const int N = int(q.N);
  auto [row, column] = tileOfProgram(kb, c, M, q.N);
  b.rm = row * c.blockM + kb.arange(0, c.blockM);
  b.rmMask2 = expandDims(b.rm < M, 1);
  Value rnW = column * c.blockN + kb.arange(0, c.blockN);
  b.rn2 = expandDims(rnW, 1);
  b.rnMask2 = expandDims(rnW < N, 1);
  b.rn = column * c.blockN + kb.arange(0, c.blockN);
  b.rnMask = b.rn < N;
  b.numGroups = kb.constant(double(q.K / q.groupSize), DType::i32);
  return b;
}

// The packed 32-bit words of the weight tile: rows rn2 [BN, 1] masked by rnMask2, columns
// k0 .. k0 + blockK; [BN, blockK / (32 / bits)] of u32.
static Value loadWordTile(KernelBuilder& kb, const QuantSpec& q, int blockK, Value qweight, Value rn2,
                          Value rnMask2, Value k0) {
  int per = 32 / q.bits;
  int wordsPerRow = int(q.rowBytes() / 4);
  Value rw = k0 / per + kb.arange(0, blockK / per);
  return load(qweight + (rn2 * wordsPerRow + expandDims(rw, 0)), rnMask2, 0.0);
}

// The int8 GEMM's K loop: with stages >= 2 the code generator pipelines it, every tile whose
// loads allow it (activations, weight codes or words) coming through a shared-memory ring
// `stages` deep (cp.async, see codegen/async_loads.h); the rest is loaded in the step. (The
// weight-only GEMM writes its loop by hand: it carries its dequantized weights.)
static Value kLoop(KernelBuilder& kb, const GemmConfig& c, Value lo, Value hi, Value acc, const LoadStep& load,
                   const ComputeStep& step) {
  return pipelinedLoop(kb, lo, hi, c.blockK, {acc}, load, step, /*prefetch=*/false, c.stages)[0];
}

// The activation tile [BM, BK] at columns k0 .. k0 + BK.
static Value loadActivationTile(KernelBuilder& kb, const QuantSpec& q, const GemmConfig& c, const BlockIndices& b,
                                Value x, Value k0) {
  return load(x + (expandDims(b.rm, 1) * int(q.K) + expandDims(k0 + kb.arange(0, c.blockK), 0)), b.rmMask2, 0.0);
}

KernelProgram buildGemm(const QuantSpec& q, DType act, bool hasBias, const GemmConfig& c, std::optional<DType> outDtype) {
  DType yType = outDtype.value_or(act);
  validateGemmConfig(q, c, false);
  const bool split = c.splitK > 1;
  KernelBuilder kb("gemm_w" + std::to_string(q.bits) + "_" + dtypeName(act));
  Value x = kb.pointerArg("x", act);
  Value qweight = kb.pointerArg("qweight", DType::u32, kWeightData);
  Value scales = kb.pointerArg("scales", q.scaleDtype, kWeightData);
  Value zeros = q.symmetric ? Value() : kb.pointerArg("zeros", q.scaleDtype, kWeightData);
  Value bias = hasBias && !split ? kb.pointerArg("bias", q.scaleDtype, kWeightData) : Value();
  Value out = kb.pointerArg(split ? "out" : "y", split ? DType::f32 : yType);
  Value M = kb.scalarArg("M", DType::i32);
  kb.setNumWarps(c.numWarps);
  kb.setVectorWidth(gemmVectorWidth(q, c));
  const int BM = c.blockM, BN = c.blockN, BK = c.blockK, N = int(q.N), K = int(q.K);
  bool perRow = q.groupSize >= q.K;
  BlockIndices b = blockIndices(kb, q, c, M);
  const Value &rm = b.rm, &rmMask2 = b.rmMask2, &rn2 = b.rn2, &rnMask2 = b.rnMask2, &rn = b.rn, &rnMask = b.rnMask,
              &numGroups = b.numGroups;
  // Dequantization: f = 1 + q / 2^bits, exactly: the code becomes the top mantissa bits of a
  // float in [1, 2) (a shift and one lop3). Then (q - z) s = f (2^bits s) - (1 + z / 2^bits)
  // (2^bits s) is one fma per weight, f * scaled - offset, its two factors computed once per
  // group. Symmetric codes have z = 2^(bits-1) once their two's-complement codes are made
  // offset-binary (one xor of the top bit of every field, per word); per-row scales are
  // applied after the sum (s = 1).
  const double unit = double(1 << q.bits);
  // The factors of step k0's tile: [BN, BK] tiles whose values repeat along each group. They
  // are loaded a step before they are used (the loop carries them): a load issued in the step
  // that needs it would stall every warp of the CTA at once, between two barriers.
  struct Factors { Value scaled, offset; };
  Value rowOffset = perRow ? (q.symmetric ? Value() : cast(load(zeros + rn2, rnMask2, 0.0), DType::f32) + unit) : Value();
  auto factorsOf = [&](Value k0) -> Factors {
    if (perRow) return {};
    Value g = rn2 * numGroups + expandDims(k0 + kb.arange(0, BK), 0) / q.groupSize;
    Value us = cast(load(scales + g, rnMask2, 0.0), DType::f32) * unit;
    return {us, q.symmetric ? us * 1.5 : (cast(load(zeros + g, rnMask2, 0.0), DType::f32) / unit + 1.0) * us};
  };
  auto carriedFactors = [&](const Factors& f) { return perRow ? std::vector<Value>{} : std::vector<Value>{f.scaled, f.offset}; };
  auto factorsFrom = [&](const std::vector<Value>& v, size_t at) { return perRow ? Factors{} : Factors{v[at], v[at + 1]}; };
  // The weight tile of step k0, dequantized to the activation dtype.
  auto dequantizedWeights = [&](Value k0, const Factors& fs) {
    Value words = loadWordTile(kb, q, BK, qweight, rn2, rnMask2, k0);
    if (q.symmetric) words = signedFieldsToUnsigned(words, q.bits);
    Value f = codesToUnitFloat(unpackBits(words, q.bits), q.bits);
    Value w;
    if (perRow) w = q.symmetric ? f * unit - 1.5 * unit : f * unit - rowOffset;
    else w = f * fs.scaled - fs.offset;
    return cast(w, act);
  };
  // Dequantization runs one step ahead, in registers: step k0 multiplies the tile dequantized
  // by the step before, then dequantizes the next one. Nothing orders the two, so each warp's
  // integer and fma work for the next step fills the gaps of its tensor-core work for this
  // one. program_id(2) takes the K slice [pidK * K / splitK, (pidK + 1) * K / splitK).
  Value kLo = split ? kb.programId(2) * (K / c.splitK) : kb.constant(0, DType::i32);
  Value kHi = kLo + K / c.splitK, last = kHi - BK;
  // Tiles of 16 rows dequantize in the step instead: their dot takes the weights straight
  // from registers (codegen/layout.h, mmaRegisterOperandParams) and the cp.async ring already
  // keeps the packed words in flight; carrying a dequantized tile would double the registers
  // that bound how many programs share an SM (measured: 38.1 -> 36.1 us, docs/PERFORMANCE.md).
  const bool dequantizeAhead = BM > 16;
  Value acc;
  Value step = kb.constant(BK, DType::i32);
  if (dequantizeAhead) {  // carried: acc, the tile of step k0, the factors of step k0 + BK
    std::vector<Value> init{kb.zeros({BM, BN}, DType::f32), dequantizedWeights(kLo, factorsOf(kLo))};
    for (Value v : carriedFactors(factorsOf(minimum(kLo + BK, last)))) init.push_back(v);
    acc = kb.forLoop(kLo, kHi, step, init, [&](Value k0, const std::vector<Value>& carried) {
      Value sum = dot(loadActivationTile(kb, q, c, b, x, k0), trans(carried[1]), carried[0]);
      std::vector<Value> next{sum, dequantizedWeights(minimum(k0 + BK, last), factorsFrom(carried, 2))};
      for (Value v : carriedFactors(factorsOf(minimum(k0 + 2 * BK, last)))) next.push_back(v);
      return next;
    }, c.stages)[0];
  } else {  // carried: acc, the factors of step k0
    std::vector<Value> init{kb.zeros({BM, BN}, DType::f32)};
    for (Value v : carriedFactors(factorsOf(kLo))) init.push_back(v);
    acc = kb.forLoop(kLo, kHi, step, init, [&](Value k0, const std::vector<Value>& carried) {
      Value w = dequantizedWeights(k0, factorsFrom(carried, 1));
      std::vector<Value> next{dot(loadActivationTile(kb, q, c, b, x, k0), trans(w), carried[0])};
      for (Value v : carriedFactors(factorsOf(minimum(k0 + BK, last)))) next.push_back(v);
      return next;
    }, c.stages)[0];
  }
  if (perRow) acc = acc * expandDims(cast(load(scales + rn, rnMask, 0.0), DType::f32), 0);
  if (split) {  // f32 partials; the reduce adds the bias once
    Value rm2 = expandDims(rm, 1);
    kb.store(out + ((kb.programId(2) * M + rm2) * N + expandDims(rn, 0)), acc, rmMask2 & expandDims(rnMask, 0));
    return kb.finish();
  }
  if (hasBias) acc = acc + expandDims(cast(load(bias + rn, rnMask, 0.0), DType::f32), 0);
  Value rm2 = expandDims(rm, 1);
  kb.store(out + (rm2 * N + expandDims(rn, 0)), cast(acc, yType), rmMask2 & expandDims(rnMask, 0));
  return kb.finish();
}

KernelProgram buildInt8Gemm(const QuantSpec& q, DType act, bool hasBias, const GemmConfig& c,
                            std::optional<DType> outDtype) {
  DType yType = outDtype.value_or(act);
  validateGemmConfig(q, c, true);
  const bool split = c.splitK > 1;
  KernelBuilder kb("gemm_w" + std::to_string(q.bits) + "a8_" + dtypeName(act));
  // 8-bit codes are int8 bytes in K order whatever the word size (docs/FORMATS.md): the
  // symmetric 8-bit weights are read as an int8 tile, which goes to the dot untouched (and,
  // pipelined, global -> shared memory by cp.async, never through registers).
  const bool byteCodes = q.symmetric;
  Value xq = kb.pointerArg("xq", DType::i8);
  Value xscale = kb.pointerArg("xscale", DType::f32);
  Value qweight = kb.pointerArg("qweight", byteCodes ? DType::i8 : DType::u32, kWeightData);
  Value scales = kb.pointerArg("scales", q.scaleDtype, kWeightData);
  Value zeros = q.symmetric ? Value() : kb.pointerArg("zeros", q.scaleDtype, kWeightData);
  Value bias = hasBias && !split ? kb.pointerArg("bias", q.scaleDtype, kWeightData) : Value();
  Value y = kb.pointerArg(split ? "out" : "y", split ? DType::f32 : yType);
  Value M = kb.scalarArg("M", DType::i32);
  kb.setNumWarps(c.numWarps);
  kb.setVectorWidth(gemmVectorWidth(q, c));
  const int BM = c.blockM, BN = c.blockN, BK = c.blockK, N = int(q.N), K = int(q.K);
  BlockIndices b = blockIndices(kb, q, c, M);
  // program_id(2) takes the K slice [pidK * K / splitK, (pidK + 1) * K / splitK).
  Value kLo = split ? kb.programId(2) * (K / c.splitK) : kb.constant(0, DType::i32);
  const Value &rm = b.rm, &rmMask2 = b.rmMask2, &rn2 = b.rn2, &rnMask2 = b.rnMask2, &rn = b.rn, &rnMask = b.rnMask,
              &numGroups = b.numGroups;
  Value accInit = q.symmetric ? kb.zeros({BM, BN}, DType::i32) : kb.zeros({BM, BN}, DType::f32);
  auto loadStep = [&](Value k0) {
    Value w = byteCodes ? load(qweight + (rn2 * int(q.rowBytes()) + expandDims(k0 + kb.arange(0, BK), 0)), rnMask2, 0.0)
                        : loadWordTile(kb, q, BK, qweight, rn2, rnMask2, k0);
    return std::vector<Value>{loadActivationTile(kb, q, c, b, xq, k0), w};
  };
  Value acc = kLoop(kb, c, kLo, kLo + K / c.splitK, accInit, loadStep,
                    [&](Value k0, const std::vector<Value>& t, const std::vector<Value>& carried) {
    Value a = t[0];
    if (byteCodes) return std::vector<Value>{dot(a, trans(t[1]), carried[0])};
    Value codes = unpackBits(t[1], q.bits);
    // 4-bit, one group per step: sum_k (q - z) s x = s * (sum_k q x - z * sum_k x).
    Value qx = dot(a, trans(cast(codes, DType::i8)), kb.zeros({BM, BN}, DType::i32));
    Value xsum = expandDims(cast(sum(cast(a, DType::i32), 1), DType::f32), 1);
    Value g = rn * numGroups + k0 / q.groupSize;
    Value s = expandDims(cast(load(scales + g, rnMask, 0.0), DType::f32), 0);
    Value z = expandDims(cast(load(zeros + g, rnMask, 0.0), DType::f32), 0);
    return std::vector<Value>{carried[0] + s * (cast(qx, DType::f32) - z * xsum)};
  });
  Value r = cast(acc, DType::f32) * expandDims(load(xscale + rm, rm < M, 0.0), 1);
  if (q.symmetric) r = r * expandDims(cast(load(scales + rn, rnMask, 0.0), DType::f32), 0);
  if (split) {  // f32 partials (every factor above is linear in the K slice); the reduce adds the bias
    kb.store(y + ((kb.programId(2) * M + expandDims(rm, 1)) * N + expandDims(rn, 0)), r, rmMask2 & expandDims(rnMask, 0));
    return kb.finish();
  }
  if (hasBias) r = r + expandDims(cast(load(bias + rn, rnMask, 0.0), DType::f32), 0);
  kb.store(y + (expandDims(rm, 1) * N + expandDims(rn, 0)), cast(r, yType), rmMask2 & expandDims(rnMask, 0));
  return kb.finish();
}

KernelProgram buildQuantizeRows(int64_t K, DType act, int block) {
  KernelBuilder kb("quantize_rows_" + std::string(dtypeName(act)));
  Value x = kb.pointerArg("x", act);
  Value xq = kb.pointerArg("xq", DType::i8);
  Value scale = kb.pointerArg("scale", DType::f32);
  Value M = kb.scalarArg("M", DType::i32);
  (void)M;
  Value m = kb.programId(0);
  Value row = m * int(K);
  Value zero = kb.zeros({block}, DType::f32);
  Value amax = kb.forLoop(0, kb.constant(double(K), DType::i32), block, {zero}, [&](Value k0, const std::vector<Value>& c) {
    Value rk = k0 + kb.arange(0, block);
    Value v = cast(load(x + (row + rk), rk < int(K), 0.0), DType::f32);
    return std::vector<Value>{maximum(c[0], maximum(v, -v))};
  })[0];
  Value mx = max(amax, 0);
  Value s = where(mx > 0.0, mx / 127.0, kb.constant(1.0, DType::f32));
  kb.store(scale + m, s);
  kb.forLoop(0, kb.constant(double(K), DType::i32), block, {}, [&](Value k0, const std::vector<Value>&) {
    Value rk = k0 + kb.arange(0, block);
    Value mask = rk < int(K);
    Value v = cast(load(x + (row + rk), mask, 0.0), DType::f32) / s;
    Value r = v + where(v >= 0.0, kb.constant(0.5, DType::f32), -0.5);  // round half away from zero
    Value qv = minimum(maximum(cast(r, DType::i32), -127.0), 127.0);
    kb.store(xq + (row + rk), cast(qv, DType::i8), mask);
    return std::vector<Value>{};
  });
  return kb.finish();
}

}  // namespace uintx::kernels
