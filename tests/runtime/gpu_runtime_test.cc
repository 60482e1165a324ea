// GPU test (manual; run on the GPU machine): hand-written PTX kernels run through the
// runtime and are checked against the CPU, and the cuBLAS baseline against float64.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "baseline/cublas_baseline.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_module.h"
#include "runtime/cuda_stream.h"
#include "runtime/device_buffer.h"
#include "tests/runtime/test_kernels_ptx.h"
#include "uintx/error.h"
#include "uintx/half.h"

namespace {

void requireDriver() {
  std::string why;
  bool available = uintx::runtime::cudaDriverAvailable(&why);
  INFO(why);
  REQUIRE(available);
}

std::vector<float> randomFloats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-100.0f, 100.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Runs vector_add over n elements (grid rounded up) on `stream`; returns c, which has
// `pad` extra elements after n that the kernel must leave zero.
std::vector<float> runVectorAdd(const uintx::runtime::CudaModule& module, const std::vector<float>& a,
                                const std::vector<float>& b, size_t pad, CUstream stream) {
  unsigned n = unsigned(a.size());
  auto da = uintx::runtime::DeviceBuffer::fromHost(a);
  auto db = uintx::runtime::DeviceBuffer::fromHost(b);
  uintx::runtime::DeviceBuffer dc((n + pad) * sizeof(float));
  dc.fillZero();
  CUdeviceptr pa = da.get(), pb = db.get(), pc = dc.get();
  void* args[] = {&pa, &pb, &pc, &n};
  unsigned block = 256;
  uintx::runtime::launchKernel(module.function("vector_add"), {(n + block - 1) / block, 1, 1},
                      {block, 1, 1}, 0, stream, args);
  if (stream) {
    uintx::runtime::checkCuda(uintx::runtime::cudaDriver().cuStreamSynchronize(stream), "cuStreamSynchronize");
  } else {
    uintx::runtime::checkCuda(uintx::runtime::cudaDriver().cuCtxSynchronize(), "cuCtxSynchronize");
  }
  return dc.toHost<float>();
}

void checkVectorAdd(const std::vector<float>& a, const std::vector<float>& b,
                    const std::vector<float>& c, size_t pad) {
  REQUIRE(c.size() == a.size() + pad);
  size_t wrong = 0;
  for (size_t i = 0; i < a.size(); ++i) wrong += c[i] != a[i] + b[i];  // both round to nearest
  for (size_t i = a.size(); i < c.size(); ++i) wrong += c[i] != 0.0f;
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("the device is described") {
  requireDriver();
  uintx::runtime::CudaDeviceInfo info = uintx::runtime::currentCudaDevice();
  MESSAGE(info.name << " " << info.smArch() << ", " << info.smCount << " SMs, "
                    << info.maxSharedBytesPerBlockOptin << " B shared opt-in");
  CHECK(!info.name.empty());
  CHECK(info.ccMajor >= 7);
  CHECK(info.smCount > 0);
  CHECK(info.maxSharedBytesPerBlockOptin >= 48 * 1024);
}

TEST_CASE("vector_add PTX runs on 1M random floats, on the null and a created stream") {
  requireDriver();
  auto module = uintx::runtime::CudaModule::fromPtx(uintx::testing::kTestKernelsPtx);
  CHECK(module.context() == uintx::runtime::ensureCudaContext());
  const size_t n = 1'000'003;  // not a multiple of the block: the bounds check matters
  const size_t pad = 77;
  auto a = randomFloats(n, 1);
  auto b = randomFloats(n, 2);
  checkVectorAdd(a, b, runVectorAdd(module, a, b, pad, nullptr), pad);

  uintx::runtime::CudaStream stream;
  uintx::runtime::GpuTimer timer;
  timer.start(stream.get());
  auto c = runVectorAdd(module, a, b, pad, stream.get());
  timer.stop(stream.get());
  checkVectorAdd(a, b, c, pad);
  float ms = timer.elapsedMs();
  CHECK(ms > 0.0f);
  CHECK(ms < 10000.0f);
}

TEST_CASE("a launch with 64 KiB of dynamic shared memory opts in and runs") {
  requireDriver();
  auto module = uintx::runtime::CudaModule::fromPtx(uintx::testing::kTestKernelsPtx);
  const unsigned block = 256, blocks = 100, shared = 64 * 1024;
  auto a = randomFloats(size_t(block) * blocks, 3);
  auto da = uintx::runtime::DeviceBuffer::fromHost(a);
  uintx::runtime::DeviceBuffer dc(a.size() * sizeof(float));
  CUdeviceptr pa = da.get(), pc = dc.get();
  void* args[] = {&pa, &pc};
  uintx::runtime::reserveDynamicShared(module.function("reverse_in_block"), shared);
  uintx::runtime::launchKernel(module.function("reverse_in_block"), {blocks, 1, 1}, {block, 1, 1}, shared,
                      nullptr, args);
  auto c = dc.toHost<float>();
  size_t wrong = 0;
  for (unsigned g = 0; g < blocks; ++g)
    for (unsigned t = 0; t < block; ++t)
      wrong += c[g * block + t] != a[g * block + (block - 1 - t)];
  CHECK(wrong == 0);
}

TEST_CASE("errors from a real driver are named") {
  requireDriver();
  std::string message;
  try {
    uintx::runtime::checkCuda(CUDA_ERROR_INVALID_VALUE, "cuTest");
  } catch (const uintx::Error& e) {
    message = e.what();
  }
  CHECK(message.rfind("cuTest failed: CUDA_ERROR_INVALID_VALUE (1): ", 0) == 0);

  auto module = uintx::runtime::CudaModule::fromPtx(uintx::testing::kTestKernelsPtx);
  CHECK_THROWS_WITH_AS(module.function("no_such_kernel"),
                       "runtime::CudaModule::function: the module has no kernel named 'no_such_kernel'",
                       uintx::Error);

  std::string bad = ".version 8.0\n.target sm_90a\n.address_size 64\n"
                    ".visible .entry broken() { add.f32 %nope, 1.0, 2.0; ret; }\n";
  message.clear();
  try {
    uintx::runtime::CudaModule::fromPtx(bad);
  } catch (const uintx::Error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("cuModuleLoadDataEx failed: ") == 0);
  CHECK(message.find("JIT error log: ") != std::string::npos);
  CHECK(message.find("%nope") != std::string::npos);  // the log names the bad register
}

TEST_CASE("cuBLAS bf16 GEMM y = x @ w^T matches a float64 reference") {
  requireDriver();
  std::string why;
  bool available = uintx::cublasAvailable(&why);
  INFO(why);
  REQUIRE(available);
  const long M = 64, N = 128, K = 256;
  std::mt19937 rng(4);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<uintx::bf16> x(M * K), w(N * K);
  for (auto& v : x) v = uintx::toBf16(dist(rng));
  for (auto& v : w) v = uintx::toBf16(dist(rng));
  auto dx = uintx::runtime::DeviceBuffer::fromHost(x);
  auto dw = uintx::runtime::DeviceBuffer::fromHost(w);
  uintx::runtime::DeviceBuffer dy(M * N * sizeof(uintx::bf16));
  uintx::runtime::CudaStream stream;
  uintx::CublasBf16Gemm gemm;
  gemm.run(M, N, K, dx.get(), dw.get(), dy.get(), stream.get());
  stream.synchronize();
  auto y = dy.toHost<uintx::bf16>();

  double errSq = 0, refSq = 0, worstScaled = 0;
  for (long m = 0; m < M; ++m)
    for (long n = 0; n < N; ++n) {
      double ref = 0, magnitude = 0;
      for (long k = 0; k < K; ++k) {
        double p = double(uintx::toFloat(x[m * K + k])) * double(uintx::toFloat(w[n * K + k]));
        ref += p;
        magnitude += std::fabs(p);
      }
      double err = double(uintx::toFloat(y[m * N + n])) - ref;
      errSq += err * err;
      refSq += ref * ref;
      worstScaled = std::max(worstScaled, std::fabs(err) / magnitude);
    }
  double relErr = std::sqrt(errSq / refSq);
  MESSAGE("relative Frobenius error " << relErr << ", worst |err|/sum|x*w| " << worstScaled);
  CHECK(relErr < 1e-2);
  CHECK(worstScaled < 1e-2);
}
