// uintx::linear: validates a call, finds (or builds) the plan for its key, launches it.
#include <map>
#include <mutex>

#include "runtime/cuda_driver.h"
#include "runtime/device_buffer.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemv/gemv.h"
#include "kernels/common/quant_spec.h"
#include "uintx/error.h"
#include "uintx/uintx.h"

namespace uintx {

namespace {

// What one (key, bias) launches: the GEMV family (+ split-K reduce), or the GEMM family
// (+ activation quantization for int8).
struct Plan {
  std::string family;
  kernels::GemvConfig gemv;
  kernels::GemmConfig gemm;
  std::shared_ptr<codegen::JitKernel> main, reduce, quantize;
};

struct Device {
  std::string name, cc;
  int smCount = 132;
};

std::mutex planMutex;
std::map<std::string, std::shared_ptr<const Plan>> plans;
std::map<CUcontext, Device> devices;
// Scratch memory (split-K partials, int8 activations), per (context, stream): calls on one
// stream are ordered, so they can share a buffer; calls on different streams must not.
std::map<std::pair<CUcontext, CUstream>, runtime::DeviceBuffer> workspaces;

const Device& deviceOf(CUcontext ctx) {
  auto it = devices.find(ctx);
  if (it != devices.end()) return it->second;
  runtime::CudaDeviceInfo info = runtime::currentCudaDevice();
  Device d{info.name, std::to_string(info.ccMajor) + "." + std::to_string(info.ccMinor), info.smCount};
  return devices.emplace(ctx, d).first->second;
}

// `message` is built only when the check fails: a valid call builds no strings here.
template <typename Message>
void check(bool ok, Message message) {
  if (!ok) throw Error("uintx::linear: " + std::string(message()));
}

std::shared_ptr<Plan> makePlan(const cache::KernelKey& key, const WeightFormat& f, ScalarType act, ScalarType out,
                               bool bias, int64_t M, const Device& device) {
  kernels::QuantSpec q = quantSpecOf(f);
  dsl::DType a = dslType(act), o = dslType(out);
  auto p = std::make_shared<Plan>();
  p->family = key.family;
  auto tuned = tunedConfig(key, device.name, device.cc);
  if (key.family == "gemv" || key.family == "gemv_tiled") {
    p->gemv = tuned ? gemvConfigFrom(*tuned) : defaultGemvConfig(q, M, device.smCount);
    p->main = compiledKernel(kernels::buildGemv(q, a, bias, p->gemv, o));
    if (p->gemv.splitK > 1)
      p->reduce = compiledKernel(kernels::buildSplitKReduce(f.N, p->gemv.splitK, o, bias, q.scaleDtype));
    return p;
  }
  bool int8 = key.family == "gemm_int8";
  p->gemm = tuned ? gemmConfigFrom(*tuned) : defaultGemmConfig(q, M, int8, device.smCount);
  if (!kernels::gemmSupports(q, p->gemm, int8)) {
    if (!kernels::gemmSupports(q, defaultGemmConfig(q, M, int8, device.smCount), int8))
      throw Error("uintx::linear: int8 activations need 8-bit symmetric weights or 4-bit weights with a group "
                  "size of 32..256 and rows of whole 16-byte multiples (bits=" + std::to_string(f.bit_width) +
                  ", group_size=" + std::to_string(f.group_size) + ", K=" + std::to_string(f.K) + ")");
    kernels::validateGemmConfig(q, p->gemm, int8);  // a tuned config that cannot run: say which rule
  }
  if (int8) {
    p->main = compiledKernel(kernels::buildInt8Gemm(q, a, bias, p->gemm, o));
    p->quantize = compiledKernel(kernels::buildQuantizeRows(f.K, a));
  } else {
    p->main = compiledKernel(kernels::buildGemm(q, a, bias, p->gemm, o));
  }
  if (p->gemm.splitK > 1)
    p->reduce = compiledKernel(kernels::buildSplitKReduce(f.N, p->gemm.splitK, o, bias, q.scaleDtype));
  return p;
}

CUdeviceptr workspace(CUcontext ctx, CUstream stream, size_t bytes) {
  std::lock_guard<std::mutex> lock(planMutex);
  runtime::DeviceBuffer& ws = workspaces[{ctx, stream}];
  if (ws.size() < bytes) ws = runtime::DeviceBuffer(bytes);
  return ws.get();
}

unsigned cdiv(int64_t a, int64_t b) { return unsigned((a + b - 1) / b); }

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
  CUcontext ctx = runtime::ensureCudaContext();
  check(ctx == w.context(), [] { return "the weight was uploaded in another CUDA context than the current one"; });

