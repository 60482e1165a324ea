#include "kernels/gemm/gemm.h"

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "cache/env_integer.h"
#include "codegen/layout.h"
#include "kernels/common/config_fields.h"
#include "kernels/common/decode.h"
#include "kernels/common/pipelined_loop.h"
#include "kernels/gemm/gemm_tiles.h"
#include "uintx/error.h"

namespace uintx::kernels {

using namespace uintx::dsl;

std::string GemmConfig::toString() const {
  return "BM=" + std::to_string(blockM) + " BN=" + std::to_string(blockN) + " BK=" + std::to_string(blockK) +
         " warps=" + std::to_string(numWarps) + " stages=" + std::to_string(stages) +
         " splitK=" + std::to_string(splitK) + (weightsAsA ? " weightsAsA" : "") +
         (correctProducts ? " correctProducts" : "") + (tailSplit > 1 ? " tailSplit=" + std::to_string(tailSplit) : "") +
         (tmaCopies ? " tma" : "") + (warpSpecialized ? " warpSpecialized" : "");
}

GemmConfig GemmConfig::fromString(const std::string& text) {
  static const std::map<std::string, int GemmConfig::*> fields = {
      {"BM", &GemmConfig::blockM},      {"BN", &GemmConfig::blockN},     {"BK", &GemmConfig::blockK},
      {"warps", &GemmConfig::numWarps}, {"stages", &GemmConfig::stages}, {"splitK", &GemmConfig::splitK},
      {"tailSplit", &GemmConfig::tailSplit}};
  static const std::map<std::string, int GemmConfig::*> flags = {
      {"weightsAsA", &GemmConfig::weightsAsA}, {"correctProducts", &GemmConfig::correctProducts},
      {"tma", &GemmConfig::tmaCopies}, {"warpSpecialized", &GemmConfig::warpSpecialized}};
  GemmConfig c;
  std::set<std::string> seen;
  std::istringstream in(text);
  for (std::string item; in >> item;) {
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    if (!seen.insert(name).second) throw Error("GEMM config \"" + text + "\": '" + name + "' twice");
    if (eq == std::string::npos && flags.count(name)) {
      c.*flags.at(name) = 1;
      continue;
    }
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (!fields.count(name) || value.empty() || value.size() > 6 ||
        value.find_first_not_of("0123456789") != std::string::npos)
      throw Error("GEMM config \"" + text + "\": cannot read '" + item + "'");
    c.*fields.at(name) = std::stoi(value);
  }
  for (const char* required : {"BM", "BN", "BK", "warps", "stages", "splitK"})
    if (!seen.count(required)) throw Error("GEMM config \"" + text + "\" lacks " + required);
  return c;
}

static const ConfigFields<GemmConfig> kGemmFields = {
    {"BLOCK_M", &GemmConfig::blockM},     {"BLOCK_N", &GemmConfig::blockN},   {"BLOCK_K", &GemmConfig::blockK},
    {"num_warps", &GemmConfig::numWarps}, {"num_stages", &GemmConfig::stages}, {"split_k", &GemmConfig::splitK},
    {"weights_as_a", &GemmConfig::weightsAsA}, {"correct_products", &GemmConfig::correctProducts},
    {"tail_split", &GemmConfig::tailSplit}, {"tma_copies", &GemmConfig::tmaCopies},
    {"warp_specialized", &GemmConfig::warpSpecialized}};

GemmConfig gemmConfigFrom(const cache::KernelConfig& k) { return configFromFields(k, kGemmFields); }
cache::KernelConfig toKernelConfig(const GemmConfig& c) { return configToFields(c, kGemmFields); }

// The first rule `c` breaks for this format, or empty when the GEMM programs can run it.
static std::string unsupportedBecause(const QuantSpec& q, const GemmConfig& c, bool int8Activations) {
  auto n = [](int64_t v) { return std::to_string(v); };
  if (int8Activations ? q.bits != 4 && q.bits != 8 : q.bits > 8 || 32 % q.bits != 0)
    return "bit width " + n(q.bits) + (int8Activations ? " is not 4 or 8" : " is not 1, 2, 4 or 8");
  if (q.rowBytes() % 16 != 0) return "weight rows of " + n(q.rowBytes()) + " bytes are not 16-byte multiples";
  // Bounds first: configs come from files, and a huge tile would exhaust memory in the compiler.
  auto pow2In = [](int v, int lo, int hi) { return v >= lo && v <= hi && (v & (v - 1)) == 0; };
  if (!pow2In(c.blockM, c.weightsAsA == 1 ? 8 : 16, 256) || !pow2In(c.blockN, 16, 256))
    return "blockM and blockN must be powers of two in [16, 256] (blockM from 8 with weightsAsA)";
  if (!pow2In(c.numWarps, 1, 8)) return "numWarps must be 1, 2, 4 or 8";
  if (c.blockK < 32 || c.blockK > 512 || c.blockK % 32 != 0) return "blockK must be a multiple of 32 up to 512";
  if (c.stages < 1 || c.stages > 8) return "stages must be in [1, 8]";
  if (c.splitK < 1 || c.splitK > 64) return "splitK must be in [1, 64]";
  if (int64_t(c.blockM + c.blockK) * c.blockN + int64_t(c.blockM) * c.blockK > kMaxGemmTileElementsPerThread * 32 * c.numWarps)
    return "the accumulator, weight and activation tiles hold more than " + n(kMaxGemmTileElementsPerThread) +
           " elements per thread";
  if (q.K % c.blockK != 0) return "K (" + n(q.K) + ") must be a multiple of blockK (" + n(c.blockK) + ")";
  if (q.K / c.blockK < c.splitK)
    return "splitK " + n(c.splitK) + " is more than the " + n(q.K / c.blockK) + " K steps of " + n(c.blockK);
  if (c.tailSplit < 1 || c.tailSplit > 8) return "tailSplit must be in [1, 8]";
  if (c.tailSplit > 1 && c.splitK > 1) return "tailSplit is for unsplit configs (splitK 1)";
  if ((q.K / c.blockK) % c.tailSplit != 0)
    return "tailSplit " + n(c.tailSplit) + " does not divide the " + n(q.K / c.blockK) + " K steps of " + n(c.blockK);
  if (c.weightsAsA != 0 && c.weightsAsA != 1) return "weightsAsA must be 0 or 1";
  if (c.tmaCopies != 0 && c.tmaCopies != 1) return "tmaCopies must be 0 or 1";
  if (c.tmaCopies) {
    // The blocks go to wgmma untouched, in its swizzled form: both int8 operands (8-bit
    // weights), or the activations of the weight-only tiles that dequantize a step ahead.
    if (int8Activations && (q.bits != 8 || !q.symmetric)) return "tmaCopies with int8 activations takes 8-bit symmetric weights";
    if (!(c.weightsAsA ? codegen::useWgmma(c.blockN, c.blockM, c.blockK, c.numWarps, int8Activations ? 1 : 2)
                       : codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, int8Activations ? 1 : 2)))
      return "tmaCopies needs a tile on wgmma";
    if (!int8Activations && (c.blockM <= 16 || c.correctProducts))
      return "tmaCopies (weight-only) is for tiles of more than 16 rows of x that dequantize a step ahead";
  }
  if (c.warpSpecialized != 0 && c.warpSpecialized != 1) return "warpSpecialized must be 0 or 1";
  // Its loop copies nothing but tensor blocks: both int8 operands by TMA.
  if (c.warpSpecialized && (!c.tmaCopies || !int8Activations || c.stages < 2))
    return "warpSpecialized takes int8 activations with tmaCopies and 2 stages or more";
  if (c.correctProducts != 0 && c.correctProducts != 1) return "correctProducts must be 0 or 1";
  if (c.correctProducts) {
    if (int8Activations || !c.weightsAsA || c.stages != 1 || codegen::useWgmma(c.blockN, c.blockM, c.blockK, c.numWarps, 2))
      return "correctProducts is for the weight-only transposed mma.sync tile with one stage";
    if (q.groupSize < q.K && q.groupSize % c.blockK != 0 && c.blockK % q.groupSize != 0)
      return "correctProducts needs K steps within one group or of whole groups: blockK " + n(c.blockK) +
             " and the group size " + n(q.groupSize) + " do not divide one another";
    // A step of several groups takes a pair of dots per group: each a tile of its own.
    if (const int sub = correctedSubStep(q, c), vec = gemmVectorWidth(q, c); sub < c.blockK) {
      auto p = codegen::mmaRegisterOperandAParams(c.blockN, c.blockM, sub, c.numWarps, 2, vec);
      if (sub % vec != 0 || !p || p->sizePerThread[1] % (32 / q.bits) != 0)
        return "correctProducts over groups of " + n(q.groupSize) + " gives each group's tile runs of partial words";
    }
  }
  // Its programs store y or partials: both in the epilogue, which spills past 64 int8
  // accumulators per thread (128x256 on 8 warps: 260 bytes with a bias).
  if (c.tailSplit > 1 && int8Activations && c.blockM * c.blockN > 64 * 32 * c.numWarps)
    return "tailSplit with int8 activations takes tiles of at most 64 accumulators per thread";
  if (c.weightsAsA && int8Activations) {
    // Both operands come from shared memory: only the tensor cores' shapes bound the tile.
    if (q.bits != 8 || !q.symmetric) return "weightsAsA with int8 activations takes 8-bit symmetric weights";
    if (!codegen::useWgmma(c.blockN, c.blockM, c.blockK, c.numWarps, 1)) try {
        codegen::mmaLayouts(c.blockN, c.blockM, c.blockK, c.numWarps);
      } catch (const Error& e) {
        return std::string("weightsAsA with int8 activations: ") + e.what();
      }
  } else if (c.weightsAsA) {
    if (q.bits > 4) return "weightsAsA takes 1-, 2- and 4-bit codes (whole pairs of fields per thread)";
    if (!codegen::useWgmma(c.blockN, c.blockM, c.blockK, c.numWarps, 2) &&
        !codegen::mmaRegisterOperandAParams(c.blockN, c.blockM, c.blockK, c.numWarps, 2, gemmVectorWidth(q, c)))
      return "weightsAsA runs on wgmma (blockN 16 or 32 per warp, warps a multiple of 4, blockM a multiple of 16, "
             "blockK of 64) or on mma.sync with every warp on rows of its own (blockN a multiple of 16 per warp, "
             "blockM small enough that warps do not split it, blockK a multiple of 32)";
  }
  if (int8Activations) {
    if (q.bits == 8 && !q.symmetric) return "8-bit weights must be symmetric";
    // One group per K step, and a K step is a power-of-two tile.
    if (!q.symmetric && (q.groupSize < 32 || q.groupSize > 256 || (q.groupSize & (q.groupSize - 1)) != 0))
      return "4-bit weights need a group size of 32, 64, 128 or 256 (not " + n(q.groupSize) + ")";
    if (!q.symmetric && q.groupSize != c.blockK)
      return "4-bit weights need blockK equal to the group size (" + n(q.groupSize) + ")";
    return "";
  }
  // Tiles whose dot takes the weights from registers give each thread runs of S consecutive k
  // (codegen/layout.h); a thread unpacks whole 32-bit words, so S must hold whole words.
  const int per = 32 / q.bits;
  const int vec = gemmVectorWidth(q, c);
  auto registerParams = [&] {
    if (c.weightsAsA) return codegen::useWgmma(c.blockN, c.blockM, c.blockK, c.numWarps, 2)
                                 ? std::nullopt
                                 : codegen::mmaRegisterOperandAParams(c.blockN, c.blockM, c.blockK, c.numWarps, 2, vec);
    return codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, 2)
               ? std::nullopt
               : codegen::mmaRegisterOperandParams(c.blockM, c.blockN, c.blockK, c.numWarps, 2, vec);
  };
  if (auto p = registerParams(); p && p->sizePerThread[1] % per != 0)
      return "blockK " + n(c.blockK) + " gives each thread runs of " + n(p->sizePerThread[1]) + " codes, not whole words of " +
             n(per) + " (" + n(q.bits) + "-bit): use blockK >= " + n(4 * per);
  bool grouped = q.groupSize < q.K;
  if (grouped && q.groupSize % 32 != 0) return "group size " + n(q.groupSize) + " is not a multiple of 32";
  return "";
}

