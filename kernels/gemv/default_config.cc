#include "kernels/gemv/default_config.h"

#include <cstdlib>
#include <string>

#include "cache/env_integer.h"
#include "kernels/gemv/config_space.h"
#include "kernels/gemv/cost_model.h"

namespace uintx::kernels {

// The measurements behind each rule: docs/PERFORMANCE.md, "Why the GEMV defaults".
GemvConfig ruleGemvConfig(const QuantSpec& q, int64_t M, int smCount) {
  GemvConfig c;
  c.blockM = M <= 1 ? 1 : M <= 2 ? 2 : M <= 4 ? 4 : M <= 8 ? 8 : 16;
  c.stages = c.blockM <= 4 ? 2 : 1;  // more rows would spill the double buffer
  // The longest K step, 16 rows per program, and 8 warps (shorter segments per thread) when N
  // gives few programs.
  c.blockN = 16;
  c.blockK = 1024;
  c.numWarps = q.N / 16 < 4 * smCount ? 8 : 4;
  if (c.blockM > 2) c.blockK = 256;  // rows reduce per step: bound registers
  // The largest blockK that keeps the whole-word path with at most an eighth of the last step's
  // work past K, else 64.
  auto tailWaste = [&](const GemvConfig& t) { return (q.K + t.blockK - 1) / t.blockK * t.blockK > q.K + q.K / 8; };
  while (c.blockK > 64 && (!usesWordPath(q, c) || tailWaste(c))) c.blockK /= 2;
  if (!usesWordPath(q, c)) c.blockK = 64;
  // Every thread fills at least one vector load per step (else threads duplicate work).
  while (c.numWarps > 1 && gemvElementsPerThread(c) < gemvVectorWidth(q, c)) c.numWarps /= 2;
  // Enough programs to keep every SM busy with several CTAs: split K when N is narrow.
  int64_t programs = (q.N + c.blockN - 1) / c.blockN * ((M + c.blockM - 1) / c.blockM);
  while (programs * c.splitK < 2 * smCount && c.splitK < 8) {
    GemvConfig next = c;
    next.splitK *= 2;
    if (!usesWordPath(q, next) || gemvSteps(q, next) / next.splitK < 4) break;
    c = next;
  }
  // Up to 4-bit weights on long rows, unsplit: 32-row programs, so that each thread's
  // activation segment serves 4 weight rows, while they still give 1.5 programs per SM.
  if (q.bits <= 4 && c.numWarps == 8 && c.blockM == 1 && c.splitK == 1 && q.K >= 8192 &&
      q.N / 32 * 2 >= 3 * int64_t(smCount))
    c.blockN = 32;
  return c;
}

GemvConfig defaultGemvConfig(const QuantSpec& q, int64_t M, const cache::GpuModel& gpu) {
  const GemvConfig rule = ruleGemvConfig(q, M, gpu.smCount);
  // $UINTX_COST_MODEL=0: the rule alone, to measure what the model gains (docs/PERFORMANCE.md).
  static const bool modelOff = cache::envInteger("UINTX_COST_MODEL", 0, 1) == 0;
  if (gpu.smCount <= 0 || modelOff) return rule;
  GemvConfig best = rule;
  double bestUs = predictGemvUs(q, rule, M, gpu) * 0.99;
  for (GemvConfig c : gemvCandidates(q, M, rule.blockM, gpu.smCount)) {
    c.stages = rule.stages;
    const double us = predictGemvUs(q, c, M, gpu);
    if (us < bestUs) best = c, bestUs = us;
  }
  return best;
}

GemvConfig defaultGemvConfig(const QuantSpec& q, int64_t M, int smCount) {
  return defaultGemvConfig(q, M, cache::genericGpuModel(smCount));
}

}  // namespace uintx::kernels
