#include "dispatch/kernel_selection.h"

#include <cstdio>
#include <map>
#include <mutex>

#include "cache/cache_paths.h"
#include "cache/config_cache.h"
#include "cache/kernel_disk_cache.h"
#include "codegen/layout.h"
#include "codegen/ptx_compiler.h"
#include "kernels/common/quant_spec.h"
#include "uintx/error.h"

namespace uintx {

namespace {

struct State {
  std::mutex mutex;
  bool settingsSet = false;
  CacheSettings settings;
  std::unique_ptr<cache::ConfigCache> configs;
  std::map<std::string, std::shared_ptr<codegen::JitKernel>> kernels;  // by IR text
  KernelCacheStats stats;
};

State& state() {
  static State s;
  return s;
}

CacheSettings settingsLocked(State& s) {
  if (!s.settingsSet) {
    const char* cfg = std::getenv("UINTX_CONFIG_CACHE");
    s.settings.configCachePath = cfg ? cfg : "";
    s.settings.kernelsDir = cache::defaultKernelCacheDir();
    s.settingsSet = true;
  }
  return s.settings;
}

cache::ConfigCache* configsLocked(State& s, const std::string& gpu, const std::string& cc) {
  CacheSettings settings = settingsLocked(s);
  if (settings.configCachePath.empty()) return nullptr;
  if (!s.configs || s.configs->path() != settings.configCachePath || s.configs->gpu().name != gpu)
    s.configs = std::make_unique<cache::ConfigCache>(settings.configCachePath, gpu, cc);
  return s.configs.get();
}

}  // namespace

void setCacheSettings(const CacheSettings& settings) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.settings = settings;
  s.settingsSet = true;
  s.configs.reset();
}

CacheSettings cacheSettings() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return settingsLocked(s);
}

static int64_t gemmMinM() {
  static const int64_t v = [] {
    const char* e = std::getenv("UINTX_GEMM_MIN_M");
    return e && std::atoll(e) > 0 ? std::atoll(e) : 3;
  }();
  return v;
}

std::string kernelFamily(const kernels::QuantSpec& q, int64_t M, bool int8) {
  if (int8) return "gemm_int8";
  if (M < gemmMinM()) return "gemv";
  return kernels::gemmSupports(q, defaultGemmConfig(q, M, false, 0), false) ? "gemm" : "gemv_tiled";
}

cache::KernelKey kernelKey(const WeightFormat& f, const std::string& act, int64_t M, bool int8) {
  cache::KernelKey k;
  k.family = kernelFamily(quantSpecOf(f), M, int8);
  k.bit_width = f.bit_width;
  k.group_size = f.group_size;
  k.packing_bitwidth = f.packing_bitwidth;
  k.act_dtype = act;
  k.out_dtype = act;
  k.N = f.N;
  k.K = f.K;
  k.m_bucket = cache::KernelKey::mBucket(M);
  return k;
}

kernels::GemvConfig defaultGemvConfig(const kernels::QuantSpec& q, int64_t M, int smCount) {
  kernels::GemvConfig c;
  c.blockM = M <= 1 ? 1 : M <= 2 ? 2 : M <= 4 ? 4 : M <= 8 ? 8 : 16;
  c.stages = c.blockM <= 4 ? 2 : 1;  // more rows would spill the double buffer
  // From uintx-tune on the H100 (docs/PERFORMANCE.md): the longest K step, 16 rows per
  // program, and 8 warps (shorter segments per thread) when N gives few programs.
  c.blockN = 16;
  c.blockK = 1024;
  c.numWarps = q.N / 16 < 4 * smCount ? 8 : 4;
  if (c.blockM > 2) c.blockK = 256;  // rows reduce per step: bound registers
  // The largest blockK that keeps the whole-word path (K divisible), else 64.
  while (c.blockK > 64 && !kernels::usesWordPath(q, c)) c.blockK /= 2;
  if (!kernels::usesWordPath(q, c)) c.blockK = 64;
  // Every thread fills at least one vector load per step (else threads duplicate work).
  while (c.numWarps > 1 && kernels::gemvElementsPerThread(c) < kernels::gemvVectorWidth(q, c)) c.numWarps /= 2;
  // Enough programs to keep every SM busy with several CTAs: split K when N is narrow.
  int64_t programs = (q.N + c.blockN - 1) / c.blockN * ((M + c.blockM - 1) / c.blockM);
  while (programs * c.splitK < 2 * smCount && c.splitK < 8) {
    kernels::GemvConfig next = c;
    next.splitK *= 2;
    if (!kernels::usesWordPath(q, next) || q.K / (int64_t(next.blockK) * next.splitK) < 4) break;
    c = next;
  }
  // Up to 4-bit weights, 8 warps on long rows, unsplit: 32-row programs, so that each thread's
  // activation segment serves 4 weight rows, while they still give 1.5 programs per SM
  // (8192x8192 W4 at M = 1: 19.3 us graph-timed, 22.4 per call, against 21.0 / 23.5 with 16
  // rows; 8-bit weights measured slower per call, 29.5 against 28.2 us; 4096x4096, with
  // programs half as long, stays at 16).
  if (q.bits <= 4 && c.numWarps == 8 && c.blockM == 1 && c.splitK == 1 && q.K >= 8192 &&
      q.N / 32 * 2 >= 3 * int64_t(smCount))
    c.blockN = 32;
  return c;
}

