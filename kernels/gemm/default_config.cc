#include "kernels/gemm/default_config.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "cache/env_integer.h"
#include "codegen/layout.h"
#include "kernels/gemm/config_space.h"
#include "kernels/gemm/cost_model.h"

namespace uintx::kernels {

// Weight-only codes of up to 4 bits, up to kRegisterTransposedMaxM rows: the transposed GEMM
// on mma.sync with one stage (each thread loads the next step's words and activations into
// registers), 2 warps, split until the grid holds about 8 programs per SM. Up to 8 rows: 16
// weight rows per warp, 256-deep K steps; 9-32 rows: 32 weight rows per warp, 128-deep steps
// (activation tiles of 2048 to 4096 elements). At 16 rows it beat the 16-row ring GEMM on 8 of
// 9 measured layers (docs/PERFORMANCE.md, run 21); from 9 rows the corrected products on layers
// of at most 2^25 weights, run 22. nullopt where the format cannot take it.
static std::optional<GemmConfig> registerTransposedConfig(const QuantSpec& q, int64_t M, int smCount) {
  if (M > kRegisterTransposedMaxM) return std::nullopt;
  GemmConfig c;
  c.weightsAsA = 1, c.numWarps = 2, c.stages = 1;
  if (M <= 8) c.blockM = 8, c.blockN = 32, c.blockK = 256;
  else c.blockM = M <= 16 ? 16 : 32, c.blockN = 64, c.blockK = 128;
  while (c.blockK > 64 && !gemmSupports(q, c, false)) c.blockK /= 2;
  if (!gemmSupports(q, c, false)) return std::nullopt;
  // 9-16 rows on layers of at most 2^25 weights: the products take the group's zero and scale
  // (correctProducts). On larger layers its registers leave fewer programs per SM than the
  // split deals out (run 22). Up to 8 rows its 256-deep steps over whole groups were 0-5%
  // faster than the dequantizing tile in run 23, timed only in a form not kept: not yet the rule.
  if (M > 8 && M <= 16 && q.N * q.K <= (int64_t(1) << 25)) {
    GemmConfig t = c;
    t.correctProducts = 1;
    if (gemmSupports(q, t, false)) c = t;
  }
  const int64_t programs = (q.N + c.blockN - 1) / c.blockN, steps = q.K / c.blockK;
  while (c.splitK < 8 && programs * c.splitK * 2 <= 8 * int64_t(smCount) && steps >= 4 * c.splitK) c.splitK *= 2;
  return c;
}

// `c` with its split-K doubled, up to 8 ways, while `worth(the doubled split)` holds and the
// format allows it.
template <class Worth>
static GemmConfig doubleSplitWhile(const QuantSpec& q, GemmConfig c, bool int8, Worth worth) {
  for (int split = 2 * c.splitK; split <= 8 && worth(split); split *= 2) {
    GemmConfig t = c;
    t.splitK = split;
    if (!gemmSupports(q, t, int8)) break;
    c = t;
  }
  return c;
}

// The measurements behind each rule: docs/PERFORMANCE.md, "Why the GEMM defaults".
GemmConfig ruleGemmConfig(const QuantSpec& q, int64_t M, bool int8, int smCount) {
  if (!int8)
    if (auto c = registerTransposedConfig(q, M, smCount)) return *c;
  GemmConfig c;
  if (!int8 && M >= 256) {
    // Weight-only: 256x128, two m64 wgmma blocks per warpgroup, so that each dequantized weight
    // serves 256 rows; too few programs are split along K below rather than cut into smaller
    // tiles that would dequantize every weight again per row block.
    c.blockM = 256, c.blockN = 128, c.blockK = 64, c.numWarps = 8, c.stages = 4;
  } else if (M >= 128) {
    // Three stages or more let a step's wgmmas run while the next weights are dequantized.
    c.blockM = 128, c.blockN = 256, c.blockK = int8 ? 128 : 64, c.numWarps = 8, c.stages = int8 ? 4 : 3;
    // Too few programs for the SMs: 128 columns. int8 from 512 rows keeps 256 and splits
    // K instead (wider tiles read less of x and w per product).
    if ((q.N + 255) / 256 * ((M + 127) / 128) < smCount && !(int8 && M >= 512)) c.blockN = 128;
    // 8-bit int8 up to 255 rows: 128x128 tiles on one warpgroup, 6 stages (as many as fit in
    // shared memory).
    if (int8 && q.symmetric && M < 256) {
      c.blockN = 128, c.numWarps = 4, c.stages = 6;
      // Layers of so few column blocks that 128-row tiles split 8 ways leave SMs idle take
      // 64-row tiles (twice the tiles to split; 1024x8192 at M = 128: 11.1 us against 16.6,
      // docs/PERFORMANCE.md, run 24).
      if ((q.N + 127) / 128 * ((M + 127) / 128) * 8 < smCount) c.blockM = 64;
      while (codegen::pipelinedDotBytes(c.blockM, c.blockN, c.blockK, 1, c.stages, true, true) > codegen::kMaxSharedBytes)
        --c.stages;
    }
  } else {
    // Small M streams the weights: 16- and 32-row tiles (64 above 32 rows), the dot taking the
    // weights from registers (codegen/layout.h, mmaRegisterOperandParams).
    c.blockM = M <= 16 ? 16 : M <= 32 && !int8 ? 32 : 64, c.blockN = 128, c.blockK = M <= 16 ? 128 : 64, c.numWarps = 4,
    c.stages = 3;
    if (!int8) c.blockK = std::max(c.blockK, 4 * (32 / q.bits));  // whole words per thread (1-bit: 128)
  }
  if (int8 && q.bits == 8 && q.symmetric && M <= kInt8WeightsAsAMaxM) {
    // 8-bit weights stream from DRAM, a few rows of x: transposed (weightsAsA), 64 weight rows
    // on one warpgroup's wgmma m64 side and x on its n side (16 to 64 rows), 256-byte K steps,
    // 6 stages (5 tiles in flight per program); split while that fills more SMs.
    c.weightsAsA = 1, c.blockN = 64, c.blockM = 16, c.blockK = 256, c.numWarps = 4, c.stages = 6;
    while (c.blockM < M) c.blockM *= 2;
    // Layers of more than a wave of such tiles take 128 weight rows (two m64 blocks), in fewer
    // waves, with as many of the 6 stages as fit in shared memory.
    if (smCount > 0 && (q.N + 63) / 64 > smCount) c.blockN = 128;
    while (codegen::pipelinedDotBytes(c.blockM, c.blockN, c.blockK, 1, c.stages, true, true) > codegen::kMaxSharedBytes)
      --c.stages;
  } else if (int8 && M < 128) {
    // 8-bit weights stream from DRAM: 128x128 byte tiles, 6 stages (5 tiles in flight per
    // program), on one warpgroup's m64n128 wgmma (16 rows on mma.sync were slower than 64 rows
    // of which 48 are masked). 4-bit weights take one group per step (below): 64-wide tiles
    // for 16 rows.
    if (q.symmetric) c.blockM = 64;
    c.blockN = c.blockM == 64 ? 128 : 64, c.blockK = 128, c.stages = 6;
  }
  if (int8 && !q.symmetric) {  // one group per k step; the smaller tile keeps the staging in shared memory
    c.blockK = int(q.groupSize), c.stages = 1;
    if (q.groupSize > 128) c.blockM = std::min(c.blockM, 64), c.blockN = 64;
  }
  // K (or the group size) not a multiple of the step: shorter steps (4-bit int8 keeps its group).
  while ((!int8 || q.symmetric) && c.blockK > 32 && !gemmSupports(q, c, int8)) c.blockK /= 2;
  // 128x256 is for wgmma (no fragments in registers); mma.sync, and the 4-bit int8 GEMM's
  // second accumulator, would spill.
  if (!codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, int8 ? 1 : 2) || (int8 && !q.symmetric))
    c.blockN = std::min(c.blockN, 128);
  // Split-K: 16- and 32-row weight-only tiles want several programs per SM to hide their
  // latency: 16-row tiles split while the grid stays within 3.5 programs per SM (beyond it the
  // partial sums cost more than the programs gain), 32-row tiles up to 6 programs per SM and a
  // split of 8; 64-row weight-only tiles are content with ~1.5 programs per SM;
  // 128- and 256-row tiles (one CTA per SM), and the int8 GEMM's 64-row tiles, split into the
  // slices that fill the most SMs (splitToFillSms): unsplit, a layer of few row blocks would
  // leave most SMs idle. The transposed int8 tiles keep 5 steps of weights in flight each: a
  // third of the SMs so busy nearly draw the copy ceiling, and beyond that the partial sums
  // cost more than the other SMs add unless the slices stay long. They split up to a third of
  // the SMs, then within one program per SM into slices of at least 24 steps.
  int64_t programs = (q.N + c.blockN - 1) / c.blockN * ((M + c.blockM - 1) / c.blockM);
  if (int8 && c.weightsAsA) {
    const int64_t steps = q.K / c.blockK;
    return doubleSplitWhile(q, c, int8, [&](int split) {
      return programs * (split / 2) < int64_t(smCount) / 3 || (programs * split <= int64_t(smCount) && steps / split >= 24);
    });
  }
  if (c.blockM >= 128 || (int8 && c.blockM == 64)) {
    GemmConfig split = splitToFillSms(q, c, programs, int8, smCount);
    // Unsplit 128- and 256-row tiles split the tiles of a last wave that is at most half full
    // (decided per call: GemmConfig::tailSplit).
    if (c.blockM >= 128 && split.splitK == 1) {
      GemmConfig t = split;
      t.tailSplit = 4;
      if (gemmSupports(q, t, int8)) split = t;
    }
    // The int8 128-row tiles' 6 stages hold one program per SM: where splitting K makes a
    // second wave, 3 stages (two programs per SM) and the least split that reaches every SM
    // run it in one.
    if (int8 && q.symmetric && c.blockM == 128 && c.blockN == 128 && M < 256 && split.splitK > 1 &&
        programs * split.splitK > smCount && c.stages > 3) {
      c.stages = 3;
      return splitToReach(q, c, programs, int8, smCount);
    }
    return split;
  }
  if (c.blockM <= 16 && !int8)
    return doubleSplitWhile(q, c, int8, [&](int split) { return 2 * programs * split <= 7 * int64_t(smCount); });
  if (M >= 128) return c;
  const int64_t target = c.blockM <= 32 && !int8 ? 6 * int64_t(smCount) : 3 * int64_t(smCount) / 2;
  return doubleSplitWhile(q, c, int8, [&](int split) { return programs * (split / 2) < target; });
}