int correctedSubStep(const QuantSpec& q, const GemmConfig& c) {
  return q.groupSize < q.K ? std::min(c.blockK, q.groupSize) : c.blockK;
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

// UINTX_HALF_DECODE=0 keeps the f32 dequantization everywhere, for comparisons.
static bool halfDecodeEnabled() {
  static const bool on = cache::envInteger("UINTX_HALF_DECODE", 0, 1) != 0;
  return on;
}

KernelProgram buildGemm(const QuantSpec& q, DType act, bool hasBias, const GemmConfig& c, std::optional<DType> outDtype) {
  DType yType = outDtype.value_or(act);
  validateGemmConfig(q, c, false);
  KernelBuilder kb("gemm_w" + std::to_string(q.bits) + "_" + dtypeName(act));
  // With tmaCopies x is a tensor read in [blockM, blockK] blocks by the TMA.
  Value x = c.tmaCopies ? kb.tensorArg("x", act, {c.blockM, c.blockK}) : kb.pointerArg("x", act);
  Value qweight = kb.pointerArg("qweight", DType::u32, kWeightData);
  Value scales = kb.pointerArg("scales", q.scaleDtype, kWeightData);
  Value zeros = q.symmetric ? Value() : kb.pointerArg("zeros", q.scaleDtype, kWeightData);
  GemmOutputs outputs = gemmOutputs(kb, q, c, yType, hasBias);
  Value M = kb.scalarArg("M", DType::i32);
  ProgramWork work = programWork(kb, c, M, q.N, q.K);
  kb.setNumWarps(c.numWarps);
  kb.setVectorWidth(gemmVectorWidth(q, c));
  const int BM = c.blockM, BN = c.blockN, BK = c.blockK;
  bool perRow = q.groupSize >= q.K;
  BlockIndices b = blockIndices(kb, q, c, M, work);
  const Value &rm = b.rm, &rn2 = b.rn2, &rnMask2 = b.rnMask2, &rn = b.rn, &rnMask = b.rnMask, &numGroups = b.numGroups;
  // Dequantization, in the activation dtype where the codes fit it (unpacksToHalf) and the
  // scales have that dtype: codes unpack to magic + q (a byte permute and a lop3 per two
  // weights), then w = (q - z) s takes a packed subtract and a packed multiply (or fma), two
  // weights per instruction. The zero splits into z = zi + zf with zi an integer:
  // v - (magic + zi) = q - zi is exact, and w = (q - zi) s - zf s is one fma, rounded once (zf s
  // rounded to the dtype first: a small term). Symmetric formats have z = 2^(bits-1) once their
  // two's-complement codes are made offset-binary (one xor of the top bit of every field, per
  // word); per-row scales are applied after the sum (s = 1).
  //
  // Otherwise, in f32: f = 1 + q / 2^bits, exactly (the code becomes the top mantissa bits of a
  // float in [1, 2): a shift and one lop3). Then (q - z) s = f (2^bits s) - (1 + z / 2^bits)
  // (2^bits s) is one fma per weight, f * scaled - offset, its two factors computed once per
  // group, and a conversion to the activation dtype per two weights.
  const bool halfDecode = unpacksToHalf(q.bits, act) && q.scaleDtype == act && halfDecodeEnabled();
  const double unit = double(1 << q.bits), magic = halfMagic(act), half = double(1 << (q.bits - 1));
  // What dequantizing a zero z needs, with the scale s (f32) folded in when given: halfDecode
  // {magic + zi, -zf s} in the activation dtype, else {(1 + z / 2^bits) 2^bits s} in f32.
  // zi is z's integer part clamped to [-magic, magic], where magic + zi is exact in the dtype;
  // a zero beyond that (not one the quantizer makes, but one a file may hold) leaves the rest
  // in zf, so that the subtract stays exact and only the fma rounds.
  auto zeroFactors = [&](Value z, Value s32) -> std::vector<Value> {
    Value z32 = cast(z, DType::f32);
    if (!halfDecode) {
      Value f = z32 / unit + 1.0;
      return {s32.builder() ? f * s32 : f};
    }
    Value zi = minimum(maximum(cast(cast(z32, DType::i32), DType::f32), -magic), magic), zf = z32 - zi;
    return {cast(zi + magic, act), cast(s32.builder() ? -(zf * s32) : -zf, act)};
  };
  // The factors of step k0's tile: [BN, BK] tiles whose values repeat along each group. They
  // are loaded a step before they are used (the loop carries them): a load issued in the step
  // that needs it would stall every warp of the CTA at once, between two barriers.
  // halfDecode: {s} or {s, magic + zi, -zf s}; f32: {2^bits s, offset}.
  std::vector<Value> rowZero = perRow && !q.symmetric ? zeroFactors(load(zeros + rn2, rnMask2, 0.0), Value()) : std::vector<Value>{};
  // With the weights as wgmma's a operand each thread holds a few rows and many k of the tile:
  // where a K step lies within one group, the factors are loaded once per row ([BN, 1]) and
  // broadcast, rather than carried once per element.
  const bool factorPerRow = c.weightsAsA && q.groupSize % BK == 0;
  auto factorsOf = [&](Value k0) -> std::vector<Value> {
    if (perRow) return {};
    Value g = factorPerRow ? rn2 * numGroups + k0 / q.groupSize
                           : rn2 * numGroups + expandDims(k0 + kb.arange(0, BK), 0) / q.groupSize;
    Value s = load(scales + g, rnMask2, 0.0);
    if (halfDecode && q.symmetric) return {s};
    Value s32 = cast(s, DType::f32);
    if (halfDecode) {
      std::vector<Value> z = zeroFactors(load(zeros + g, rnMask2, 0.0), s32);
      return {s, z[0], z[1]};
    }
    Value us = s32 * unit;
    return {us, q.symmetric ? us * 1.5 : zeroFactors(load(zeros + g, rnMask2, 0.0), s32)[0] * unit};
  };
  const size_t numFactors = perRow ? 0 : halfDecode ? (q.symmetric ? 1 : 3) : 2;
  auto factorsFrom = [&](const std::vector<Value>& v, size_t at) {
    return std::vector<Value>(v.begin() + at, v.begin() + at + numFactors);
  };
  // The weight tile of step k0, dequantized to the activation dtype, in two parts: the codes
  // unpacked with the zero taken out (partialWeights), then the last operation
  // (finishWeights), which the transposed GEMM runs a step later (below).
  auto partialFromWords = [&](Value words, const std::vector<Value>& fs) {
    if (q.symmetric) words = signedFieldsToUnsigned(words, q.bits);
    if (halfDecode) {
      Value v = unpackBits(words, q.bits, act);  // magic + q
      if (q.symmetric) return perRow ? v : v - (magic + half);
      return v - (perRow ? rowZero[0] : fs[1]);
    }
    Value f = codesToUnitFloat(unpackBits(words, q.bits), q.bits);
    if (perRow) return cast(q.symmetric ? f * unit - 1.5 * unit : f * unit - rowZero[0] * unit, act);
    return cast(f * fs[0] - fs[1], act);
  };
  auto partialWeights = [&](Value k0, const std::vector<Value>& fs) {
    return partialFromWords(loadWordTile(kb, q, BK, qweight, rn2, rnMask2, k0), fs);
  };
  auto finishWeights = [&](Value p, const std::vector<Value>& fs) {
    if (!halfDecode) return p;
    if (q.symmetric) return perRow ? p - (magic + half) : p * fs[0];
    return perRow ? p + rowZero[1] : fma(p, fs[0], fs[2]);
  };
  auto dequantizedWeights = [&](Value k0, const std::vector<Value>& fs) { return finishWeights(partialWeights(k0, fs), fs); };
  // Dequantization runs one step ahead, in registers: step k0 multiplies the tile dequantized
  // by the step before, then dequantizes the next one. Nothing orders the two, so each warp's
  // integer and fma work for the next step fills the gaps of its tensor-core work for this
  // one. Each program takes its K slice (programWork).
  const Value &kLo = work.kLo, &kHi = work.kHi;
  Value last = kHi - BK;
  // Tiles of 16 rows dequantize in the step instead: their dot takes the weights straight
  // from registers (codegen/layout.h, mmaRegisterOperandParams) and the cp.async ring already
  // keeps the packed words in flight; carrying a dequantized tile would double the registers
  // that bound how many programs share an SM (measured: 38.1 -> 36.1 us, docs/PERFORMANCE.md).
  // With the weights as wgmma's a operand the tile is their register operand, which may not
  // be written while they run: the loop carries the next tile without its last operation
  // (partialWeights), which the step applies before its wgmmas; so the next tile's decode runs
  // under this step's wgmmas, and the step waits for them at its end (codegen, lowerWgmmaDot).
  // On mma.sync (few rows of x) the transposed GEMM's tile is the A fragments themselves and
  // is dequantized in the step, as for 16-row tiles.
  const bool wA = c.weightsAsA, wgmmaA = wA && codegen::useWgmma(BN, BM, BK, c.numWarps, 2);
  const bool dequantizeAhead = BM > 16 && (!wA || (wgmmaA && halfDecode));
  // The accumulator: [BM, BN] = x w^T, or with weightsAsA [BN, BM] = w x^T (wgmma's a operand
  // is then the dequantized tile, in registers).
  auto mma = [&](Value xTile, Value w, Value sum) { return wA ? dot(w, trans(xTile), sum) : dot(xTile, trans(w), sum); };
  Value acc;
  Value step = kb.constant(BK, DType::i32);
  Value acc0 = wA ? kb.zeros({BN, BM}, DType::f32) : kb.zeros({BM, BN}, DType::f32);
  if (dequantizeAhead && wA) {  // carried: acc, step k0's partial tile and factors, step k0 + BK's factors
    std::vector<Value> first = factorsOf(kLo), init{acc0, partialWeights(kLo, first)};
    init.insert(init.end(), first.begin(), first.end());
    for (Value v : factorsOf(minimum(kLo + BK, last))) init.push_back(v);
    acc = kb.forLoop(kLo, kHi, step, init, [&](Value k0, const std::vector<Value>& carried) {
      std::vector<Value> fsNext = factorsFrom(carried, 2 + numFactors);
      Value w = finishWeights(carried[1], factorsFrom(carried, 2));
      std::vector<Value> next{mma(loadActivationTile(kb, q, c, b, x, k0), w, carried[0]),
                              partialWeights(minimum(k0 + BK, last), fsNext)};
      next.insert(next.end(), fsNext.begin(), fsNext.end());
      for (Value v : factorsOf(minimum(k0 + 2 * BK, last))) next.push_back(v);
      return next;
    }, c.stages)[0];
  } else if (dequantizeAhead) {  // carried: acc, the tile of step k0, the factors of step k0 + BK
    std::vector<Value> init{acc0, dequantizedWeights(kLo, factorsOf(kLo))};
    for (Value v : factorsOf(minimum(kLo + BK, last))) init.push_back(v);
    acc = kb.forLoop(kLo, kHi, step, init, [&](Value k0, const std::vector<Value>& carried) {
      Value sum = mma(loadActivationTile(kb, q, c, b, x, k0), carried[1], carried[0]);
      std::vector<Value> next{sum, dequantizedWeights(minimum(k0 + BK, last), factorsFrom(carried, 2))};
      for (Value v : factorsOf(minimum(k0 + 2 * BK, last))) next.push_back(v);
      return next;
    }, c.stages)[0];
  } else if (c.correctProducts && halfDecode) {
    // The transposed mma.sync tile with one stage (below), its steps within one group or of
    // whole groups (GemmConfig::correctProducts): the scale and zero are applied to the
    // products of a group's part of the step instead of to each weight. The codes go to the
    // tensor cores as unpacked, v = magic + u (exact), and a second dot with a = 1 (one mma per
    // n8 block and k step: codegen, lowerRegisterADot) sums x over that part:
    //   sum_k (u - z) s x = s (sum_k v x - (magic + z) sum_k x),
    // in f32 for every row and column; a lop3 (and a byte permute) per two weights is left.
    // A step of several groups loads each group's words and activations as a tile of its own
    // (all before the previous step's math: the bytes in flight of the whole step).
    const int sub = correctedSubStep(q, c), subs = BK / sub;
    const size_t perSub = perRow ? 2 : q.symmetric ? 3 : 4;
    auto loadStep = [&](Value k0) {
      std::vector<Value> v;
      for (int j = 0; j < subs; ++j) {
        Value kj = k0 + j * sub;
        v.push_back(loadWordTile(kb, q, sub, qweight, rn2, rnMask2, kj));
        v.push_back(loadActivationTile(kb, q, b, x, kj, sub));
        if (!perRow) {
          Value g = rn2 * numGroups + kj / q.groupSize;
          v.push_back(load(scales + g, rnMask2, 0.0));
          if (!q.symmetric) v.push_back(load(zeros + g, rnMask2, 0.0));
        }
      }
      return v;
    };
    Value rowZero32 = perRow && !q.symmetric ? cast(load(zeros + rn2, rnMask2, 0.0), DType::f32) : Value();
    Value ones = kb.full({BN, sub}, 1.0, act), none = kb.zeros({BN, BM}, DType::f32);
    acc = pipelinedLoop(kb, kLo, kHi, BK, {acc0}, loadStep, [&](Value, const std::vector<Value>& raw,
                                                                const std::vector<Value>& a) {
      Value sum = a[0];
      for (int j = 0; j < subs; ++j) {
        const Value* r = &raw[j * perSub];
        Value words = q.symmetric ? signedFieldsToUnsigned(r[0], q.bits) : r[0];
        Value xT = trans(r[1]);
        Value products = dot(unpackBits(words, q.bits, act), xT, none), sums = dot(ones, xT, none);
        Value z = q.symmetric ? kb.constant(half, DType::f32) : perRow ? rowZero32 : cast(r[3], DType::f32);
        Value t = products - (z + magic) * sums;
        sum = perRow ? sum + t : sum + cast(r[2], DType::f32) * t;
      }
      return std::vector<Value>{sum};
    }, /*prefetch=*/true, /*sharedStages=*/1)[0];
  } else if (c.stages == 1 && wA && !wgmmaA) {  // carried: acc, then step k0's words, activation tile and factors
    // The transposed mma.sync tile with one stage: no ring. Each thread loads the next step's
    // words, activations and factors into registers before this step's math (as the GEMV
    // does), so a program keeps a step of loads in flight without shared memory, and more
    // programs fit on an SM. (Other one-stage tiles load in their step, as before.)
    auto loadStep = [&](Value k0) {
      std::vector<Value> v{loadWordTile(kb, q, BK, qweight, rn2, rnMask2, k0), loadActivationTile(kb, q, c, b, x, k0)};
      for (Value f : factorsOf(k0)) v.push_back(f);
      return v;
    };
    acc = pipelinedLoop(kb, kLo, kHi, BK, {acc0}, loadStep, [&](Value, const std::vector<Value>& raw,
                                                                const std::vector<Value>& a) {
      std::vector<Value> fs = factorsFrom(raw, 2);
      return std::vector<Value>{mma(raw[1], finishWeights(partialFromWords(raw[0], fs), fs), a[0])};
    }, /*prefetch=*/true, /*sharedStages=*/1)[0];
  } else {  // carried: acc, the factors of step k0
    std::vector<Value> init{acc0};
    for (Value v : factorsOf(kLo)) init.push_back(v);
    acc = kb.forLoop(kLo, kHi, step, init, [&](Value k0, const std::vector<Value>& carried) {
      Value w = dequantizedWeights(k0, factorsFrom(carried, 1));
      std::vector<Value> next{mma(loadActivationTile(kb, q, c, b, x, k0), w, carried[0])};
      for (Value v : factorsOf(minimum(k0 + BK, last))) next.push_back(v);
      return next;
    }, c.stages)[0];
  }
  // Output tiles index (row of x, column of y) as [BM, 1] x [1, BN], or [1, BM] x [BN, 1] for
  // the transposed accumulator.
  const int mAxis = wA ? 0 : 1, nAxis = wA ? 1 : 0;
  auto outputMask = [&] { return (wA ? expandDims(rm < M, 0) : b.rmMask2) & expandDims(rnMask, nAxis); };
  if (perRow) acc = acc * expandDims(cast(load(scales + rn, rnMask, 0.0), DType::f32), nAxis);
  Value biasTile = outputs.bias.builder() ? expandDims(cast(load(outputs.bias + rn, rnMask, 0.0), DType::f32), nAxis) : Value();
  storeOutput(kb, c, work, outputs, acc, expandDims(rm, mAxis), expandDims(rn, nAxis), outputMask(), biasTile, M, q.N, yType);
  return kb.finish();
}

}  // namespace uintx::kernels
