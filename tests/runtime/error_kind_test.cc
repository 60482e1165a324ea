// uintx::ErrorKind: the runtime tags driver failures (what the C API's status codes and a
// caller's "is there a GPU?" branch rest on), and an Error made while one is being handled
// (the rewrap-with-context pattern used across the library) keeps its kind.
#include <doctest/doctest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "runtime/cuda_driver.h"
#include "uintx/error.h"

namespace {
const bool kNoDriver = [] {
  setenv("UINTX_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  return true;
}();

uintx::ErrorKind kindOf(void (*f)()) {
  try {
    f();
  } catch (const uintx::Error& e) {
    return e.kind();
  }
  FAIL("no uintx::Error thrown");
  return uintx::ErrorKind::other;
}
}  // namespace

TEST_CASE("without a driver the runtime throws no_driver; a failed driver call is cuda") {
  CHECK(kindOf([] { uintx::runtime::cudaDriver(); }) == uintx::ErrorKind::no_driver);
  CHECK(kindOf([] { uintx::runtime::ensureCudaContext(); }) == uintx::ErrorKind::no_driver);
  CHECK(kindOf([] { uintx::runtime::checkCuda(CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc"); }) ==
        uintx::ErrorKind::cuda);
}

TEST_CASE("an Error made while handling a uintx::Error keeps its kind; otherwise it is other") {
  CHECK(uintx::Error("plain").kind() == uintx::ErrorKind::other);
  CHECK(kindOf([] {
          try {
            throw uintx::Error("cuLaunchKernel failed", uintx::ErrorKind::cuda);
          } catch (const uintx::Error& e) {
            throw uintx::Error(std::string("uintx::linear: ") + e.what());
          }
        }) == uintx::ErrorKind::cuda);
  CHECK(kindOf([] {
          try {
            throw std::runtime_error("not ours");
          } catch (const std::exception& e) {
            throw uintx::Error(std::string("wrapped: ") + e.what());
          }
        }) == uintx::ErrorKind::other);
  // After the handler has ended, nothing is being handled: a fresh Error is other again.
  try {
    throw uintx::Error("x", uintx::ErrorKind::no_driver);
  } catch (const uintx::Error&) {
  }
  CHECK(uintx::Error("after").kind() == uintx::ErrorKind::other);
}
