// uintx::linear: validates a call, finds (or builds) the plan for its key, launches it.
#include <map>
#include <mutex>

#include "codegen/runtime/cuda_driver.h"
#include "codegen/runtime/device_buffer.h"
#include "kernels/gemv.h"
#include "packing/kernel_spec.h"
#include "uintx/error.h"
#include "uintx/uintx.h"

namespace uintx {

namespace {

// Everything one (format, M bucket, dtype, bias) needs at launch time.
struct Plan {
  kernels::GemvConfig config;
  std::shared_ptr<codegen::JitKernel> gemv, reduce;
};

struct Device {
  std::string name, cc;
  int smCount = 132;
};

std::mutex planMutex;
std::map<std::string, std::shared_ptr<const Plan>> plans;
std::map<CUcontext, Device> devices;
// Split-K partial sums, per (context, stream): calls on one stream are ordered, so they can
// share one buffer; calls on different streams must not.
std::map<std::pair<CUcontext, CUstream>, DeviceBuffer> workspaces;

const Device& deviceOf(CUcontext ctx) {
  auto it = devices.find(ctx);
  if (it != devices.end()) return it->second;
  CudaDeviceInfo info = currentCudaDevice();
  Device d{info.name, std::to_string(info.ccMajor) + "." + std::to_string(info.ccMinor), info.smCount};
  return devices.emplace(ctx, d).first->second;
}

void check(bool ok, const std::string& message) {
  if (!ok) throw Error("uintx::linear: " + message);
}

const char* actName(ScalarType t) { return t == ScalarType::bf16 ? "bf16" : "fp16"; }

}  // namespace

void linear(const DeviceMatrix& x, const DeviceWeight& w, const DeviceMatrix& y, CUstream stream) {
  const WeightFormat& f = w.format();
  check(x.dtype == ScalarType::bf16 || x.dtype == ScalarType::f16,
        std::string("x must be bf16 or fp16, got ") + scalarTypeName(x.dtype));
  check(y.dtype == x.dtype, std::string("y's dtype ") + scalarTypeName(y.dtype) + " must equal x's " +
                                scalarTypeName(x.dtype));
  check(x.data && y.data, "null pointer for x or y");
  check(x.rows >= 1, "x must have at least one row, got " + std::to_string(x.rows));
  check(x.cols == f.K, "x has " + std::to_string(x.cols) + " columns but the weight has K = " + std::to_string(f.K));
  check(y.rows == x.rows && y.cols == f.N, "y must be [" + std::to_string(x.rows) + ", " + std::to_string(f.N) +
                                               "], got [" + std::to_string(y.rows) + ", " + std::to_string(y.cols) + "]");
  check(uintptr_t(x.data) % 16 == 0 && uintptr_t(y.data) % 16 == 0, "x and y must be 16-byte aligned");
  check(x.rows <= (int64_t(1) << 31) / std::max<int64_t>(f.K, f.N), "M too large for 32-bit indexing");
  CUcontext ctx = ensureCudaContext();
  check(ctx == w.context(), "the weight was uploaded in another CUDA context than the current one");

  int64_t M = x.rows;
  std::string act = actName(x.dtype);
  autotune::KernelKey key = kernelKey(f, act, M);
  std::string planKey = key.toString() + (w.hasBias() ? ";bias" : "");
  std::shared_ptr<const Plan> plan;
  Device device;
  {
    std::lock_guard<std::mutex> lock(planMutex);
    device = deviceOf(ctx);
    auto it = plans.find(planKey);
    if (it != plans.end()) plan = it->second;
  }
  if (!plan) {
    kernels::QuantSpec q = quantSpecOf(f);
    auto p = std::make_shared<Plan>();
    auto tuned = tunedConfig(key, device.name, device.cc);
    p->config = tuned ? *tuned : defaultGemvConfig(q, M, device.smCount);
    dsl::DType a = dslType(x.dtype);
    p->gemv = compiledKernel(kernels::buildGemv(q, a, w.hasBias(), p->config));
    if (p->config.splitK > 1)
      p->reduce = compiledKernel(kernels::buildSplitKReduce(f.N, p->config.splitK, a, w.hasBias(), q.scaleDtype));
    std::lock_guard<std::mutex> lock(planMutex);
    plan = plans.emplace(planKey, p).first->second;
  }

  const kernels::GemvConfig& c = plan->config;
  using codegen::LaunchArg;
  std::vector<LaunchArg> args{LaunchArg::ptr(x.data), LaunchArg::ptr(w.packed()), LaunchArg::ptr(w.scales())};
  if (f.hasZeros()) args.push_back(LaunchArg::ptr(w.zeros()));
  if (w.hasBias() && c.splitK == 1) args.push_back(LaunchArg::ptr(w.bias()));
  CUdeviceptr partial = 0;
  if (c.splitK > 1) {
    size_t bytes = size_t(c.splitK) * M * f.N * 4;
    std::lock_guard<std::mutex> lock(planMutex);
    DeviceBuffer& ws = workspaces[{ctx, stream}];
    if (ws.size() < bytes) ws = DeviceBuffer(bytes);
    partial = ws.get();
  }
  args.push_back(c.splitK > 1 ? LaunchArg::ptr(partial) : LaunchArg::ptr(y.data));
  args.push_back(LaunchArg::i32(int32_t(M)));
  Dim3 grid{unsigned((f.N + c.blockN - 1) / c.blockN), unsigned(c.splitK), unsigned((M + c.blockM - 1) / c.blockM)};
  plan->gemv->launch(grid, stream, args);
  if (c.splitK > 1) {
    std::vector<LaunchArg> r{LaunchArg::ptr(partial)};
    if (w.hasBias()) r.push_back(LaunchArg::ptr(w.bias()));
    r.push_back(LaunchArg::ptr(y.data));
    r.push_back(LaunchArg::i32(int32_t(M)));
    plan->reduce->launch({unsigned((f.N + 255) / 256), unsigned(M)}, stream, r);
  }
}

}  // namespace uintx
