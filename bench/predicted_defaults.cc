// What uintx::linear would run for each M with nothing tuned, and how long the cost models
// predict it takes: a search for cliffs (M + 1 predicted much slower than M) that needs no GPU.
// It follows the call's path: the family chosen at M, the default config of M's bucket, the
// rows past the last large row block as a call of their own (dispatch/row_split.h), the tail
// split as it runs at M. The predictions are the models' (docs/PERFORMANCE.md, "The cost
// model"): a cliff here is a place to measure, not a measurement.
//
// predicted_defaults [--gpu "NVIDIA H200"] [--shapes 8192x8192,...] [--zoo names]
//                    [--variants w4,w2,w8,w8a8] [--max-m 1100] [--min-ratio 1.5]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "autotune/model_zoo.h"
#include "cache/gpu_tables.h"
#include "dispatch/row_split.h"
#include "kernels/common/quant_spec.h"
#include "kernels/families.h"
#include "kernels/gemm/cost_model.h"
#include "kernels/gemm/tail_reduce.h"
#include "kernels/gemv/cost_model.h"
#include "packing/weight_format.h"
#include "uintx/error.h"

using namespace uintx;

namespace {

struct Variant {
  std::string name;
  int bits, group;  // group 0: one scale per row
  bool int8;
};

Variant variantOf(const std::string& name) {
  if (name == "w4") return {name, 4, 128, false};
  if (name == "w2") return {name, 2, 64, false};
  if (name == "w8") return {name, 8, 0, false};
  if (name == "w8a8") return {name, 8, 0, true};
  throw Error("unknown variant '" + name + "': expected w4, w2, w8 or w8a8");
}

std::vector<std::string> splitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The predicted time of a call of M rows, and what it runs.
double predictCall(const kernels::QuantSpec& q, int64_t M, bool int8, const cache::GpuModel& gpu, std::string* runs) {
  const cache::KernelFamily family = kernels::chooseFamily(q, M, int8);
  const cache::KernelConfig config = kernels::defaultConfig(family, q, cache::KernelKey::mBucket(M), gpu);
  *runs = kernels::describeConfig(family, config);
  if (family == cache::KernelFamily::gemv || family == cache::KernelFamily::gemv_tiled)
    return kernels::predictGemvUs(q, kernels::gemvConfigFrom(config), M, gpu);
  const kernels::GemmConfig c = kernels::gemmConfigFrom(config);
  if (const int64_t rest = dispatch::separateTailRows(M, c.blockM, family)) {
    std::string restRuns;
    const double us = predictCall(q, M - rest, int8, gpu, runs) + predictCall(q, rest, int8, gpu, &restRuns);
    *runs += " + " + restRuns;
    return us;
  }
  return kernels::predictGemmUs(q, kernels::asRun(q, c, M, uint64_t(gpu.smCount)), M,
                                family == cache::KernelFamily::gemm_int8, gpu);
}

}  // namespace

int main(int argc, char** argv) try {
  std::string gpuName = "NVIDIA H200", shapes, zoo, variants = "w4,w8a8";
  int64_t maxM = 1100;
  double minRatio = 1.5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--gpu") gpuName = value();
    else if (a == "--shapes") shapes = value();
    else if (a == "--zoo") zoo = value();
    else if (a == "--variants") variants = value();
    else if (a == "--max-m") maxM = std::atoll(value().c_str());
    else if (a == "--min-ratio") minRatio = std::atof(value().c_str());
    else throw Error("unknown argument '" + a + "' (see the comment at the top of bench/predicted_defaults.cc)");
  }
  if (maxM < 2 || maxM > 65536) throw Error("--max-m must be in 2..65536");
  const cache::ShippedTable* table = cache::shippedTableFor(gpuName, "9.0");
  if (!table || table->model.smCount <= 0) throw Error("no shipped table with a cost model for '" + gpuName + "'");
  const cache::GpuModel& gpu = table->model;

  std::vector<std::pair<int64_t, int64_t>> nk;
  for (const std::string& s : splitCommas(shapes)) {
    const size_t x = s.find('x');
    if (x == std::string::npos) throw Error("--shapes: '" + s + "' is not NxK");
    nk.push_back({std::atoll(s.substr(0, x).c_str()), std::atoll(s.substr(x + 1).c_str())});
  }
  if (!zoo.empty() || nk.empty())
    for (const autotune::ZooShape& z : autotune::distinctShapes(autotune::selectZooLayers(autotune::modelZoo(), zoo)))
      nk.push_back({z.N, z.K});

  std::printf("# %s: steps where the predicted time of M + 1 rows is >= %.2fx that of M\n", gpuName.c_str(), minRatio);
  for (const std::string& v : splitCommas(variants)) {
    const Variant variant = variantOf(v);
    for (auto [N, K] : nk) {
      WeightFormat f;
      f.bit_width = variant.bits, f.packing_bitwidth = 32, f.N = N, f.K = K;
      f.group_size = variant.group ? variant.group : int(K);
      try {
        f.validate();
      } catch (const Error& e) {
        std::printf("%s %lldx%lld: skipped (%s)\n", v.c_str(), (long long)N, (long long)K, e.what());
        continue;
      }
      const kernels::QuantSpec q = kernels::quantSpecOf(f);
      std::string before, after;
      double previous = predictCall(q, 1, variant.int8, gpu, &before), worst = 0;
      int64_t worstM = 0;
      int cliffs = 0;
      for (int64_t M = 2; M <= maxM; ++M) {
        const double us = predictCall(q, M, variant.int8, gpu, &after);
        const double ratio = us / previous;
        if (ratio > worst) worst = ratio, worstM = M;
        if (ratio >= minRatio) {
          ++cliffs;
          std::printf("%s %lldx%lld M %lld -> %lld: %.1f -> %.1f us (%.2fx)\n    %s\n    %s\n", v.c_str(), (long long)N,
                      (long long)K, (long long)M - 1, (long long)M, previous, us, ratio, before.c_str(), after.c_str());
        }
        previous = us, before = after;
      }
      std::printf("%s %lldx%lld: %d steps >= %.2fx up to M = %lld; the largest %.2fx at M = %lld\n", v.c_str(),
                  (long long)N, (long long)K, cliffs, minRatio, (long long)maxM, worst, (long long)worstM);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "predicted_defaults: %s\n", e.what());
  return 2;
}
