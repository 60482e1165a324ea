// Whether the CUDA driver can be loaded, checked without linking it (the runtime dlopens it).
#pragma once
#include <string>

#include "cache/cache_paths.h"

namespace uintx::autotune {

// dlopen()s $UINTX_CUDA_DRIVER_LIB (default "libcuda.so.1"); on failure returns false and
// sets *why to dlerror()'s text. The variable exists so tests can force the no-GPU path.
bool cudaDriverLoadable(std::string* why, const cache::EnvLookup& env = cache::processEnvironment());

}  // namespace uintx::autotune
