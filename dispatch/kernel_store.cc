#include "dispatch/kernel_store.h"

#include "cache/gpu_tables.h"

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include "cache/cache_paths.h"
#include "cache/config_cache.h"
#include "cache/kernel_disk_cache.h"
#include "codegen/ptx_compiler.h"
#include "dispatch/stored_kernel.h"
#include "uintx/error.h"

namespace uintx {

namespace dispatch {
namespace {

struct State {
  std::mutex mutex;
  bool settingsSet = false;
  CacheSettings settings;
  std::unique_ptr<cache::ConfigCache> configs;
  std::map<std::string, std::shared_ptr<codegen::JitKernel>> kernels;  // by IR text
  std::set<std::string> reported;  // warnings given, each once
  KernelCacheStats stats;
};

State& state() {
  static State s;
  return s;
}

// Read on every linear() call: atomic, so the call takes no lock for it.
std::atomic<uint64_t> settingsGeneration{0};

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
}  // namespace dispatch

using dispatch::State;
using dispatch::state;
using dispatch::settingsLocked;

void setCacheSettings(const CacheSettings& settings) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.settings = settings;
  s.settingsSet = true;
  s.configs.reset();
  dispatch::settingsGeneration.fetch_add(1);
}

CacheSettings cacheSettings() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return settingsLocked(s);
}

namespace dispatch {

// With s.mutex held.
static void warnOnceLocked(State& s, const std::string& message) {
  if (s.reported.insert(message).second) std::fprintf(stderr, "uintx: warning: %s\n", message.c_str());
}

void warnOnce(const std::string& message) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  warnOnceLocked(s, message);
}

std::optional<cache::KernelConfig> tunedConfig(const cache::KernelKey& key, const std::string& gpu,
                                                        const std::string& cc, const ConfigCheck& check) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto usable = [&](const cache::KernelConfig& config, const std::string& source) {
    std::string why = check(config);
    if (why.empty()) return true;
    warnOnceLocked(s, source + ": the config for " + key.toString() + " cannot run (" + why + "); passed over");
    return false;
  };
  if (cache::ConfigCache* cache = configsLocked(s, gpu, cc))
    if (auto config = cache->lookup(key); config && usable(*config, "the config cache " + cache->path()))
      return config;
  if (const cache::ShippedTable* table = cache::shippedTableFor(gpu, cc)) {
    auto it = table->entries.find(key.toString());
    if (it != table->entries.end() && usable(it->second.config, "the shipped table for " + gpu))
      return it->second.config;
  }
  return std::nullopt;
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
      if (auto k = parseStoredKernel(*text, program.name, program.numThreads())) {
        kernel = std::make_shared<codegen::JitKernel>(std::move(*k), program.params);
        fromDisk = true;
      }
    }
    if (!kernel) {
      kernel = codegen::JitKernel::compile(program, options);
      disk.store(key, storedKernelText(kernel->ptx()));
    }
  } else {
    kernel = codegen::JitKernel::compile(program, options);
  }
  std::lock_guard<std::mutex> lock(s.mutex);
  (fromDisk ? s.stats.diskHits : s.stats.compiles)++;
  return s.kernels.emplace(ir, kernel).first->second;
}

uint64_t cacheSettingsGeneration() { return settingsGeneration.load(); }

KernelCacheStats kernelCacheStats() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.stats;
}

}  // namespace dispatch
}  // namespace uintx
