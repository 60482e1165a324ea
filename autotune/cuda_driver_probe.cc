#include "autotune/cuda_driver_probe.h"

#include <dlfcn.h>

namespace uintx::autotune {

bool cudaDriverLoadable(std::string* why, const cache::EnvLookup& env) {
  std::string library = "libcuda.so.1";
  if (auto name = env("UINTX_CUDA_DRIVER_LIB"); name && !name->empty()) library = *name;
  void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* error = ::dlerror();
    if (why) *why = "dlopen(\"" + library + "\") failed: " + (error ? error : "unknown error");
    return false;
  }
  ::dlclose(handle);
  return true;
}

}  // namespace uintx::autotune
