// Without a CUDA driver every runtime entry point must fail with one clear message, and
// nothing that needs no GPU may fail. The driver path is pointed at a file that cannot
// exist before anything loads it, so the test behaves the same on a GPU machine.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "baseline/cublas_baseline.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_module.h"
#include "runtime/cuda_stream.h"
#include "runtime/device_buffer.h"
#include "tests/runtime/test_kernels_ptx.h"
#include "uintx/error.h"

namespace {

const bool kDriverPathOverridden = [] {
  setenv("UINTX_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  return true;
}();

const char* kPrefix = "no CUDA driver: dlopen(/nonexistent/libcuda.so.1) failed: ";
const char* kSuffix = "; kernels can still be compiled to PTX but not launched";

bool startsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool endsWith(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Runs `body`, expecting the no-driver uintx::Error.
template <class F>
void expectNoDriverError(F body) {
  std::string message;
  try {
    body();
  } catch (const uintx::Error& e) {
    message = e.what();
  }
  INFO("message: " << message);
  CHECK(startsWith(message, kPrefix));
  CHECK(endsWith(message, kSuffix));
  CHECK(message.find("No such file") != std::string::npos);  // dlerror's reason is kept
}

}  // namespace

TEST_CASE("cudaDriverAvailable says false and why") {
  REQUIRE(kDriverPathOverridden);
  std::string why = "unchanged";
  CHECK_FALSE(uintx::runtime::cudaDriverAvailable(&why));
  CHECK(startsWith(why, kPrefix));
  CHECK(endsWith(why, kSuffix));
  CHECK_FALSE(uintx::runtime::cudaDriverAvailable());  // a null reason pointer is allowed
}

TEST_CASE("every entry point that needs the driver throws the no-driver error") {
  expectNoDriverError([] { uintx::runtime::cudaDriver(); });
  expectNoDriverError([] { uintx::runtime::ensureCudaContext(); });
  expectNoDriverError([] { uintx::runtime::currentCudaDevice(); });
  expectNoDriverError([] { uintx::runtime::DeviceBuffer buffer(1024); });
  expectNoDriverError([] { uintx::runtime::DeviceBuffer::fromHost(std::vector<float>(8, 1.0f)); });
  expectNoDriverError([] { uintx::runtime::CudaModule::fromPtx(uintx::testing::kTestKernelsPtx); });
  expectNoDriverError([] {
    uintx::runtime::launchKernel(nullptr, {1, 1, 1}, {128, 1, 1}, 0, nullptr, nullptr);
  });
  expectNoDriverError([] { uintx::runtime::CudaStream stream; });
  expectNoDriverError([] { uintx::runtime::CudaEvent event; });
  expectNoDriverError([] { uintx::runtime::GpuTimer timer; });
  expectNoDriverError([] { uintx::CublasBf16Gemm gemm; });
}

TEST_CASE("checkCuda passes success and names the call and the number otherwise") {
  CHECK_NOTHROW(uintx::runtime::checkCuda(CUDA_SUCCESS, "cuMemAlloc"));
  std::string message;
  try {
    uintx::runtime::checkCuda(CUDA_ERROR_ILLEGAL_ADDRESS, "cuLaunchKernel");
  } catch (const uintx::Error& e) {
    message = e.what();
  }
  // With no driver to name it, the error is given by its number (700 in cuda.h).
  CHECK(message == "cuLaunchKernel failed: CUDA error 700 (no CUDA driver loaded to name it)");
}

TEST_CASE("objects that own nothing need no driver") {
  uintx::runtime::DeviceBuffer empty;
  CHECK(empty.size() == 0);
  CHECK(empty.get() == 0);
  uintx::runtime::DeviceBuffer zero(0);  // nothing to allocate, so no driver call
  CHECK(zero.size() == 0);
  uintx::runtime::DeviceBuffer moved = std::move(zero);
  CHECK(moved.size() == 0);
  uintx::runtime::CudaModule module;
  uintx::runtime::CudaModule other = std::move(module);
  CHECK(other.get() == nullptr);
}

TEST_CASE("DeviceBuffer rejects copies past its end before touching the driver") {
  uintx::runtime::DeviceBuffer empty;
  char byte = 0;
  CHECK_THROWS_WITH_AS(empty.upload(&byte, 1), "DeviceBuffer::upload of 1 bytes at offset 0 overruns the 0-byte buffer",
                       uintx::Error);
  CHECK_THROWS_WITH_AS(empty.download(&byte, 1, 3),
                       "DeviceBuffer::download of 1 bytes at offset 3 overruns the 0-byte buffer",
                       uintx::Error);
  CHECK_NOTHROW(empty.upload(&byte, 0));
}

TEST_CASE("CudaModule::fromPtx rejects empty text with its own message") {
  CHECK_THROWS_WITH_AS(uintx::runtime::CudaModule::fromPtx(""), "CudaModule::fromPtx: the PTX text is empty",
                       uintx::Error);
}

TEST_CASE("cuBLAS loads without a driver where the toolkit has it") {
  const char* env = std::getenv("UINTX_CUDA_PATH");
  std::string library =
      std::string((env && *env) ? env : "/usr/local/cuda") + "/lib64/libcublas.so.13";
  if (access(library.c_str(), R_OK) != 0) {
    MESSAGE("skipped: no " << library);
    return;
  }
  std::string why;
  bool available = uintx::cublasAvailable(&why);
  INFO(why);
  CHECK(available);  // every symbol the baseline needs resolved
  CHECK(why.empty());
}
