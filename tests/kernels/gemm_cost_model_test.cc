// The GEMM cost model (kernels/gemm/cost_model.h) and the configs it chooses
// (modelGemmConfig): on measured GEMM keys (tests/kernels/data/*_gemm_tune_timings.csv, every
// candidate of each key timed by uintx-tune: the H200 keys its constants were fitted on, and H100
// keys of other shapes they were not) its choice is near the measured best; on every zoo shape
// and format it is a config the kernel accepts, predicted no slower than the rule; it is the
// default only on request ($UINTX_GEMM_COST_MODEL=1); and the prediction moves the way its
// physics says.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <tuple>
#include <string>
#include <vector>

#include "autotune/model_zoo.h"
#include "cache/gpu_tables.h"
#include "kernels/common/quant_spec.h"
#include "kernels/gemm/config_space.h"
#include "kernels/gemm/cost_model.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemm/tail_reduce.h"
#include "packing/weight_format.h"
#include "tests/kernels/tune_timings.h"
#include "uintx/error.h"

using namespace uintx;

namespace {

const cache::GpuModel& h200() {
  const cache::ShippedTable* t = cache::shippedTableFor("NVIDIA H200", "9.0");
  REQUIRE(t != nullptr);
  REQUIRE(t->model.tensorFlopsPerUs > 0);
  return t->model;
}

kernels::QuantSpec specOf(int bits, int group, int64_t N, int64_t K) {
  WeightFormat f;
  f.bit_width = bits, f.group_size = group ? group : int(K), f.packing_bitwidth = 32, f.N = N, f.K = K;
  f.validate();
  kernels::QuantSpec q = kernels::quantSpecOf(f);
  if (group == 0) q.symmetric = true;  // the int8 path's 8-bit weights: one scale per row
  return q;
}

// Every key of a timings file: the model's choice (from the GPU's table) against the best;
// every choice is one of the space's candidates, all timed but those that split their tail
// tiles at the key's M (GemmConfig::tailSplit: no file times them yet), which are not judged.
testing::Judged judge(const std::string& path, const char* gpuName) {
  const cache::ShippedTable* table = cache::shippedTableFor(gpuName, "9.0");
  REQUIRE(table != nullptr);
  int tails = 0;
  const testing::Judged j = testing::judgeChoices(path, [&](const std::string& keyText) {
    const cache::KernelKey key = cache::KernelKey::parse(keyText);
    const kernels::QuantSpec q = kernels::quantSpecOf(kernels::weightFormatOf(key));
    const kernels::GemmConfig c = kernels::asRun(
        q, kernels::modelGemmConfig(q, key.m_bucket, key.family == cache::KernelFamily::gemm_int8, table->model),
        key.m_bucket, uint64_t(table->model.smCount));
    tails += c.tailSplit > 1;
    return c.toString();
  });
  CHECK(j.untimed == tails);
  return j;
}

}  // namespace

// The keys the constants were fitted on (run 19, Llama's 8192x8192 and 4096x14336): one miss,
// 8192x8192 W4A16 M = 16 (docs/PERFORMANCE.md).
TEST_CASE("on the H200's measured GEMM keys, the model's choice is near the measured best") {
  const testing::Judged j = judge("tests/kernels/data/h200_gemm_tune_timings.csv", "NVIDIA H200");
  CHECK(j.keys >= 12);
  CHECK(j.within10 >= j.keys - 1);
  CHECK(j.geomean <= 1.06);
  CHECK(j.worst <= 1.5);
}

// Keys the constants were not fitted on (run 20d: Qwen's and Phi's shapes, timed on an H100;
// the H100's table holds the H200's fitted constants with its own copy ceiling and tensor peak).
TEST_CASE("on shapes and a GPU it was not fitted on, the model's choice is within 10% of the best") {
  const testing::Judged j = judge("tests/kernels/data/h100_gemm_tune_timings.csv", "NVIDIA H100 80GB HBM3");
  CHECK(j.keys >= 12);
  CHECK(j.within10 == j.keys);
  CHECK(j.geomean <= 1.03);
  CHECK(j.worst <= 1.1);
}

