// The GEMM defaults (kernels/gemm/default_config.h: the rules) against every candidate that
// uintx-tune timed on real layers (tests/kernels/data/*_tune_timings.csv): the H200's Llama
// keys and three sets of H100 keys (Qwen, Phi, Gemma, Llama-70B shapes, 16 to 512 rows, W4A16
// g128 and W8A8). A rule change that makes a measured key slower shows here.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "cache/kernel_key.h"
#include "kernels/common/quant_spec.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemm/tail_reduce.h"
#include "tests/kernels/tune_timings.h"

using namespace uintx;

namespace {

// The rule's config as it runs at the key's M on 132 SMs (a tail split that splits nothing there
// runs as the config without it, which the files time).
kernels::GemmConfig ruleFor(const std::string& keyText) {
  const cache::KernelKey key = cache::KernelKey::parse(keyText);
  const kernels::QuantSpec q = kernels::quantSpecOf(kernels::weightFormatOf(key));
  return kernels::asRun(q, kernels::ruleGemmConfig(q, key.m_bucket, key.family == cache::KernelFamily::gemm_int8, 132),
                        key.m_bucket, 132);
}

// Every key of a timings file: the rule's config against the best (keys whose rule config was
// not timed, a rule changed since, are counted apart).
testing::Judged judgeRules(const std::string& path) {
  return testing::judgeChoices(path, [](const std::string& keyText) { return ruleFor(keyText).toString(); });
}

// Keys whose rule config corrects its products (GemmConfig::correctProducts): no timings file
// holds such candidates (run 22 measured them through linear(), docs/PERFORMANCE.md).
int correctedKeys(const std::string& path) {
  int n = 0;
  for (const auto& entry : testing::readTuneTimings(path)) n += ruleFor(entry.first).correctProducts;
  return n;
}

// Keys whose rule config splits its tail tiles at the key's M (GemmConfig::tailSplit): no
// timings file holds such candidates.
int tailSplitKeys(const std::string& path) {
  int n = 0;
  for (const auto& entry : testing::readTuneTimings(path)) n += ruleFor(entry.first).tailSplit > 1;
  return n;
}

}  // namespace

TEST_CASE("the GEMM rules on the H200's measured keys") {
  const testing::Judged j = judgeRules("tests/kernels/data/h200_gemm_tune_timings.csv");
  CHECK(j.keys == 12);
  CHECK(j.within10 == 12);
  CHECK(j.worst <= 1.1);
}

// The one miss, where the rules stand today (docs/PERFORMANCE.md, run 21): W4A16 at 32 rows on
// 10240x8192 (128-deep K steps, 1.17x the 64-deep ones).
TEST_CASE("the GEMM rules on the H100's measured keys") {
  const testing::Judged a = judgeRules("tests/kernels/data/h100_gemm_tune_timings.csv");
  const testing::Judged b = judgeRules("tests/kernels/data/h100_held_out_gemm_tune_timings.csv");
  const testing::Judged c = judgeRules("tests/kernels/data/h100_short_k_int8_tune_timings.csv");
  // Untimed: 6144x4096 at 128 rows (the rule's split 3), the keys of up to 16 rows on layers
  // of at most 2^25 weights, where the rule corrects its products, and two keys where it
  // splits its tail tiles.
  const int corrected = correctedKeys("tests/kernels/data/h100_gemm_tune_timings.csv") +
                        correctedKeys("tests/kernels/data/h100_held_out_gemm_tune_timings.csv") +
                        correctedKeys("tests/kernels/data/h100_short_k_int8_tune_timings.csv");
  const int tails = tailSplitKeys("tests/kernels/data/h100_gemm_tune_timings.csv") +
                    tailSplitKeys("tests/kernels/data/h100_held_out_gemm_tune_timings.csv") +
                    tailSplitKeys("tests/kernels/data/h100_short_k_int8_tune_timings.csv");
  CHECK(tails == 2);
  CHECK(a.untimed + b.untimed + c.untimed == corrected + tails + 1);
  CHECK(a.keys + b.keys + c.keys >= 53 - corrected - tails);
  CHECK(a.within10 + b.within10 + c.within10 >= 52 - corrected - tails);
  CHECK(std::max({a.worst, b.worst, c.worst}) <= 1.17);
}

// W8A8 at 128 and 256 rows on layers of few and many column blocks (run 24a, H100): 1024x8192
// at 128 rows takes 64-row tiles (11.1 us against 16.6 for the 128-row tiles split 7 ways);
// 10240x8192 at 256 rows splits its tail tiles (not among these timings).
TEST_CASE("the GEMM rules on W8A8 layers of few column blocks") {
  const std::string path = "tests/kernels/data/h100_few_column_blocks_int8_tune_timings.csv";
  const testing::Judged j = judgeRules(path);
  CHECK(tailSplitKeys(path) == 1);
  CHECK(j.untimed == 1);
  CHECK(j.keys == 5);
  CHECK(j.within10 == 5);
  CHECK(j.worst <= 1.06);
}
