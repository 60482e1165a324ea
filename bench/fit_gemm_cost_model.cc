// Fits the GEMM cost model's constants (kernels/gemm/cost_model.h) to tuner timings: every
// candidate of each key timed by uintx-tune with $UINTX_TUNE_TIMINGS. A grid search over the
// fitted constants (the copy ceiling, tensor rate, launch and split-reduce costs stay the GPU
// table's) keeps the set under which the most keys' predicted-fastest candidate is within 10%
// of the measured best, ties broken by the geometric mean of picked / best. Prints each key's
// pick. Runs on the CPU:
//   fit_gemm_cost_model [--show KEY_PART] [--gpu NAME [--tensor-tflops T]] TIMINGS.csv... [--gpu ...]
// Timings follow the GPU they were measured on (`--gpu`, default "NVIDIA H200"), whose table
// gives the physical constants (copy ceiling, SMs, launch; `--tensor-tflops` where the table has
// no GEMM constants); the fitted constants are shared by every GPU, starting from the H200's.
// --show prints, for the keys whose text contains KEY_PART, every candidate's measured and
// predicted time under the table's constants.
// Then, leave-one-family-out: for each model family of the zoo (bench/model_zoo.csv; a shape
// goes to the first family that has it), the constants refitted without its keys pick its
// keys' configs.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "autotune/model_zoo.h"
#include "cache/gpu_tables.h"
#include "cache/kernel_key.h"
#include "kernels/common/quant_spec.h"
#include "kernels/gemm/cost_model.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemm/gemm.h"
#include "uintx/error.h"

using namespace uintx;

namespace {

struct Timed {
  kernels::GemmConfig config;
  double us = 0;
};

struct Key {
  std::string text;
  cache::KernelKey key;
  kernels::QuantSpec q;
  std::vector<Timed> timed;
  double best = INFINITY;
  std::string family;  // of the zoo, or "other"
  cache::GpuModel physical;  // the GPU it was measured on
};

// The GPU's physical constants with the fitted ones.
cache::GpuModel withFitted(cache::GpuModel m, const cache::GpuModel& fitted) {
  m.mmaSyncShare = fitted.mmaSyncShare, m.decodeUsPerWeight = fitted.decodeUsPerWeight;
  m.gemmStepUs = fitted.gemmStepUs, m.gemmChainUsPerWeight = fitted.gemmChainUsPerWeight;
  m.gemmLatencyUs = fitted.gemmLatencyUs, m.l2BytesPerUs = fitted.l2BytesPerUs;
  return m;
}

// Lines `"key",index,"config",us`; GEMM families only.
void readTimings(const std::string& path, const cache::GpuModel& physical, std::map<std::string, Key>& keys) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read " + path);
  for (std::string line; std::getline(in, line);) {
    const size_t keyEnd = line.find('"', 1), cfgStart = line.find('"', keyEnd + 1), cfgEnd = line.find('"', cfgStart + 1);
    if (cfgEnd == std::string::npos) throw Error(path + ": bad line " + line);
    const std::string text = line.substr(1, keyEnd - 1);
    const cache::KernelKey key = cache::KernelKey::parse(text);
    if (key.family != cache::KernelFamily::gemm && key.family != cache::KernelFamily::gemm_int8) continue;
    Key& k = keys[text + "@" + std::to_string(physical.copyBytesPerUs)];
    if (k.text.empty()) {
      k.text = text, k.key = key, k.q = kernels::quantSpecOf(kernels::weightFormatOf(key)), k.physical = physical;
      k.family = "other";
      for (const autotune::ZooLayer& l : autotune::modelZoo())
        if (l.N == key.N && l.K == key.K) {
          k.family = l.family;
          break;
        }
    }
    const double us = std::stod(line.substr(cfgEnd + 2));
    k.timed.push_back({kernels::GemmConfig::fromString(line.substr(cfgStart + 1, cfgEnd - cfgStart - 1)), us});
    k.best = std::min(k.best, us);
  }
}

