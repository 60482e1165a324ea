#include "kernels/families.h"

#include <algorithm>
#include <cstdlib>

#include "cache/env_integer.h"
#include "kernels/gemm/config_space.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemm/launch.h"
#include "kernels/gemv/config_space.h"
#include "kernels/gemv/default_config.h"
#include "kernels/gemv/launch.h"
#include "kernels/int8_gemm/launch.h"
#include "uintx/error.h"

namespace uintx::kernels {

using cache::KernelFamily;

namespace {

// Layers of at most 2^24 weights have too few tiles for a few rows to fill the GPU: with int8
// activations and 8-bit weights, their weight-only GEMV keeps up to two rows (below).
bool smallLayer(const QuantSpec& q) { return q.N * q.K <= (int64_t(1) << 24); }

// The GEMV's one-row decode wins at M = 1; from M = 2 the tensor-core GEMM does for codes it
// decodes to 16-bit pairs (up to 4 bits: the transposed one-stage GEMM up to 8 rows, on every
// layer size timed), from M = 3 for 8-bit codes, whose 16-row GEMM has too few programs on
// small layers (docs/PERFORMANCE.md, run 14: 4096x4096 at M = 2; run 18: 4608x3584 W4 at M = 2,
// 13.6 us on the GEMV against 8.1 at M = 3 on the transposed GEMM).
int64_t gemmMinM(const QuantSpec& q) {
  static const int64_t forced = cache::envInteger("UINTX_GEMM_MIN_M", 1, INT32_MAX).value_or(0);
  return forced ? forced : q.bits <= 4 ? 2 : 3;
}

// Whether int8 activations are served by the weight-only kernels on the same weights, x not
// quantized (the result is the weight-only one, closer to the float product).
// The int8 path quantizes x in a kernel of its own first; the weight-only path is one kernel,
// and at 8 bits its GEMV beats the pair up to two rows of a small layer. With 4-bit weights
// the int8 GEMM, which corrects every group's zero on the int32 sums, was the slower one at
// every M timed, 1 to 4096 (docs/PERFORMANCE.md, runs 14 and 15).
bool int8RunsWeightOnly(const QuantSpec& q, int64_t M) { return q.bits == 4 || M <= (smallLayer(q) ? 2 : 1); }

template <typename Config>
std::vector<cache::KernelConfig> toCacheForm(const std::vector<Config>& configs) {
  std::vector<cache::KernelConfig> out;
  for (const Config& c : configs) out.push_back(toKernelConfig(c));
  return out;
}

}  // namespace

KernelFamily chooseFamily(const QuantSpec& q, int64_t M, bool int8) {
  if (int8) {
    // Formats the int8 GEMM refuses go to it at every M, for its error.
    if (int8RunsWeightOnly(q, M) && gemmSupports(q, ruleGemmConfig(q, 16, true, 0), true))
      return chooseFamily(q, M, false);
    return KernelFamily::gemm_int8;
  }
  if (M < gemmMinM(q)) return KernelFamily::gemv;
  return gemmSupports(q, ruleGemmConfig(q, M, false, 0), false) ? KernelFamily::gemm : KernelFamily::gemv_tiled;
}

cache::KernelConfig defaultConfig(KernelFamily family, const QuantSpec& q, int64_t M, int smCount) {
  return defaultConfig(family, q, M, cache::genericGpuModel(smCount));
}

cache::KernelConfig defaultConfig(KernelFamily family, const QuantSpec& q, int64_t M, const cache::GpuModel& gpu) {
  switch (family) {
    case KernelFamily::gemv:
    case KernelFamily::gemv_tiled: return toKernelConfig(defaultGemvConfig(q, M, gpu));
    case KernelFamily::gemm: return toKernelConfig(defaultGemmConfig(q, M, false, gpu));
    case KernelFamily::gemm_int8: return toKernelConfig(defaultGemmConfig(q, M, true, gpu));
  }
  throw Error("unknown kernel family");
}

std::vector<cache::KernelConfig> configSpace(const cache::KernelKey& key, int smCount) {
  return configSpace(key, cache::genericGpuModel(smCount));
}

std::vector<cache::KernelConfig> configSpace(const cache::KernelKey& key, const cache::GpuModel& gpu) {
  if (isGemvFamily(key.family)) return toCacheForm(gemvConfigSpace(key, gpu));
  // The default leads (the tuner times it first and checks the others against it); the space
  // starts from the rule, which the cost model's choice replaces where it is the default
  // ($UINTX_GEMM_COST_MODEL=1).
  std::vector<GemmConfig> space = gemmConfigSpace(key, gpu.smCount);
  const GemmConfig chosen = defaultGemmConfig(quantSpecOf(weightFormatOf(key)), key.m_bucket,
                                              key.family == KernelFamily::gemm_int8, gpu);
  auto same = [&](const GemmConfig& c) { return c.toString() == chosen.toString(); };
  space.erase(std::remove_if(space.begin(), space.end(), same), space.end());
  space.insert(space.begin(), chosen);
  return toCacheForm(space);
}

std::string describeConfig(KernelFamily family, const cache::KernelConfig& config) {
  return isGemvFamily(family) ? gemvConfigFrom(config).toString() : gemmConfigFrom(config).toString();
}

namespace {

// Throws what makePlan would for a config that cannot run the format.
void validate(KernelFamily family, const QuantSpec& q, const cache::KernelConfig& config) {
  if (isGemvFamily(family)) return validateGemvConfig(q, gemvConfigFrom(config));
  const bool int8 = family == KernelFamily::gemm_int8;
  GemmConfig c = gemmConfigFrom(config);
  if (int8 && !gemmSupports(q, c, true) && !gemmSupports(q, ruleGemmConfig(q, 16, true, 0), true))
    throw Error("int8 activations need 8-bit symmetric weights or 4-bit weights with a group size of 32, 64, 128 or 256, "
                "rows of whole 16-byte multiples and K a multiple of 32 (bits=" + std::to_string(q.bits) + ", group_size=" +
                std::to_string(q.groupSize) + ", K=" + std::to_string(q.K) + ")");
  validateGemmConfig(q, c, int8);
}

}  // namespace

std::string configError(KernelFamily family, const QuantSpec& q, const cache::KernelConfig& config) {
  try {
    validate(family, q, config);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::unique_ptr<KernelPlan> makePlan(KernelFamily family, const QuantSpec& q, dsl::DType act, dsl::DType out,
                                     bool hasBias, const cache::KernelConfig& config, const CompileFn& compile) {
  validate(family, q, config);
  if (isGemvFamily(family)) return makeGemvPlan(q, act, out, hasBias, gemvConfigFrom(config), compile);
  GemmConfig c = gemmConfigFrom(config);
  return family == KernelFamily::gemm_int8 ? makeInt8GemmPlan(q, act, out, hasBias, c, compile)
                                           : makeGemmPlan(q, act, out, hasBias, c, compile);
}

}  // namespace uintx::kernels
