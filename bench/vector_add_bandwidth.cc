// Benchmark (not a test): the DSL vector add on 256 MiB inputs against the device-to-device
// copy in the same process and the 3.0 TB/s ceiling measured on the H100 (PLATFORM.md).
#include <algorithm>
#include <cstdio>
#include <vector>

#include "codegen/jit_kernel.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_stream.h"
#include "runtime/device_buffer.h"
#include "examples/example_kernels.h"

using namespace uintx;

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
static double timeMs(F&& f, int reps) {
  runtime::CudaStream s;
  for (int i = 0; i < 3; ++i) f(s.get());
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    runtime::GpuTimer timer;
    timer.start(s.get());
    f(s.get());
    timer.stop(s.get());
    s.synchronize();
    t.push_back(timer.elapsedMs());
  }
  return median(t);
}

int main() {
  const size_t n = (256u << 20) / 4;  // 256 MiB of f32 per input
  runtime::CudaDeviceInfo dev = runtime::currentCudaDevice();
  std::printf("device: %s (%s, %d SMs)\n", dev.name.c_str(), dev.smArch().c_str(), dev.smCount);
  std::vector<float> host(n);
  for (size_t i = 0; i < n; ++i) host[i] = float(i % 1000) * 0.5f;
  runtime::DeviceBuffer x(n * 4), y(n * 4), z(n * 4);
  x.upload(host.data(), n * 4);
  y.upload(host.data(), n * 4);
  const double ceiling = 3.0e12;
  std::printf("%-28s %10s %10s %8s\n", "variant", "time_us", "TB/s", "ceiling");
  for (int block : {1024, 2048, 4096}) {
    for (int warps : {4, 8}) {
      auto k = codegen::JitKernel::compile(examples::vectorAdd(block, warps));
      double ms = timeMs([&](CUstream s) {
        k->launch({unsigned((n + block - 1) / block)}, s,
                  {codegen::LaunchArg::ptr(x.get()), codegen::LaunchArg::ptr(y.get()),
                   codegen::LaunchArg::ptr(z.get()), codegen::LaunchArg::i32(int(n))});
      }, 30);
      double bw = 3.0 * n * 4 / (ms * 1e-3);
      char name[64];
      std::snprintf(name, sizeof name, "dsl add block=%d warps=%d", block, warps);
      std::printf("%-28s %10.1f %10.3f %7.1f%%\n", name, ms * 1e3, bw / 1e12, 100 * bw / ceiling);
    }
  }
  double ms = timeMs([&](CUstream s) {
    runtime::checkCuda(runtime::cudaDriver().cuMemcpyDtoDAsync_v2(z.get(), x.get(), n * 4, s), "cuMemcpyDtoDAsync");
  }, 30);
  double bw = 2.0 * n * 4 / (ms * 1e-3);
  std::printf("%-28s %10.1f %10.3f %7.1f%%\n", "cuMemcpyDtoD (reference)", ms * 1e3, bw / 1e12, 100 * bw / ceiling);
  return 0;
}
