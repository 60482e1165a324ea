// The runtime against a CPU stand-in for libcuda.so.1 (fake_libcuda.cc): checks that the
// right entry points get the right arguments, in the right context, without a GPU.
#include <dlfcn.h>
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/cuda_driver.h"
#include "runtime/cuda_module.h"
#include "runtime/cuda_stream.h"
#include "runtime/device_buffer.h"
#include "tests/runtime/fake_driver.h"
#include "uintx/error.h"

namespace {

using uintx::testing::queryFake;
// The fake driver finds a module's kernels by their ".entry" lines.
const char* kFakePtx = ".version 8.0 // fake\n.visible .entry vector_add(\n";
const bool kDriverPathOverridden = uintx::testing::useFakeDriver();

std::vector<float> randomFloats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-10.0f, 10.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::string errorText(void (*body)()) {
  try {
    body();
  } catch (const uintx::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("the fake driver loads, with the cuEventElapsedTime fallback") {
  REQUIRE(kDriverPathOverridden);
  std::string why;
  bool available = uintx::runtime::cudaDriverAvailable(&why);
  INFO(why);
  REQUIRE(available);
  CHECK(why.empty());
  CHECK(bool(uintx::runtime::cudaDriver().cuEventElapsedTime_v2));
}

TEST_CASE("a context is made current on threads that have none") {
  CUcontext context = uintx::runtime::ensureCudaContext();
  CHECK(context == reinterpret_cast<CUcontext>(uintptr_t(0x1000)));
  CUcontext other = nullptr;
  std::thread([&] { other = uintx::runtime::ensureCudaContext(); }).join();
  CHECK(other == context);  // the same retained primary context
  uintx::runtime::CudaDeviceInfo info = uintx::runtime::currentCudaDevice();
  CHECK(info.name == "Fake GPU");
  CHECK(info.smArch() == "sm_90");
  CHECK(info.smCount == 132);
  CHECK(info.maxSharedBytesPerBlockOptin == 232448);
}

TEST_CASE("checkCuda names errors through the driver") {
  CHECK(errorText([] { uintx::runtime::checkCuda(CUDA_ERROR_INVALID_VALUE, "cuFoo"); }) ==
        "cuFoo failed: CUDA_ERROR_INVALID_VALUE (1): fake driver message");
  CHECK(errorText([] { uintx::runtime::checkCuda(CUresult(9999), "cuBar"); }) ==
        "cuBar failed: CUDA error 9999 (unknown to this driver)");
}

TEST_CASE("DeviceBuffer copies round-trip and frees what it allocates") {
  int before = queryFake<int>("fakeLiveAllocations");
  {
    auto data = randomFloats(1000, 5);
    auto buffer = uintx::runtime::DeviceBuffer::fromHost(data);
    CHECK(buffer.size() == 4000);
    CHECK(queryFake<int>("fakeLiveAllocations") == before + 1);
    CHECK(buffer.toHost<float>() == data);
    float patch[2] = {1.5f, -2.5f};
    buffer.upload(patch, sizeof(patch), 10 * sizeof(float));
    data[10] = 1.5f;
    data[11] = -2.5f;
    CHECK(buffer.toHost<float>() == data);
    float back[3];
    buffer.download(back, sizeof(back), 9 * sizeof(float));
    CHECK(back[0] == data[9]);
    CHECK(back[2] == -2.5f);
    CHECK_THROWS_AS(buffer.upload(patch, 8, 3996), uintx::Error);
    uintx::runtime::DeviceBuffer moved = std::move(buffer);
    CHECK(buffer.size() == 0);
    moved.fillZero();
    CHECK(moved.toHost<float>() == std::vector<float>(1000, 0.0f));
    CHECK(queryFake<int>("fakeLiveAllocations") == before + 1);
  }
  CHECK(queryFake<int>("fakeLiveAllocations") == before);
}

TEST_CASE("modules load, report JIT errors, and unload in their own context") {
  auto module = uintx::runtime::CudaModule::fromPtx(kFakePtx);
  CHECK(module.get() != nullptr);
  CHECK(queryFake<int>("fakeLiveModules") == 1);
  CHECK(module.function("vector_add") != nullptr);
  CHECK_THROWS_WITH_AS(module.function("nope"),
                       "CudaModule::function: the module has no kernel named 'nope'", uintx::Error);
  CHECK(errorText([] { uintx::runtime::CudaModule::fromPtx("FAIL_TO_COMPILE"); }) ==
        "cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX (218): fake driver message; "
        "JIT error log: fake JIT: line 1: bad");
  // Destroyed on a thread with no current context: the module's context is pushed first.
  std::thread([m = std::move(module)]() mutable { m = uintx::runtime::CudaModule(); }).join();
  CHECK(queryFake<int>("fakeLiveModules") == 0);
}

TEST_CASE("launchKernel passes arguments, stream and shared memory") {
  auto module = uintx::runtime::CudaModule::fromPtx(kFakePtx);
  CUfunction fn = module.function("vector_add");
  unsigned n = 3000;
  auto a = randomFloats(n, 6), b = randomFloats(n, 7);
  auto da = uintx::runtime::DeviceBuffer::fromHost(a), db = uintx::runtime::DeviceBuffer::fromHost(b);
  uintx::runtime::DeviceBuffer dc(n * sizeof(float));
  CUdeviceptr pa = da.get(), pb = db.get(), pc = dc.get();
  void* args[] = {&pa, &pb, &pc, &n};

  uintx::runtime::CudaStream stream;
  uintx::runtime::launchKernel(fn, {12, 1, 1}, {256, 1, 1}, 1024, stream.get(), args);
  CHECK(queryFake<void*>("fakeLastStream") == static_cast<void*>(stream.get()));
  CHECK(queryFake<int>("fakeLastSharedBytes") == 1024);
  CHECK(queryFake<int>("fakeLastMaxDynamicShared") == -1);  // no opt-in below 48 KiB
  auto c = dc.toHost<float>();
  size_t wrong = 0;
  for (unsigned i = 0; i < n; ++i) wrong += c[i] != a[i] + b[i];
  CHECK(wrong == 0);

  // Above 48 KiB the function must be opted in first; the driver refuses otherwise.
  CHECK_THROWS_AS(uintx::runtime::launchKernel(fn, {12, 1, 1}, {256, 1, 1}, 100 * 1024, nullptr, args), uintx::Error);
  uintx::runtime::reserveDynamicShared(fn, 100 * 1024);
  uintx::runtime::launchKernel(fn, {12, 1, 1}, {256, 1, 1}, 100 * 1024, nullptr, args);
  CHECK(queryFake<int>("fakeLastMaxDynamicShared") == 100 * 1024);
  CHECK(queryFake<int>("fakeLastSharedBytes") == 100 * 1024);

  CHECK_THROWS_WITH_AS(uintx::runtime::launchKernel(fn, {1, 1, 1}, {64, 32, 1}, 0, nullptr, args),
                       "launchKernel: block (64, 32, 1) must have nonzero dimensions and at "
                       "most 1024 threads",
                       uintx::Error);
  CHECK_THROWS_WITH_AS(uintx::runtime::launchKernel(fn, {0, 1, 1}, {64, 1, 1}, 0, nullptr, args),
                       "launchKernel: grid (0, 1, 1) has a zero dimension", uintx::Error);
  CHECK_THROWS_WITH_AS(uintx::runtime::launchKernel(fn, {1, 65536, 1}, {64, 1, 1}, 0, nullptr, args),
                       doctest::Contains("exceeds the GPU's"), uintx::Error);
  CHECK_THROWS_WITH_AS(uintx::runtime::launchKernel(fn, {1, 1, 70000}, {64, 1, 1}, 0, nullptr, args),
                       doctest::Contains("exceeds the GPU's"), uintx::Error);
}

TEST_CASE("GpuTimer reads the time between its two events") {
  uintx::runtime::CudaStream stream;
  uintx::runtime::GpuTimer timer;
  timer.start(stream.get());
  timer.stop(stream.get());
  CHECK(timer.elapsedMs() == doctest::Approx(0.25));  // the fake's clock: 0.25 ms per record
  stream.synchronize();
}