kernels::GemmConfig defaultGemmConfig(const kernels::QuantSpec& q, int64_t M, bool int8, int smCount) {
  // From the H100 (docs/PERFORMANCE.md): large M wants 256x128 (weight-only, M >= 256) or
  // 128x256 (int8, or weight-only M of 128-255) tiles on 8 warps (wgmma: 32 or 16 rows per warp,
  // 128-byte k rows) with 4 (256x128, int8) or 2 (128x256 weight-only) shared-memory stages;
  // small M streams the weights, so 16-row tiles 128 wide (128 deep: the dot takes the
  // weights from registers, see codegen/layout.h, mmaRegisterOperandParams), and split-K
  // (targets below).
  kernels::GemmConfig c;
  if (!int8 && M >= 256) {
    // Weight-only: 256x128, two m64 wgmma blocks per warpgroup, so that each dequantized
    // weight serves 256 rows (8192x8192 at M = 4096: 1727 us with 128x256 and 2 stages, 1332
    // with 256x128 and 4). Too few programs for the SMs are split along K below, rather than
    // cut into smaller tiles that dequantize every weight again per row block (M = 256,
    // graph-timed: 8192x8192 102.9 us split 2 against 153-187 with 128-row tiles; 4096x4096
    // 35.1 split 4 against 41-67).
    c.blockM = 256, c.blockN = 128, c.blockK = 64, c.numWarps = 8, c.stages = 4;
  } else if (M >= 128) {
    c.blockM = 128, c.blockN = 256, c.blockK = int8 ? 128 : 64, c.numWarps = 8, c.stages = int8 ? 4 : 2;
    if ((q.N + 255) / 256 * ((M + 127) / 128) < smCount) c.blockN = 128;  // too few programs for the SMs
  } else {
    c.blockM = M <= 16 ? 16 : 64, c.blockN = 128, c.blockK = M <= 16 ? 128 : 64, c.numWarps = 4, c.stages = 3;
  }
  if (int8 && M < 128) {  // narrower, deeper tiles: the int8 operands are half as wide in bytes
    c.blockN = 64, c.blockK = 128;
  }
  if (int8 && !q.symmetric) {  // one group per k step; the smaller tile keeps the staging in shared memory
    c.blockK = int(q.groupSize), c.stages = 1;
    if (q.groupSize > 128) c.blockM = std::min(c.blockM, 64), c.blockN = 64;
  }
  while (!int8 && c.blockK > 32 && !kernels::gemmSupports(q, c, false)) c.blockK /= 2;  // K or the group size is not a multiple
  // 128x256 is for wgmma (no fragments in registers); mma.sync, and the 4-bit int8 GEMM's
  // second accumulator, would spill.
  if (!codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, int8 ? 1 : 2) || (int8 && !q.symmetric))
    c.blockN = std::min(c.blockN, 128);
  // Split-K target: 16-row tiles keep few registers and no weights in shared memory, and want
  // several programs per SM to hide their latency (28672x8192 at M = 16: 134 / 106 / 96 us with
  // 1.7 / 3.4 / 6.8 programs per SM), but not past a split of 4, where the partial sums'
  // traffic costs more than the programs gain (8192x8192: 35.3 us split 4, 37.1 split 8).
  // 64-row tiles are content with about 1.5 programs per SM, and so is the int8 GEMM, whose
  // 16-row tiles already stream at 2.0-2.3 TB/s unsplit on wide layers (28672x8192 at M = 16:
  // 102.7 us unsplit, 123.2 split 2; 4096x4096: 21.2 unsplit, 19.7 split 4).
  // 256-row tiles (one CTA per SM) split only while every program still has an SM of its own:
  // 8192x8192 at M = 256, 102.9 us split 2 (128 programs), 111.0 split 4. Tiles of 128 rows
  // (M 128-255) do not split.
  int64_t programs = (q.N + c.blockN - 1) / c.blockN * ((M + c.blockM - 1) / c.blockM);
  int64_t target = c.blockM <= 16 && !int8 ? 6 * int64_t(smCount) : 3 * int64_t(smCount) / 2;
  int maxSplit = c.blockM <= 16 ? 4 : 8;
  auto wantsSplit = [&](int split) {
    if (c.blockM == 256) return programs * split <= smCount;
    return M < 128 && programs * c.splitK < target;
  };
  for (int split = 2; split <= maxSplit && wantsSplit(split); split *= 2) {
    kernels::GemmConfig t = c;
    t.splitK = split;
    if (!kernels::gemmSupports(q, t, int8)) break;
    c = t;
  }
  return c;
}

