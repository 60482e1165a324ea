// uintx::linear: validates a call, finds (or builds) the plan for its key, launches it.
#include <map>
#include <mutex>

#include "cache/gpu_tables.h"
#include "dispatch/call_key.h"
#include "dispatch/kernel_store.h"
#include "dispatch/row_split.h"
#include "dispatch/workspace_pool.h"
#include "kernels/families.h"
#include "runtime/cuda_driver.h"
#include "uintx/error.h"
#include "uintx/uintx.h"

namespace uintx {

namespace {

struct Device {
  std::string name, cc;
  cache::GpuModel model;  // from the GPU's shipped table, else generic
};

std::mutex planMutex;
std::map<std::string, std::shared_ptr<const kernels::KernelPlan>> plans;
// The cache settings' generation the plans were made under: a setCacheSettings call after a
// shape's first call must reach that shape too (its plan kept the old config source's config).
uint64_t plansGeneration = 0;
std::map<CUcontext, Device> devices;

const Device& deviceOf(CUcontext ctx) {
  auto it = devices.find(ctx);
  if (it != devices.end()) return it->second;
  runtime::CudaDeviceInfo info = runtime::currentCudaDevice();
  std::string cc = std::to_string(info.ccMajor) + "." + std::to_string(info.ccMinor);
  Device d{info.name, cc, cache::gpuModelFor(info.name, cc, info.smCount)};
  return devices.emplace(ctx, d).first->second;
}

// `message` is built only when the check fails: a valid call builds no strings here.
template <typename Message>
void check(bool ok, Message message) {
  if (!ok) throw Error("uintx::linear: " + std::string(message()));
}

// Configs are made for the M bucket, as the tuner makes them, so that every M of a bucket gets
// the same plan whichever came first.
std::shared_ptr<const kernels::KernelPlan> makePlan(const cache::KernelKey& key, const WeightFormat& f,
                                                    ScalarType act, ScalarType out, bool bias, const Device& device) {
  kernels::QuantSpec q = kernels::quantSpecOf(f);
  auto tuned = dispatch::tunedConfig(key, device.name, device.cc, [&](const cache::KernelConfig& c) {
    return kernels::configError(key.family, q, c);
  });
  auto build = [&](const cache::KernelConfig& config) {
    return kernels::makePlan(key.family, q, kernels::dslType(act), kernels::dslType(out), bias, config,
                             dispatch::compiledKernel);
  };
  // A tuned config passed the check but may still not compile (its tiles need more shared
  // memory than the GPU has, say: a hand-edited file): reported once, and the default runs.
  if (tuned) {
    try {
      return build(*tuned);
    } catch (const Error& e) {
      dispatch::warnOnce("the tuned config for " + key.toString() + " failed to build (" + e.what() +
                         "); the default config runs instead");
    }
  }
  try {
    return build(kernels::defaultConfig(key.family, q, key.m_bucket, device.model));
  } catch (const Error& e) {
    throw Error("uintx::linear: " + std::string(e.what()));
  }
}

bool overlaps(const void* a, size_t aBytes, const void* b, size_t bBytes) {
  uintptr_t a0 = uintptr_t(a), b0 = uintptr_t(b);
  return a0 < b0 + bBytes && b0 < a0 + aBytes;
}

}  // namespace

void linear(const DeviceMatrix& x, const DeviceWeight& w, const DeviceMatrix& y, CUstream stream,
            const LinearOptions& options) {
  const WeightFormat& f = w.format();
  check(x.dtype == ScalarType::bf16 || x.dtype == ScalarType::f16,
        [&] { return std::string("x must be bf16 or fp16, got ") + scalarTypeName(x.dtype); });
  check(y.dtype == x.dtype || y.dtype == ScalarType::f32, [&] {
    return std::string("y's dtype ") + scalarTypeName(y.dtype) + " must be x's (" + scalarTypeName(x.dtype) +
           ") or f32";
  });
  check(x.data && y.data, [] { return "null pointer for x or y"; });
  check(x.rows >= 1, [&] { return "x must have at least one row, got " + std::to_string(x.rows); });
  check(x.cols == f.K, [&] {
    return "x has " + std::to_string(x.cols) + " columns but the weight has K = " + std::to_string(f.K);
  });
  check(y.rows == x.rows && y.cols == f.N, [&] {
    return "y must be [" + std::to_string(x.rows) + ", " + std::to_string(f.N) + "], got [" +
           std::to_string(y.rows) + ", " + std::to_string(y.cols) + "]";
  });
  check(uintptr_t(x.data) % 16 == 0 && uintptr_t(y.data) % 16 == 0, [] { return "x and y must be 16-byte aligned"; });
  check(x.rows <= (int64_t(1) << 31) / std::max<int64_t>(f.K, f.N), [] { return "M too large for 32-bit indexing"; });
  const size_t xBytes = size_t(x.rows) * size_t(x.cols) * 2;
  const size_t yBytes = size_t(y.rows) * size_t(y.cols) * (y.dtype == ScalarType::f32 ? 4 : 2);
  check(!overlaps(x.data, xBytes, y.data, yBytes), [] { return "y overlaps x: the output needs its own memory"; });
  CUcontext ctx = runtime::ensureCudaContext();
  check(ctx == w.context(), [] { return "the weight was uploaded in another CUDA context than the current one"; });

  const int64_t M = x.rows;
  // The plan is found by the tuning key plus what else its programs depend on: the bias and
  // the dtype of scales, zeros and bias (not part of the tuning key: configs are shared).
  cache::KernelKey key = dispatch::callKey(f, x.dtype, M, options.int8Activations);
  if (y.dtype == ScalarType::f32) key.out_dtype = "f32";
  const std::string planKey =
      key.toString() + ";scales=" + scalarTypeName(f.scale_dtype) + (w.hasBias() ? ";bias" : "");
  std::shared_ptr<const kernels::KernelPlan> plan;
  const Device* device = nullptr;  // map nodes are never erased: the pointer stays valid
  const uint64_t generation = dispatch::cacheSettingsGeneration();
  {
    std::lock_guard<std::mutex> lock(planMutex);
    if (generation > plansGeneration) plans.clear(), plansGeneration = generation;
    device = &deviceOf(ctx);
    auto it = plans.find(planKey);
    if (it != plans.end()) plan = it->second;
  }
  if (!plan) {
    auto p = makePlan(key, f, x.dtype, y.dtype, w.hasBias(), *device);
    std::lock_guard<std::mutex> lock(planMutex);
    // A plan begun under older settings serves this call but is not kept.
    plan = generation == plansGeneration ? plans.emplace(planKey, p).first->second : p;
  }

  // A few rows past the last whole row block of large tiles run as a call of their own.
  if (const int64_t rest = dispatch::separateTailRows(M, plan->rowsPerProgram(), key.family)) {
    const int64_t head = M - rest;
    const size_t ySize = y.dtype == ScalarType::f32 ? 4 : 2;
    linear(DeviceMatrix{x.data, head, x.cols, x.dtype}, w, DeviceMatrix{y.data, head, y.cols, y.dtype}, stream, options);
    linear(DeviceMatrix{static_cast<const char*>(x.data) + size_t(head) * size_t(x.cols) * 2, rest, x.cols, x.dtype}, w,
           DeviceMatrix{static_cast<const char*>(y.data) + size_t(head) * size_t(y.cols) * ySize, rest, y.cols, y.dtype},
           stream, options);
    return;
  }

  kernels::LinearCall call;
  call.x = CUdeviceptr(uintptr_t(x.data));
  call.y = CUdeviceptr(uintptr_t(y.data));
  call.packed = w.packed();
  call.scales = w.scales();
  call.zeros = w.zeros();
  call.bias = w.bias();
  call.M = M;
  const size_t workspaceBytes = plan->workspaceBytes(M);
  if (workspaceBytes == 0) {
    plan->launch(call, stream);
    return;
  }
  // Held until the kernels are enqueued: another thread on this stream waits for it.
  dispatch::WorkspacePool::Lease workspace = dispatch::workspacePool().acquire(ctx, stream, workspaceBytes);
  call.workspace = workspace.get();
  plan->launch(call, stream);
}

}  // namespace uintx