GemmConfig splitToFillSms(const QuantSpec& q, GemmConfig c, int64_t programs, bool int8, int smCount) {
  if (smCount <= 0) return c;
  // The share of SM time the programs use, one per SM at a time, in whole waves.
  auto filled = [&](int64_t p) { return double(p) / (double((p + smCount - 1) / smCount) * smCount); };
  GemmConfig best = c;
  double bestFilled = filled(programs);
  for (int split = 2; split <= 8 && programs * split <= 2 * smCount; ++split) {
    GemmConfig t = c;
    t.splitK = split;
    // A split that does not fill a tenth more of the SMs is not worth its partial sums.
    if (gemmSupports(q, t, int8) && filled(programs * split) > bestFilled + 0.1) best = t, bestFilled = filled(programs * split);
  }
  return best;
}

GemmConfig splitToReach(const QuantSpec& q, GemmConfig c, int64_t programs, bool int8, int smCount) {
  for (int split = 2; split <= 8 && programs * c.splitK < smCount; ++split) {
    GemmConfig t = c;
    t.splitK = split;
    if (gemmSupports(q, t, int8)) c = t;
  }
  return c;
}

GemmConfig modelGemmConfig(const QuantSpec& q, int64_t M, bool int8, const cache::GpuModel& gpu) {
  GemmConfig rule = ruleGemmConfig(q, M, int8, gpu.smCount);
  if (gpu.smCount <= 0 || gpu.tensorFlopsPerUs <= 0) return rule;
  // The model has no term for corrected products (GemmConfig::correctProducts): it ranks the
  // tiles that dequantize each weight, the rule's among them.
  rule.correctProducts = 0;
  GemmConfig best = rule;
  double bestUs = predictGemmUs(q, rule, M, int8, gpu) * (1 - kGemmModelMargin);
  for (const GemmConfig& c : gemmConfigSpace(gemmKeyOf(q, M, int8), gpu.smCount)) {
    if (c.correctProducts) continue;
    const double us = predictGemmUs(q, c, M, int8, gpu);
    if (us < bestUs) best = c, bestUs = us;
  }
  return best;
}

// $UINTX_TMA_COPIES: 0 (or unset), 1 or 2.
static int tmaCopiesMode() { return int(cache::envInteger("UINTX_TMA_COPIES", 0, 2).value_or(0)); }

bool tmaCopiesEnabled() { return tmaCopiesMode() > 0; }

GemmConfig withTmaCopies(const QuantSpec& q, GemmConfig c, bool int8) {
  const int mode = tmaCopiesMode();
  GemmConfig t = c;
  t.tmaCopies = 1;
  if (mode == 0 || !gemmSupports(q, t, int8)) return c;
  GemmConfig w = t;
  w.warpSpecialized = 1;
  return mode == 2 && gemmSupports(q, w, int8) ? w : t;
}

GemmConfig defaultGemmConfig(const QuantSpec& q, int64_t M, bool int8, const cache::GpuModel& gpu) {
  static const bool model = cache::envInteger("UINTX_GEMM_COST_MODEL", 0, 1) == 1;
  return withTmaCopies(q, model ? modelGemmConfig(q, M, int8, gpu) : ruleGemmConfig(q, M, int8, gpu.smCount), int8);
}

}  // namespace uintx::kernels