// Run 21's keys (Gemma's and Llama-70B's shapes, 16 to 512 rows, H100): the model does not
// carry over (W8A8 from 256 rows: 256-row tiles 1.26-1.33x slower than the rule's 128), which
// is why the defaults are the rules. The bound below is where it stands, not a goal.
TEST_CASE("on run 21's held-out keys the model trails the rules") {
  const testing::Judged j = judge("tests/kernels/data/h100_held_out_gemm_tune_timings.csv", "NVIDIA H100 80GB HBM3");
  CHECK(j.keys + j.untimed == 32);
  CHECK(j.within10 <= j.keys - 4);
}

TEST_CASE("the model's GEMM configs: runnable on every zoo shape and format, never predicted slower than the rule") {
  const cache::GpuModel& gpu = h200();
  int changed = 0, cases = 0;
  for (const autotune::ZooShape& shape : autotune::distinctShapes(autotune::modelZoo()))
    for (auto [bits, group, int8] : {std::tuple{4, 128, false}, {2, 64, false}, {8, 0, true}})
      for (int64_t M : {16, 64, 256, 4096}) {
        const kernels::QuantSpec q = specOf(bits, group, shape.N, shape.K);
        kernels::GemmConfig rule = kernels::ruleGemmConfig(q, M, int8, gpu.smCount);
        rule.correctProducts = 0;  // the model ranks the tiles that dequantize (modelGemmConfig)
        const kernels::GemmConfig chosen = kernels::modelGemmConfig(q, M, int8, gpu);
        INFO(shape.N << "x" << shape.K << " bits " << bits << (int8 ? " int8" : "") << " M " << M << ": "
                     << chosen.toString() << " (rule " << rule.toString() << ")");
        CHECK_NOTHROW(kernels::validateGemmConfig(q, chosen, int8));
        const double predicted = kernels::predictGemmUs(q, chosen, M, int8, gpu);
        CHECK(std::isfinite(predicted));
        CHECK(predicted > 0);
        const double rulePredicted = kernels::predictGemmUs(q, rule, M, int8, gpu);
        if (chosen.toString() != rule.toString()) {
          ++changed;
          CHECK(predicted <= (1 - kernels::kGemmModelMargin) * rulePredicted);
        }
        ++cases;
      }
  MESSAGE("the model changed " << changed << " of " << cases << " rule configs");
  CHECK(changed > 0);
}

TEST_CASE("defaults: the rules, for every format; the model without fitted constants keeps them too") {
  const kernels::QuantSpec q = specOf(4, 128, 8192, 8192), w8 = specOf(8, 0, 4608, 3584);
  const cache::GpuModel generic = cache::genericGpuModel(132);
  for (int64_t M : {16, 64, 256}) {  // $UINTX_GEMM_COST_MODEL unset
    CHECK(kernels::modelGemmConfig(q, M, false, generic).toString() == kernels::ruleGemmConfig(q, M, false, 132).toString());
    CHECK(kernels::defaultGemmConfig(q, M, false, h200()).toString() == kernels::ruleGemmConfig(q, M, false, 132).toString());
    CHECK(kernels::defaultGemmConfig(w8, M, true, h200()).toString() == kernels::ruleGemmConfig(w8, M, true, 132).toString());
    CHECK(kernels::defaultGemmConfig(q, M, true, h200()).toString() == kernels::ruleGemmConfig(q, M, true, 132).toString());
  }
  // The test can tell them apart: the model would have chosen otherwise on some of these.
  int differs = 0;
  for (int64_t M : {16, 64, 256})
    differs += kernels::modelGemmConfig(w8, M, true, h200()).toString() != kernels::ruleGemmConfig(w8, M, true, 132).toString();
  CHECK(differs > 0);
}

