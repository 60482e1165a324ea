// The GEMV cost model (kernels/gemv/cost_model.h) against the H200's measurements, and the
// defaults it chooses: on the tuned GEMV keys of tests/kernels/data/h200_tune_timings.csv (every
// candidate of the space timed by uintx-tune, $UINTX_TUNE_TIMINGS) the candidate it predicts
// fastest is near the measured best; on every zoo shape and format its default is a
// config the kernel accepts, predicted no slower than the rule it starts from.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "autotune/model_zoo.h"
#include "cache/gpu_tables.h"
#include "kernels/common/quant_spec.h"
#include "kernels/gemv/cost_model.h"
#include "kernels/gemv/default_config.h"
#include "kernels/gemv/gemv.h"
#include "packing/weight_format.h"
#include "tests/kernels/tune_timings.h"

using namespace uintx;

namespace {

struct Timed {
  kernels::GemvConfig config;
  double us = 0;
};

// "BN=16 BK=1024 warps=8 splitK=1 BM=1 stages=2"
kernels::GemvConfig parseDescription(const std::string& text) {
  std::map<std::string, int> v;
  std::istringstream in(text);
  for (std::string item; in >> item;) v[item.substr(0, item.find('='))] = std::stoi(item.substr(item.find('=') + 1));
  kernels::GemvConfig c;
  c.blockN = v.at("BN"), c.blockK = v.at("BK"), c.numWarps = v.at("warps"), c.splitK = v.at("splitK");
  c.blockM = v.at("BM"), c.stages = v.at("stages");
  return c;
}

// Key text -> every timed candidate, parsed.
std::map<std::string, std::vector<Timed>> readTimings(const std::string& path) {
  std::map<std::string, std::vector<Timed>> out;
  for (const auto& [key, candidates] : testing::readTuneTimings(path))
    for (const testing::TimedCandidate& t : candidates) out[key].push_back({parseDescription(t.config), t.us});
  return out;
}

const cache::GpuModel& h200() {
  const cache::ShippedTable* t = cache::shippedTableFor("NVIDIA H200", "9.0");
  REQUIRE(t != nullptr);
  return t->model;
}

kernels::QuantSpec specOf(int bits, int group, int64_t N, int64_t K) {
  WeightFormat f;
  f.bit_width = bits, f.group_size = group, f.packing_bitwidth = 32, f.N = N, f.K = K;
  f.validate();
  return kernels::quantSpecOf(f);
}

}  // namespace

// The bar of issue 19 is 10% in >= 90% of cells; on the keys measured so far the model
// reaches it in all but one, which is within 15% (docs/PERFORMANCE.md, "The cost model").
TEST_CASE("on the H200's measured GEMV keys, the predicted-fastest candidate is near the best") {
  int keys = 0, within10 = 0;
  for (const auto& [keyText, timed] : readTimings("tests/kernels/data/h200_tune_timings.csv")) {
    const cache::KernelKey key = cache::KernelKey::parse(keyText);
    if (key.family != cache::KernelFamily::gemv) continue;
    ++keys;
    const kernels::QuantSpec q = specOf(key.bit_width, key.group_size, key.N, key.K);
    const Timed* picked = &timed.front();
    double best = timed.front().us, pickedUs = INFINITY;
    for (const Timed& t : timed) {
      best = std::min(best, t.us);
      const double predicted = kernels::predictGemvUs(q, t.config, key.m_bucket, h200());
      if (predicted < pickedUs) pickedUs = predicted, picked = &t;
    }
    INFO(keyText << ": picked " << picked->config.toString() << " at " << picked->us << " us, best " << best << " us");
    CHECK(picked->us <= 1.15 * best);
    within10 += picked->us <= 1.10 * best;
  }
  CHECK(keys >= 9);
  CHECK(within10 >= keys - 1);
}

// 8192x8192 W4A16 M=1 on the H200: the unsplit 32-row config measured 15.4 us (run 8), the
// same split 4 ways 18.2 us (run 10, when the model's split-reduce constant was 0.5 us and it
// picked the split): the model must rank them in that order.
TEST_CASE("the model does not split a layer that fills the GPU unsplit (8192x8192, M=1)") {
  const kernels::QuantSpec q = specOf(4, 128, 8192, 8192);
  kernels::GemvConfig unsplit;
  unsplit.blockN = 32, unsplit.blockK = 1024, unsplit.numWarps = 8, unsplit.splitK = 1;
  kernels::GemvConfig split = unsplit;
  split.splitK = 4;
  CHECK(kernels::predictGemvUs(q, unsplit, 1, h200()) < kernels::predictGemvUs(q, split, 1, h200()));
  CHECK(kernels::defaultGemvConfig(q, 1, h200()).splitK == 1);
}

TEST_CASE("the cost model's GEMV defaults: runnable on every zoo shape and format, never predicted slower than the rule") {
  const cache::GpuModel& gpu = h200();
  int large = 0;
  for (const autotune::ZooShape& shape : autotune::distinctShapes(autotune::modelZoo()))
    for (auto [bits, group] : {std::pair{4, 128}, {8, 0}, {2, 64}, {3, 128}})
      for (int64_t M : {1, 2}) {
        const kernels::QuantSpec q = specOf(bits, group ? group : int(shape.K), shape.N, shape.K);
        const kernels::GemvConfig chosen = kernels::defaultGemvConfig(q, M, gpu);
        INFO(shape.N << "x" << shape.K << " bits " << bits << " M " << M << ": " << chosen.toString());
        CHECK_NOTHROW(kernels::validateGemvConfig(q, chosen));
        const double predicted = kernels::predictGemvUs(q, chosen, M, gpu);
        CHECK(std::isfinite(predicted));
        CHECK(predicted <= kernels::predictGemvUs(q, kernels::ruleGemvConfig(q, M, gpu.smCount), M, gpu));
        // Every SM streams part of a large layer (narrow ones by splitting K).
        if (M == 1 && shape.N * shape.K >= (int64_t(16) << 20)) {
          CHECK((shape.N + chosen.blockN - 1) / chosen.blockN * chosen.splitK >= gpu.smCount);
          ++large;
        }
      }
  CHECK(large > 0);
}

TEST_CASE("the prediction follows the physics it models") {
  const cache::GpuModel& gpu = h200();
  const kernels::QuantSpec q = specOf(4, 128, 8192, 8192);
  kernels::GemvConfig shallow;  // 16 elements per thread in flight
  shallow.blockN = 16, shallow.blockK = 256, shallow.numWarps = 8;
  kernels::GemvConfig deep = shallow;  // 64
  deep.blockK = 1024;
  CHECK(kernels::predictGemvUs(q, deep, 1, gpu) < kernels::predictGemvUs(q, shallow, 1, gpu));
  // Never faster than the weight bytes at the copy ceiling, plus the launch.
  const double floorUs = 8192.0 * 8192 * 0.5 / gpu.copyBytesPerUs + gpu.launchUs;
  CHECK(kernels::predictGemvUs(q, deep, 1, gpu) >= floorUs);
  // A faster memory predicts a faster GEMV.
  cache::GpuModel slower = gpu;
  slower.copyBytesPerUs /= 2;
  CHECK(kernels::predictGemvUs(q, deep, 1, slower) > kernels::predictGemvUs(q, deep, 1, gpu));
}