  int64_t M = x.rows;
  std::string act = x.dtype == ScalarType::bf16 ? "bf16" : "fp16";
  std::shared_ptr<const Plan> plan;
  const Device* device = nullptr;  // map nodes are never erased: the pointer stays valid
  std::string planKey;
  {
    // The plan is found by the tuning key plus what else its programs depend on: the bias
    // and the dtype of scales, zeros and bias (not part of the tuning key: configs are shared).
    cache::KernelKey key = kernelKey(f, act, M, options.int8Activations);
    if (y.dtype == ScalarType::f32) key.out_dtype = "f32";
    planKey = key.toString() + ";scales=" + scalarTypeName(f.scale_dtype) + (w.hasBias() ? ";bias" : "");
    {
      std::lock_guard<std::mutex> lock(planMutex);
      device = &deviceOf(ctx);
      auto it = plans.find(planKey);
      if (it != plans.end()) plan = it->second;
    }
    if (!plan) {
      // Configs are made for the M bucket, as the tuner makes them, so that every M of a
      // bucket gets the same plan whichever came first.
      auto p = makePlan(key, f, x.dtype, y.dtype, w.hasBias(), key.m_bucket, *device);
      std::lock_guard<std::mutex> lock(planMutex);
      plan = plans.emplace(planKey, p).first->second;
    }
  }

  using codegen::LaunchArg;
  std::vector<LaunchArg> weightArgs{LaunchArg::ptr(w.packed()), LaunchArg::ptr(w.scales())};
  if (f.hasZeros()) weightArgs.push_back(LaunchArg::ptr(w.zeros()));

  // Split-K (GEMV or GEMM): the f32 partials [splitK, M, N] are summed (+ bias) into y.
  auto reduceSplitK = [&](CUdeviceptr partial) {
    std::vector<LaunchArg> r{LaunchArg::ptr(partial)};
    if (w.hasBias()) r.push_back(LaunchArg::ptr(w.bias()));
    r.push_back(LaunchArg::ptr(y.data));
    r.push_back(LaunchArg::i32(int32_t(M)));
    plan->reduce->launch({cdiv(f.N, 256), unsigned(M)}, stream, r);
  };

  if (plan->family == "gemv" || plan->family == "gemv_tiled") {
    const kernels::GemvConfig& c = plan->gemv;
    std::vector<LaunchArg> args{LaunchArg::ptr(x.data)};
    args.insert(args.end(), weightArgs.begin(), weightArgs.end());
    if (w.hasBias() && c.splitK == 1) args.push_back(LaunchArg::ptr(w.bias()));
    CUdeviceptr partial = c.splitK > 1 ? workspace(ctx, stream, size_t(c.splitK) * M * f.N * 4) : 0;
    args.push_back(c.splitK > 1 ? LaunchArg::ptr(partial) : LaunchArg::ptr(y.data));
    args.push_back(LaunchArg::i32(int32_t(M)));
    plan->main->launch({cdiv(f.N, c.blockN), unsigned(c.splitK), cdiv(M, c.blockM)}, stream, args);
    if (c.splitK > 1) reduceSplitK(partial);
    return;
  }
  const kernels::GemmConfig& c = plan->gemm;
  // One workspace (one lookup per call): split-K's f32 partials first, then (int8) the
  // quantized rows and their scales.
  const bool int8 = plan->family == "gemm_int8";
  const size_t partialBytes = c.splitK > 1 ? (size_t(c.splitK) * M * f.N * 4 + 255) / 256 * 256 : 0;
  const size_t qBytes = int8 ? (size_t(M) * f.K + 15) / 16 * 16 : 0;
  const size_t bytes = partialBytes + (int8 ? qBytes + size_t(M) * 4 : 0);
  const CUdeviceptr partial = bytes ? workspace(ctx, stream, bytes) : 0;
  std::vector<LaunchArg> args;
  if (int8) {
    CUdeviceptr xq = partial + partialBytes;
    CUdeviceptr xs = xq + qBytes;
    plan->quantize->launch({unsigned(M)}, stream,
                           {LaunchArg::ptr(x.data), LaunchArg::ptr(xq), LaunchArg::ptr(xs), LaunchArg::i32(int32_t(M))});
    args = {LaunchArg::ptr(xq), LaunchArg::ptr(xs)};
  } else {
    args = {LaunchArg::ptr(x.data)};
  }
  args.insert(args.end(), weightArgs.begin(), weightArgs.end());
  if (c.splitK > 1) {  // as the GEMV's split-K: f32 partials, then the reduce adds the bias
    args.push_back(LaunchArg::ptr(partial));
    args.push_back(LaunchArg::i32(int32_t(M)));
    plan->main->launch({cdiv(f.N, c.blockN), cdiv(M, c.blockM), unsigned(c.splitK)}, stream, args);
    reduceSplitK(partial);
    return;
  }
  if (w.hasBias()) args.push_back(LaunchArg::ptr(w.bias()));
  args.push_back(LaunchArg::ptr(y.data));
  args.push_back(LaunchArg::i32(int32_t(M)));
  plan->main->launch({cdiv(f.N, c.blockN), cdiv(M, c.blockM)}, stream, args);
}

}  // namespace uintx
