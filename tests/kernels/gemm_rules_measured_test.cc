// The GEMM defaults (kernels/gemm/default_config.h: the rules) against every candidate that
// uintx-tune timed on real layers (tests/kernels/data/*_tune_timings.csv): the H200's Llama
// keys and three sets of H100 keys (Qwen, Phi, Gemma, Llama-70B shapes, 16 to 512 rows, W4A16
// g128 and W8A8). A rule change that makes a measured key slower shows here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "cache/kernel_key.h"
#include "kernels/common/quant_spec.h"
#include "kernels/gemm/default_config.h"
#include "tests/kernels/tune_timings.h"

using namespace uintx;

namespace {

struct Judged {
  int keys = 0, within10 = 0, untimed = 0;
  double worst = 0, logRatio = 0;
};

// Every key of a timings file whose rule config was timed: the rule's time over the best.
// Keys whose rule config was not among the timed candidates are counted apart.
Judged judgeRules(const std::string& path) {
  Judged j;
  for (const auto& [keyText, timed] : testing::readTuneTimings(path)) {
    const cache::KernelKey key = cache::KernelKey::parse(keyText);
    const bool int8 = key.family == cache::KernelFamily::gemm_int8;
    const kernels::QuantSpec q = kernels::quantSpecOf(kernels::weightFormatOf(key));
    const std::string rule = kernels::ruleGemmConfig(q, key.m_bucket, int8, 132).toString();
    double best = INFINITY, ruleUs = NAN;
    for (const testing::TimedCandidate& t : timed) {
      best = std::min(best, t.us);
      if (t.config == rule) ruleUs = t.us;
    }
    if (!std::isfinite(ruleUs)) {  // a rule changed since: its config was not timed
      ++j.untimed;
      continue;
    }
    ++j.keys;
    j.within10 += ruleUs <= 1.10 * best;
    j.worst = std::max(j.worst, ruleUs / best);
    j.logRatio += std::log(ruleUs / best);
  }
  MESSAGE(path << ": " << j.within10 << " of " << j.keys << " keys within 10% of the best, geometric mean "
               << std::exp(j.logRatio / j.keys) << ", worst " << j.worst << "; rule not timed on " << j.untimed);
  return j;
}

}  // namespace

TEST_CASE("the GEMM rules on the H200's measured keys") {
  const Judged j = judgeRules("tests/kernels/data/h200_gemm_tune_timings.csv");
  CHECK(j.keys == 12);
  CHECK(j.within10 == 12);
  CHECK(j.worst <= 1.1);
}

// The one miss, where the rules stand today (docs/PERFORMANCE.md, run 21): W4A16 at 32 rows on
// 10240x8192 (128-deep K steps, 1.17x the 64-deep ones).
TEST_CASE("the GEMM rules on the H100's measured keys") {
  const Judged a = judgeRules("tests/kernels/data/h100_gemm_tune_timings.csv");
  const Judged b = judgeRules("tests/kernels/data/h100_held_out_gemm_tune_timings.csv");
  const Judged c = judgeRules("tests/kernels/data/h100_short_k_int8_tune_timings.csv");
  CHECK(a.keys + b.keys + c.keys >= 53);  // 6144x4096 at 128 rows: the rule's split 3 untimed
  CHECK(a.within10 + b.within10 + c.within10 >= 52);
  CHECK(std::max({a.worst, b.worst, c.worst}) <= 1.17);
}