// The cache's parameter names of each config field: one table per config type serves both
// directions.
template <typename Config>
using ConfigFields = std::vector<std::pair<const char*, int Config::*>>;

static const ConfigFields<kernels::GemmConfig> kGemmFields = {
    {"BLOCK_M", &kernels::GemmConfig::blockM},      {"BLOCK_N", &kernels::GemmConfig::blockN},
    {"BLOCK_K", &kernels::GemmConfig::blockK},      {"num_warps", &kernels::GemmConfig::numWarps},
    {"num_stages", &kernels::GemmConfig::stages},   {"split_k", &kernels::GemmConfig::splitK}};
static const ConfigFields<kernels::GemvConfig> kGemvFields = {
    {"BLOCK_N", &kernels::GemvConfig::blockN},      {"BLOCK_K", &kernels::GemvConfig::blockK},
    {"BLOCK_M", &kernels::GemvConfig::blockM},      {"num_warps", &kernels::GemvConfig::numWarps},
    {"split_k", &kernels::GemvConfig::splitK},      {"num_stages", &kernels::GemvConfig::stages}};

// Entries written before a field existed load with its default (e.g. split_k = 1).
template <typename Config>
static Config fromParams(const cache::KernelConfig& k, const ConfigFields<Config>& fields) {
  Config c;  // fields the cache does not name keep their defaults
  for (const auto& [name, field] : fields) {
    auto it = k.params.find(name);
    if (it != k.params.end()) c.*field = it->second;
  }
  return c;
}

template <typename Config>
static cache::KernelConfig toParams(const Config& c, const ConfigFields<Config>& fields) {
  cache::KernelConfig k;
  for (const auto& [name, field] : fields) k.params[name] = c.*field;
  return k;
}

kernels::GemmConfig gemmConfigFrom(const cache::KernelConfig& k) { return fromParams(k, kGemmFields); }
cache::KernelConfig toKernelConfig(const kernels::GemmConfig& c) { return toParams(c, kGemmFields); }
kernels::GemvConfig gemvConfigFrom(const cache::KernelConfig& k) { return fromParams(k, kGemvFields); }
cache::KernelConfig toKernelConfig(const kernels::GemvConfig& c) { return toParams(c, kGemvFields); }

std::optional<cache::KernelConfig> tunedConfig(const cache::KernelKey& key, const std::string& gpu,
                                                        const std::string& cc) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  cache::ConfigCache* cache = configsLocked(s, gpu, cc);
  if (!cache) return std::nullopt;
  return cache->lookup(key);
}

std::shared_ptr<codegen::JitKernel> compiledKernel(const dsl::KernelProgram& program) {
  State& s = state();
  std::string ir = program.irText();
  CacheSettings settings;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.kernels.find(ir);
    if (it != s.kernels.end()) {
      s.stats.memoryHits++;
      return it->second;
    }
    settings = settingsLocked(s);
  }
  // Compile (or read) outside the lock: other threads keep launching cached kernels.
  codegen::PtxOptions options;
  std::shared_ptr<codegen::JitKernel> kernel;
  bool fromDisk = false;
  if (!settings.kernelsDir.empty()) {
    cache::KernelDiskCache disk(settings.kernelsDir, codegen::compilerVersion());
    std::string key = cache::KernelDiskCache::makeKey(ir, codegen::compilerVersion(), options.chip);
    if (auto text = disk.load(key)) {
      // Stored as: "numThreads sharedBytes", newline, PTX.
      size_t nl = text->find('\n');
      codegen::PtxKernel k;
      if (nl != std::string::npos && std::sscanf(text->c_str(), "%d %d", &k.numThreads, &k.sharedBytes) == 2) {
        k.name = program.name;
        k.ptx = text->substr(nl + 1);
        if (k.numThreads > 0 && k.sharedBytes >= 0) {
          kernel = std::make_shared<codegen::JitKernel>(std::move(k), program.params);
          fromDisk = true;
        }
      }
    }
    if (!kernel) {
      kernel = codegen::JitKernel::compile(program, options);
      disk.store(key, std::to_string(kernel->ptx().numThreads) + " " + std::to_string(kernel->ptx().sharedBytes) +
                          "\n" + kernel->ptx().ptx);
    }
  } else {
    kernel = codegen::JitKernel::compile(program, options);
  }
  std::lock_guard<std::mutex> lock(s.mutex);
  (fromDisk ? s.stats.diskHits : s.stats.compiles)++;
  return s.kernels.emplace(ir, kernel).first->second;
}

KernelCacheStats kernelCacheStats() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.stats;
}

}  // namespace uintx