double gMargin = kernels::kGemmModelMargin;  // --margin: what a rule's config must lose by to be replaced

// The candidate modelGemmConfig would take: the model's fastest, unless the rule's config
// (when it was timed) is predicted within kGemmModelMargin of it.
const Timed& pick(const Key& k, const cache::GpuModel& fitted) {
  const cache::GpuModel gpu = withFitted(k.physical, fitted);
  const bool int8 = k.key.family == cache::KernelFamily::gemm_int8;
  const std::string rule = kernels::ruleGemmConfig(k.q, k.key.m_bucket, int8, gpu.smCount).toString();
  const Timed* best = nullptr;
  double bestUs = INFINITY;
  for (const Timed& t : k.timed)
    if (t.config.toString() == rule) best = &t, bestUs = (1 - gMargin) *
                                                     kernels::predictGemmUs(k.q, t.config, k.key.m_bucket, int8, gpu);
  for (const Timed& t : k.timed) {
    const double us = kernels::predictGemmUs(k.q, t.config, k.key.m_bucket, int8, gpu);
    if (us < bestUs) bestUs = us, best = &t;
  }
  return *best;
}

// The rule's config, where it was timed.
const Timed* ruleTimed(const Key& k, int smCount) {
  const bool int8 = k.key.family == cache::KernelFamily::gemm_int8;
  const std::string rule = kernels::ruleGemmConfig(k.q, k.key.m_bucket, int8, smCount).toString();
  for (const Timed& t : k.timed)
    if (t.config.toString() == rule) return &t;
  return nullptr;
}

struct Score {
  int within10 = 0;
  double logRatio = 0;
  bool operator>(const Score& o) const { return within10 != o.within10 ? within10 > o.within10 : logRatio < o.logRatio; }
};

Score score(const std::vector<const Key*>& keys, const cache::GpuModel& gpu) {
  Score s;
  for (const Key* k : keys) {
    const double ratio = pick(*k, gpu).us / k->best;
    s.within10 += ratio <= 1.10;
    s.logRatio += std::log(ratio);
  }
  return s;
}

cache::GpuModel fit(const std::vector<const Key*>& keys, cache::GpuModel gpu) {
  cache::GpuModel best = gpu;
  Score bestScore;
  bestScore.within10 = -1;
  for (double share : {0.25, 0.35, 0.5, 0.7, 1.0})
    for (double decode : {2e-6, 4e-6, 6e-6, 9e-6, 13e-6, 20e-6})
      for (double step : {0.1, 0.2, 0.3, 0.45, 0.6, 0.8})
        for (double latency : {0.5, 0.75, 1.0, 1.5, 2.0, 3.0})
          for (double l2 : {5e6, 1e7, 2e7})
            for (double chain : {0.0, 0.003, 0.006, 0.01, 0.015, 0.02, 0.03}) {
            gpu.mmaSyncShare = share, gpu.decodeUsPerWeight = decode, gpu.gemmStepUs = step, gpu.gemmLatencyUs = latency;
            gpu.l2BytesPerUs = l2, gpu.gemmChainUsPerWeight = chain;
            const Score s = score(keys, gpu);
            if (s > bestScore) bestScore = s, best = gpu;
          }
  return best;
}

