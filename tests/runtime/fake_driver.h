// Tests on the fake driver (fake_libcuda.cc): where it lies, how to point the runtime at it,
// and how to read what it recorded.
#pragma once

#include <dlfcn.h>
#include <doctest/doctest.h>

#include <cstdlib>

namespace uintx::testing {

// Bazel runs tests in the runfiles tree of the workspace, where the fake library lies.
inline const char* kFakeDriverPath = "./tests/runtime/libfake_cuda.so";

// Makes the runtime load the fake driver (call before its first driver call).
inline bool useFakeDriver() {
  setenv("UINTX_LIBCUDA", kFakeDriverPath, 1);
  unsetenv("UINTX_DEVICE");
  return true;
}

// A value the fake driver recorded, through one of its exported `fake*` functions.
template <class R>
R queryFake(const char* name) {
  void* handle = dlopen(kFakeDriverPath, RTLD_NOW | RTLD_LOCAL);  // the runtime's own handle
  REQUIRE(handle != nullptr);
  auto fn = reinterpret_cast<R (*)()>(dlsym(handle, name));
  REQUIRE(bool(fn));
  R value = fn();
  dlclose(handle);
  return value;
}

}  // namespace uintx::testing
