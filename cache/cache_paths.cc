#include "cache/cache_paths.h"

#include <cstdlib>
#include <pwd.h>
#include <unistd.h>

#include "uintx/error.h"

namespace uintx::cache {
namespace {

std::optional<std::string> nonEmpty(const EnvLookup& env, const std::string& name) {
  auto value = env(name);
  if (value && !value->empty()) return value;
  return std::nullopt;
}

// The XDG base directory spec says a relative $XDG_CACHE_HOME is invalid and ignored.
std::string cacheRoot(const EnvLookup& env) {
  if (auto xdg = nonEmpty(env, "XDG_CACHE_HOME"); xdg && (*xdg)[0] == '/') return *xdg + "/uintx";
  std::optional<std::string> home = nonEmpty(env, "HOME");
  if (!home) {
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) home = std::string(pw->pw_dir);
  }
  if (!home)
    throw Error("no cache location: set UINTX_CONFIG_CACHE / UINTX_KERNEL_CACHE_DIR, "
                "XDG_CACHE_HOME or HOME");
  return *home + "/.cache/uintx";
}

}  // namespace

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

std::string gpuFileLabel(const std::string& gpuName, const std::string& computeCapability) {
  constexpr size_t kMaxNameChars = 64;
  std::string label;
  bool pendingDash = false;
  for (char c : gpuName) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) {
      pendingDash = !label.empty();
      continue;
    }
    if (label.size() + (pendingDash ? 2 : 1) > kMaxNameChars) break;
    if (pendingDash) label += '-';
    pendingDash = false;
    label += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  }
  if (label.empty()) label = "gpu";
  label += "-sm";
  for (char c : computeCapability)
    if (c >= '0' && c <= '9' && label.size() < kMaxNameChars + 8) label += c;
  return label;
}

std::string defaultConfigCachePath(const std::string& gpuName, const std::string& computeCapability,
                                   const EnvLookup& env) {
  if (auto path = nonEmpty(env, "UINTX_CONFIG_CACHE")) return *path;
  return cacheRoot(env) + "/configs-" + gpuFileLabel(gpuName, computeCapability) + ".json";
}

std::string defaultKernelCacheDir(const EnvLookup& env) {
  if (auto dir = nonEmpty(env, "UINTX_KERNEL_CACHE_DIR")) return *dir;
  return cacheRoot(env) + "/kernels";
}

}  // namespace uintx::cache