TEST_CASE("the GEMM prediction follows the physics it models") {
  const cache::GpuModel& gpu = h200();
  const kernels::QuantSpec q = specOf(4, 128, 8192, 8192);
  kernels::GemmConfig c;
  c.blockM = 64, c.blockN = 128, c.blockK = 64, c.numWarps = 4, c.stages = 3, c.splitK = 2;
  // Never faster than the weight bytes at the copy ceiling, plus the launch; nor than the
  // tensor cores' peak.
  const double us = kernels::predictGemmUs(q, c, 64, false, gpu);
  CHECK(us >= 8192.0 * 8192 * 0.5 / gpu.copyBytesPerUs + gpu.launchUs);
  const double flops = 2.0 * 4096 * 8192 * 8192;
  CHECK(kernels::predictGemmUs(q, c, 4096, false, gpu) >= flops / gpu.tensorFlopsPerUs);
  // Slower memory, slower GEMM at few rows; slower tensor cores, slower GEMM at many.
  cache::GpuModel slow = gpu;
  slow.copyBytesPerUs /= 2;
  CHECK(kernels::predictGemmUs(q, c, 16, false, slow) > kernels::predictGemmUs(q, c, 16, false, gpu));
  slow = gpu;
  slow.tensorFlopsPerUs /= 4;
  kernels::GemmConfig big;
  big.blockM = 256, big.blockN = 128, big.blockK = 64, big.numWarps = 8, big.stages = 4;
  CHECK(kernels::predictGemmUs(q, big, 4096, false, slow) > kernels::predictGemmUs(q, big, 4096, false, gpu));
  // More rows never cost less; twice the layer costs more.
  CHECK(kernels::predictGemmUs(q, c, 64, false, gpu) >= kernels::predictGemmUs(q, c, 16, false, gpu));
  CHECK(kernels::predictGemmUs(specOf(4, 128, 16384, 8192), c, 64, false, gpu) > us);
}

// TMA copies join the defaults only with $UINTX_TMA_COPIES=1, and only where they apply: int8
// activations with 8-bit weights on wgmma tiles (not 4-bit weights), weight-only wgmma tiles of
// more than 16 rows.
TEST_CASE("defaults take TMA copies where they apply, with UINTX_TMA_COPIES=1") {
  const kernels::QuantSpec q = specOf(4, 128, 8192, 8192), w8 = specOf(8, 0, 4608, 3584);
  CHECK(!kernels::tmaCopiesEnabled());
  CHECK(kernels::defaultGemmConfig(w8, 256, true, h200()).tmaCopies == 0);
  setenv("UINTX_TMA_COPIES", "1", 1);
  for (int64_t M : {16, 64, 256, 4096}) {
    CAPTURE(M);
    kernels::GemmConfig c = kernels::defaultGemmConfig(w8, M, true, h200());
    CHECK(c.tmaCopies == 1);
    c.tmaCopies = 0;
    CHECK(c.toString() == kernels::ruleGemmConfig(w8, M, true, 132).toString());
    CHECK(kernels::defaultGemmConfig(q, M, true, h200()).tmaCopies == 0);
    kernels::GemmConfig w4 = kernels::defaultGemmConfig(q, M, false, h200()), rule = kernels::ruleGemmConfig(q, M, false, 132);
    rule.tmaCopies = 1;
    CHECK(w4.tmaCopies == (kernels::gemmSupports(q, rule, false) ? 1 : 0));
    if (M == 16) CHECK(w4.tmaCopies == 0);  // the transposed mma.sync tile
    if (M == 4096) CHECK(w4.tmaCopies == 1);
  }
  unsetenv("UINTX_TMA_COPIES");
  CHECK(kernels::defaultGemmConfig(w8, 256, true, h200()).tmaCopies == 0);
  // Any other value is an error naming the variable, not silently "off" ("yes", "3").
  for (const char* junk : {"yes", "3", "-1", "1 "}) {
    CAPTURE(junk);
    setenv("UINTX_TMA_COPIES", junk, 1);
    CHECK_THROWS_WITH_AS(kernels::tmaCopiesEnabled(), doctest::Contains("UINTX_TMA_COPIES='"), uintx::Error);
  }
  setenv("UINTX_TMA_COPIES", "", 1);  // empty counts as unset
  CHECK(!kernels::tmaCopiesEnabled());
  unsetenv("UINTX_TMA_COPIES");
}
