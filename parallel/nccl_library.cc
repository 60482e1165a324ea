#include "parallel/nccl_library.h"

#include <dlfcn.h>
#include <glob.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "uintx/error.h"

namespace uintx::parallel {
namespace {

struct LoadedNccl {
  NcclApi api;
  bool usable = false;
  std::string path;         // the file that loaded
  std::string whyUnusable;  // full message when not usable
};

// libnccl.so.2 inside the nvidia-nccl-cu13 wheel, wherever pip put it.
std::vector<std::string> pipCandidates() {
  std::vector<std::string> patterns = {
      "/usr/local/lib/python3*/dist-packages/nvidia/nccl/lib/libnccl.so.2",
      "/usr/local/lib/python3*/site-packages/nvidia/nccl/lib/libnccl.so.2",
      "/usr/lib/python3*/dist-packages/nvidia/nccl/lib/libnccl.so.2",
      "/usr/lib/python3*/site-packages/nvidia/nccl/lib/libnccl.so.2",
      "/usr/lib/python3/dist-packages/nvidia/nccl/lib/libnccl.so.2",
      "/opt/conda/lib/python3*/site-packages/nvidia/nccl/lib/libnccl.so.2",
  };
  for (const char* var : {"VIRTUAL_ENV", "CONDA_PREFIX"})
    if (const char* root = std::getenv(var); root && *root)
      patterns.push_back(std::string(root) + "/lib/python3*/site-packages/nvidia/nccl/lib/libnccl.so.2");
  if (const char* home = std::getenv("HOME"); home && *home)
    patterns.push_back(std::string(home) + "/.local/lib/python3*/site-packages/nvidia/nccl/lib/libnccl.so.2");
  std::vector<std::string> found;
  for (const std::string& pattern : patterns) {
    glob_t g{};
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) found.push_back(g.gl_pathv[i]);
    globfree(&g);
  }
  return found;
}

// Loaded once per process; the handle is never closed (communicators may be destroyed by
// static objects while the process exits).
LoadedNccl loadNccl() {
  disableNvlinkMulticast();  // before NCCL's own initialization reads its environment
  LoadedNccl loaded;
  const char* overridePath = std::getenv("UINTX_LIBNCCL");
  std::vector<std::string> candidates;
  if (overridePath && *overridePath) {
    candidates.push_back(overridePath);
  } else {
    candidates.push_back("libnccl.so.2");
    for (std::string& p : pipCandidates()) candidates.push_back(std::move(p));
  }
  std::string tried;
  void* handle = nullptr;
  for (const std::string& path : candidates) {
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) {
      loaded.path = path;
      break;
    }
    const char* err = dlerror();
    tried += "\n  " + path + ": " + (err ? err : "dlopen failed");
  }
  if (!handle) {
    loaded.whyUnusable =
        "NCCL is not available: libnccl.so.2 could not be loaded from " +
        std::string(overridePath && *overridePath ? "$UINTX_LIBNCCL" : "the loader path or a pip nvidia-nccl-cu13 package") +
        "; tried:" + tried +
        "\nSet UINTX_LIBNCCL to the path of libnccl.so.2 (pip install nvidia-nccl-cu13 ships one under "
        "site-packages/nvidia/nccl/lib/). Tensor-parallel layers need it; one-GPU code does not.";
    return loaded;
  }
  std::string missing;
  auto resolve = [&](const char* name, bool required) -> void* {
    void* symbol = dlsym(handle, name);
    if (!symbol && required) missing += std::string(missing.empty() ? "" : ", ") + name;
    return symbol;
  };
#define UINTX_NCCL_RESOLVE(name) \
  loaded.api.name = reinterpret_cast<decltype(loaded.api.name)>(resolve(#name, true));
  UINTX_NCCL_ENTRIES(UINTX_NCCL_RESOLVE)
#undef UINTX_NCCL_RESOLVE
  loaded.api.ncclGetLastError = reinterpret_cast<decltype(loaded.api.ncclGetLastError)>(resolve("ncclGetLastError", false));
  if (!missing.empty()) {
    loaded.whyUnusable = "NCCL is not available: " + loaded.path + " lacks " + missing +
                         " (not an NCCL 2.x library, or too old: bf16 needs NCCL >= 2.10)";
    return loaded;
  }
  loaded.usable = true;
  return loaded;
}

const LoadedNccl& loadedNccl() {
  static const LoadedNccl loaded = loadNccl();  // thread-safe, first use only
  return loaded;
}

}  // namespace

void disableNvlinkMulticast() {
  const char* value = std::getenv("NCCL_NVLS_ENABLE");
  if (value && std::strcmp(value, "0") == 0) return;  // avoid setenv (not thread-safe) when already set
  setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/1);
}

bool ncclAvailable(std::string* why) {
  const LoadedNccl& loaded = loadedNccl();
  if (why) *why = loaded.usable ? std::string() : loaded.whyUnusable;
  return loaded.usable;
}

const NcclApi& nccl() {
  const LoadedNccl& loaded = loadedNccl();
  if (!loaded.usable) throw Error(loaded.whyUnusable);
  return loaded.api;
}

std::string ncclLibraryPath() { return loadedNccl().path; }

std::string ncclVersionString() {
  int v = 0;
  checkNccl(nccl().ncclGetVersion(&v), "ncclGetVersion");
  // Encoding since NCCL 2.9: major * 10000 + minor * 100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

void checkNccl(ncclResult_t result, const char* call, ncclComm_t comm) {
  if (result == ncclSuccess) return;
  const LoadedNccl& loaded = loadedNccl();
  std::string message = std::string(call) + " failed: NCCL error " + std::to_string(int(result));
  if (loaded.api.ncclGetErrorString) message += std::string(" (") + loaded.api.ncclGetErrorString(result) + ")";
  if (loaded.api.ncclGetLastError) {
    const char* last = loaded.api.ncclGetLastError(comm);
    if (last && *last) message += ": " + std::string(last);
  }
  throw Error(message);
}

}  // namespace uintx::parallel
