// Where tuned configs and compiled kernels are cached: uintx::cacheSettings from C.
#include "capi/call_guard.h"
#include "capi/handles.h"

using uintx::capi::callGuarded;
using uintx::capi::required;
using uintx::capi::threadString;

extern "C" uintx_status uintx_cache_settings_get(const char** config_cache_path, const char** kernels_dir) {
  return callGuarded("uintx_cache_settings_get", UINTX_ERROR_INTERNAL, [&] {
    required(config_cache_path, "config_cache_path");
    required(kernels_dir, "kernels_dir");
    uintx::CacheSettings s = uintx::cacheSettings();
    threadString(0) = s.configCachePath;
    threadString(1) = s.kernelsDir;
    *config_cache_path = threadString(0).c_str();
    *kernels_dir = threadString(1).c_str();
  });
}

// Not atomic with other setters: a NULL keeps the value read just before.
extern "C" uintx_status uintx_cache_settings_set(const char* config_cache_path, const char* kernels_dir) {
  return callGuarded("uintx_cache_settings_set", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    uintx::CacheSettings s = uintx::cacheSettings();
    if (config_cache_path) s.configCachePath = config_cache_path;
    if (kernels_dir) s.kernelsDir = kernels_dir;
    uintx::setCacheSettings(s);
  });
}