void report(const std::vector<const Key*>& keys, const cache::GpuModel& gpu) {
  const Score s = score(keys, gpu);
  for (const Key* k : keys) {
    const Timed& t = pick(*k, gpu);
    const Timed* rule = ruleTimed(*k, k->physical.smCount);
    std::printf("%-80s picked/best %.3f  rule/best %s  %s\n", k->text.c_str(), t.us / k->best,
                rule ? std::to_string(rule->us / k->best).substr(0, 5).c_str() : "(not timed)", t.config.toString().c_str());
  }
  std::printf("keys %zu, picked within 10%% of the best: %d, geometric mean picked / best %.3f\n", keys.size(),
              s.within10, std::exp(s.logRatio / double(keys.size())));
  std::printf("mma_sync_share %g decode_us_per_weight %g gemm_step_us %g gemm_chain_us_per_weight %g gemm_latency_us %g "
              "l2_tb_per_s %g\n", gpu.mmaSyncShare, gpu.decodeUsPerWeight, gpu.gemmStepUs,
              gpu.gemmChainUsPerWeight, gpu.gemmLatencyUs, gpu.l2BytesPerUs / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string gpuName = "NVIDIA H200", show;
    double tensorTflops = 0;
    std::map<std::string, Key> keys;
    const cache::ShippedTable* h200 = cache::shippedTableFor("NVIDIA H200", "9.0");
    if (!h200) throw Error("no shipped table for the NVIDIA H200");
    int files = 0;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--gpu" && i + 1 < argc) gpuName = argv[++i], tensorTflops = 0;
      else if (a == "--show" && i + 1 < argc) show = argv[++i];
      else if (a == "--margin" && i + 1 < argc) gMargin = std::stod(argv[++i]);
      else if (a == "--tensor-tflops" && i + 1 < argc) tensorTflops = std::stod(argv[++i]);
      else {
        const cache::ShippedTable* table = cache::shippedTableFor(gpuName, "9.0");
        if (!table) throw Error("no shipped table for " + gpuName);
        cache::GpuModel physical = table->model;
        if (tensorTflops > 0) physical.tensorFlopsPerUs = tensorTflops * 1e6;
        if (physical.tensorFlopsPerUs <= 0) throw Error(gpuName + "'s table has no GEMM constants: give --tensor-tflops");
        readTimings(a, physical, keys);
        ++files;
      }
    }
    if (!files) throw Error("usage: fit_gemm_cost_model [--show KEY_PART] [--gpu NAME [--tensor-tflops T]] TIMINGS.csv...");
    std::vector<const Key*> all;
    for (const auto& [text, k] : keys) all.push_back(&k);
    const cache::GpuModel& start = h200->model;
    if (!show.empty()) {
      for (const Key* k : all) {
        if (k->text.find(show) == std::string::npos) continue;
        const bool int8 = k->key.family == cache::KernelFamily::gemm_int8;
        const cache::GpuModel gpu = withFitted(k->physical, start);
        std::printf("%s\n", k->text.c_str());
        for (const Timed& t : k->timed)
          std::printf("  measured %8.2f  predicted %8.2f  %s\n", t.us, kernels::predictGemmUs(k->q, t.config, k->key.m_bucket, int8, gpu),
                      t.config.toString().c_str());
      }
      return 0;
    }
    std::printf("the H200 table's constants:\n");
    report(all, start);
    const cache::GpuModel fitted = fit(all, start);
    std::printf("\nfitted on all keys:\n");
    report(all, fitted);
    std::map<std::string, std::vector<const Key*>> byFamily;
    for (const Key* k : all) byFamily[k->family].push_back(k);
    int within10 = 0;
    double logRatio = 0;
    for (const auto& [family, held] : byFamily) {
      std::vector<const Key*> rest;
      for (const Key* k : all)
        if (k->family != family) rest.push_back(k);
      if (rest.empty()) continue;
      std::printf("\nleave out %s (%zu keys): fitted on the other %zu\n", family.c_str(), held.size(), rest.size());
      const cache::GpuModel model = fit(rest, start);
      report(held, model);
      const Score s = score(held, model);
      within10 += s.within10, logRatio += s.logRatio;
    }
    std::printf("\nleave-one-family-out: %d of %zu keys within 10%% of the best, geometric mean picked / best %.3f\n",
                within10, all.size(), std::exp(logRatio / double(all.size())));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fit_gemm_cost_model: %s\n", e.what());
    return 1;
  }
}
