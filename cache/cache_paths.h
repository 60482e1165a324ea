// Where the caches live unless the caller says otherwise (docs/CACHE.md, "Environment").
#pragma once
#include <functional>
#include <optional>
#include <string>

namespace uintx::cache {

// Reads an environment variable; injectable so tests do not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup processEnvironment();

// A GPU model as a file-name part: lower-case [a-z0-9] runs joined by '-', at most 64
// characters, then "-sm" and the compute capability's digits:
// ("NVIDIA H100 80GB HBM3", "9.0") -> "nvidia-h100-80gb-hbm3-sm90".
std::string gpuFileLabel(const std::string& gpuName, const std::string& computeCapability);

// $UINTX_CONFIG_CACHE (one file the user chose), else
// $XDG_CACHE_HOME/uintx/configs-<gpuFileLabel>.json, else
// $HOME/.cache/uintx/configs-<gpuFileLabel>.json: one file per GPU model, so two models on
// one machine (or one home directory) never replace each other's entries.
std::string defaultConfigCachePath(const std::string& gpuName, const std::string& computeCapability,
                                   const EnvLookup& env = processEnvironment());

// $UINTX_KERNEL_CACHE_DIR, else $XDG_CACHE_HOME/uintx/kernels, else $HOME/.cache/uintx/kernels.
std::string defaultKernelCacheDir(const EnvLookup& env = processEnvironment());

}  // namespace uintx::cache
