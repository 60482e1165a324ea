// Where the caches live unless the caller says otherwise (docs/CACHE.md, "Environment").
#pragma once
#include <functional>
#include <optional>
#include <string>

namespace uintx::cache {

// Reads an environment variable; injectable so tests do not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup processEnvironment();

// $UINTX_CONFIG_CACHE, else $XDG_CACHE_HOME/uintx/configs.json,
// else $HOME/.cache/uintx/configs.json.
std::string defaultConfigCachePath(const EnvLookup& env = processEnvironment());

// $UINTX_KERNEL_CACHE_DIR, else $XDG_CACHE_HOME/uintx/kernels, else $HOME/.cache/uintx/kernels.
std::string defaultKernelCacheDir(const EnvLookup& env = processEnvironment());

}  // namespace uintx::cache
