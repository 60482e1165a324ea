#include "runtime/cuda_driver.h"

#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <mutex>

#include "uintx/error.h"

namespace uintx::runtime {
namespace {

struct LoadedDriver {
  CudaDriverApi api;
  bool usable = false;      // loaded, every entry point found, cuInit succeeded
  std::string whyUnusable;  // the full "no CUDA driver: ..." message when not usable
};

std::string noDriverMessage(const std::string& reason) {
  return "no CUDA driver: " + reason + "; kernels can still be compiled to PTX but not launched";
}

// The error's name and text, or its number when no driver can name it.
std::string describeCudaError(const CudaDriverApi& api, CUresult result) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (api.cuGetErrorName && api.cuGetErrorName(result, &name) != CUDA_SUCCESS) name = nullptr;
  if (api.cuGetErrorString && api.cuGetErrorString(result, &text) != CUDA_SUCCESS) text = nullptr;
  std::string out = name ? std::string(name) + " (" + std::to_string(int(result)) + ")"
                         : "CUDA error " + std::to_string(int(result));
  if (text) {
    out += ": ";
    out += text;
  } else if (!api.cuGetErrorName) {
    out += " (no CUDA driver loaded to name it)";
  } else {
    out += " (unknown to this driver)";
  }
  return out;
}

// Loaded once per process; the handle is never closed because modules and buffers in
// static objects may still call into the driver while the process exits.
LoadedDriver loadDriver() {
  LoadedDriver loaded;
  const char* overridePath = std::getenv("UINTX_LIBCUDA");
  std::string path = (overridePath && *overridePath) ? overridePath : "libcuda.so.1";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    loaded.whyUnusable =
        noDriverMessage("dlopen(" + path + ") failed: " + (err ? err : "unknown reason"));
    return loaded;
  }
  std::string missing;
  auto resolve = [&](const char* name) -> void* {
    void* symbol = dlsym(handle, name);
    if (!symbol && std::string(name) == "cuEventElapsedTime_v2")
      symbol = dlsym(handle, "cuEventElapsedTime");  // drivers before CUDA 12.8
    // Optional (CUDA 12.0+): without it every launch keeps the stream's usual order.
    if (!symbol && std::string(name) == "cuLaunchKernelEx") return nullptr;
    if (!symbol && std::string(name) == "cuTensorMapEncodeTiled") return nullptr;  // runtime/tensor_map.cc
    if (!symbol) missing += std::string(missing.empty() ? "" : ", ") + name;
    return symbol;
  };
#define UINTX_RESOLVE(name) \
  loaded.api.name = reinterpret_cast<decltype(loaded.api.name)>(resolve(#name));
  UINTX_CUDA_DRIVER_ENTRIES(UINTX_RESOLVE)
#undef UINTX_RESOLVE
  if (!missing.empty()) {
    loaded.whyUnusable = noDriverMessage(path + " lacks " + missing +
                                         " (the driver is older than this runtime needs)");
    return loaded;
  }
  CUresult init = loaded.api.cuInit(0);
  if (init != CUDA_SUCCESS) {
    loaded.whyUnusable =
        noDriverMessage("cuInit failed: " + describeCudaError(loaded.api, init));
    return loaded;
  }
  loaded.usable = true;
  return loaded;
}

const LoadedDriver& loadedDriver() {
  static const LoadedDriver driver = loadDriver();  // thread-safe, first use only
  return driver;
}

int deviceOrdinalFromEnv(const CudaDriverApi& api) {
  const char* text = std::getenv("UINTX_DEVICE");
  int ordinal = 0;
  if (text && *text) {
    char* end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (*end != '\0' || value < 0 || value > 1 << 20)
      throw Error(std::string("UINTX_DEVICE='") + text +
                  "' is not a device ordinal: expected an integer >= 0");
    ordinal = int(value);
  }
  int count = 0;
  checkCuda(api.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (ordinal >= count)
    throw Error("CUDA device " + std::to_string(ordinal) + " (from UINTX_DEVICE) does not exist: " +
                    std::to_string(count) + " device(s) visible",
                ErrorKind::no_driver);
  return ordinal;
}

// Primary contexts are retained once per device and kept for the life of the process,
// like the CUDA runtime's.
CUcontext retainedPrimaryContext(const CudaDriverApi& api, int ordinal) {
  static std::mutex mutex;
  static std::map<int, CUcontext> contexts;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = contexts.find(ordinal);
  if (it != contexts.end()) return it->second;
  CUdevice device = 0;
  checkCuda(api.cuDeviceGet(&device, ordinal), "cuDeviceGet");
  CUcontext context = nullptr;
  checkCuda(api.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
  contexts[ordinal] = context;
  return context;
}

}  // namespace

bool cudaDriverAvailable(std::string* why) {
  const LoadedDriver& driver = loadedDriver();
  if (why) *why = driver.usable ? std::string() : driver.whyUnusable;
  return driver.usable;
}

const CudaDriverApi& cudaDriver() {
  const LoadedDriver& driver = loadedDriver();
  if (!driver.usable) throw Error(driver.whyUnusable, ErrorKind::no_driver);
  return driver.api;
}

void checkCuda(CUresult result, const char* call) {
  if (result == CUDA_SUCCESS) return;
  throw Error(std::string(call) + " failed: " + describeCudaError(loadedDriver().api, result), ErrorKind::cuda);
}

CUcontext ensureCudaContext() {
  const CudaDriverApi& api = cudaDriver();
  CUcontext context = nullptr;
  checkCuda(api.cuCtxGetCurrent(&context), "cuCtxGetCurrent");
  if (context) return context;
  context = retainedPrimaryContext(api, deviceOrdinalFromEnv(api));
  checkCuda(api.cuCtxSetCurrent(context), "cuCtxSetCurrent");
  return context;
}

CudaDeviceInfo currentCudaDevice() {
  const CudaDriverApi& api = cudaDriver();
  ensureCudaContext();
  CUdevice device = 0;
  checkCuda(api.cuCtxGetDevice(&device), "cuCtxGetDevice");
  CudaDeviceInfo info;
  info.ordinal = int(device);
  char name[256] = {};
  checkCuda(api.cuDeviceGetName(name, sizeof(name) - 1, device), "cuDeviceGetName");
  info.name = name;
  auto attribute = [&](CUdevice_attribute which, const char* what) {
    int value = 0;
    checkCuda(api.cuDeviceGetAttribute(&value, which, device), what);
    return value;
  };
  info.ccMajor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                           "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
  info.ccMinor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                           "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)");
  info.smCount = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                           "cuDeviceGetAttribute(MULTIPROCESSOR_COUNT)");
  info.maxSharedBytesPerBlockOptin =
      attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                "cuDeviceGetAttribute(MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)");
  return info;
}

ScopedCudaContext::ScopedCudaContext(CUcontext context) noexcept {
  const LoadedDriver& driver = loadedDriver();
  if (!context || !driver.usable) return;
  CUcontext current = nullptr;
  if (driver.api.cuCtxGetCurrent(&current) == CUDA_SUCCESS && current == context) return;
  pushed_ = driver.api.cuCtxPushCurrent_v2(context) == CUDA_SUCCESS;
}

ScopedCudaContext::~ScopedCudaContext() {
  if (!pushed_) return;
  CUcontext popped = nullptr;
  loadedDriver().api.cuCtxPopCurrent_v2(&popped);
}

}  // namespace uintx::runtime
