#include "kernels/gemv/config_space.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/quant_spec.h"
#include "kernels/gemv/default_config.h"
#include "uintx/error.h"

namespace uintx::kernels {

namespace {

constexpr int kBlockNs[] = {8, 16, 32, 64};
constexpr int kBlockKs[] = {64, 128, 256, 512, 1024};
constexpr int kNumWarps[] = {2, 4, 8};
constexpr int kSplitKs[] = {1, 2, 4, 8};

int64_t programsWithoutSplit(const kernels::QuantSpec& q, const kernels::GemvConfig& c, int64_t M) {
  return (q.N + c.blockN - 1) / c.blockN * ((M + c.blockM - 1) / c.blockM);
}

bool passesValidation(const kernels::QuantSpec& q, const kernels::GemvConfig& c) {
  try {
    kernels::validateGemvConfig(q, c);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// The pruning rules (docs/CACHE.md, "GEMV search space"); true if `c` is worth timing.
bool worthTiming(const kernels::QuantSpec& q, const kernels::GemvConfig& c, bool wordPathPossible,
                 int64_t M, int smCount) {
  if (!passesValidation(q, c)) return false;
  // The whole-word path is the fast one: when the format can take it, every config keeps it.
  if (wordPathPossible && !kernels::usesWordPath(q, c)) return false;
  // A K tile longer than K only masks; keep the smallest one for short K.
  if (c.splitK == 1 && c.blockK > q.K && c.blockK != kBlockKs[0]) return false;
  // Each split should still loop: fewer than two K tiles per split is all overhead.
  if (c.splitK > 1 && kernels::gemvSteps(q, c) / c.splitK < 2) return false;
  // Registers: the dequantized tile is held per thread; beyond the budget it spills.
  double perThread = kernels::gemvElementsPerThread(c);
  if (perThread > kMaxGemvElementsPerThread) return false;
  // Each thread should fill at least one vector load; a smaller tile leaves threads idle.
  if (perThread < kernels::gemvVectorWidth(q, c)) return false;
  // Splitting further once the half-as-split grid already fills every SM four times only
  // adds partial-sum traffic.
  if (c.splitK > 1 && programsWithoutSplit(q, c, M) * (c.splitK / 2) >= 4 * int64_t(smCount)) return false;
  return true;
}

// Lower is more plausible: grids far from ~2..64 programs per SM, and more splitting.
double implausibility(const kernels::QuantSpec& q, const kernels::GemvConfig& c, int64_t M, int smCount) {
  double programs = double(programsWithoutSplit(q, c, M)) * c.splitK;
  double low = 2.0 * smCount, high = 64.0 * smCount;
  double grid = programs < low ? std::log2(low / programs) : programs > high ? std::log2(programs / high) : 0.0;
  return grid + 0.25 * std::log2(double(c.splitK));
}

bool sameConfig(const kernels::GemvConfig& a, const kernels::GemvConfig& b) {
  return a.blockN == b.blockN && a.blockK == b.blockK && a.numWarps == b.numWarps && a.splitK == b.splitK &&
         a.blockM == b.blockM;
}

}  // namespace

bool isGemvFamily(cache::KernelFamily family) { return family == cache::KernelFamily::gemv || family == cache::KernelFamily::gemv_tiled; }

int gemvBlockM(const cache::KernelKey& key) {
  if (key.family == cache::KernelFamily::gemv_tiled) return 16;
  return std::min(key.m_bucket, 16);
}

std::vector<GemvConfig> gemvCandidates(const QuantSpec& q, int64_t M, int blockM, int smCount) {
  std::vector<GemvConfig> grid;
  for (int bn : kBlockNs)
    for (int bk : kBlockKs)
      for (int warps : kNumWarps)
        for (int split : kSplitKs) {
          GemvConfig c;
          c.blockN = bn;
          c.blockK = bk;
          c.numWarps = warps;
          c.splitK = split;
          c.blockM = blockM;
          grid.push_back(c);
        }
  bool wordPathPossible = std::any_of(grid.begin(), grid.end(), [&](const GemvConfig& c) {
    return usesWordPath(q, c) && passesValidation(q, c);
  });
  std::vector<GemvConfig> kept;
  for (const GemvConfig& c : grid)
    if (worthTiming(q, c, wordPathPossible, M, smCount)) kept.push_back(c);
  return kept;
}

std::vector<kernels::GemvConfig> gemvConfigSpace(const cache::KernelKey& key, int smCount) {
  return gemvConfigSpace(key, cache::genericGpuModel(smCount));
}

std::vector<kernels::GemvConfig> gemvConfigSpace(const cache::KernelKey& key, const cache::GpuModel& gpu) {
  const int smCount = gpu.smCount;
  if (!isGemvFamily(key.family))
    throw Error("no GEMV config space for family '" + std::string(cache::familyName(key.family)) + "' (key " + key.toString() +
                "): the GEMV space serves 'gemv' and 'gemv_tiled'");
  if (smCount < 1) throw Error("smCount = " + std::to_string(smCount) + " must be >= 1");
  key.validate();
  const kernels::QuantSpec q = quantSpecOf(weightFormatOf(key));
  const int64_t M = key.m_bucket;
  const int blockM = gemvBlockM(key);

  std::vector<kernels::GemvConfig> kept = gemvCandidates(q, M, blockM, smCount);
  std::stable_sort(kept.begin(), kept.end(), [&](const kernels::GemvConfig& a, const kernels::GemvConfig& b) {
    return implausibility(q, a, M, smCount) < implausibility(q, b, M, smCount);
  });

  // The default leads: it is what runs without tuning, so the tuner times it first and
  // checks every other config's output against it.
  kernels::GemvConfig fallback = defaultGemvConfig(q, M, gpu);
  fallback.blockM = blockM;
  std::vector<kernels::GemvConfig> space;
  if (passesValidation(q, fallback)) space.push_back(fallback);
  for (const kernels::GemvConfig& c : kept) {
    if (int(space.size()) >= kMaxGemvConfigs) break;
    if (!space.empty() && sameConfig(c, space.front())) continue;
    space.push_back(c);
  }
  if (space.empty())
    throw Error("no GEMV config can run key " + key.toString());
  return space;
}

}  // namespace uintx::kernels
