// A family's typed config <-> the cache's form (cache::KernelConfig, named integers), from one
// table of (cache name, field) per config type, so both directions always agree.
#pragma once

#include <utility>
#include <vector>

#include "cache/kernel_key.h"

namespace uintx::kernels {

template <typename Config>
using ConfigFields = std::vector<std::pair<const char*, int Config::*>>;

// Fields the cache does not name keep their defaults (entries written before a field existed).
template <typename Config>
Config configFromFields(const cache::KernelConfig& k, const ConfigFields<Config>& fields) {
  Config c;
  for (const auto& [name, field] : fields) {
    auto it = k.params.find(name);
    if (it != k.params.end()) c.*field = it->second;
  }
  return c;
}

template <typename Config>
cache::KernelConfig configToFields(const Config& c, const ConfigFields<Config>& fields) {
  cache::KernelConfig k;
  for (const auto& [name, field] : fields) k.params[name] = c.*field;
  return k;
}

}  // namespace uintx::kernels
