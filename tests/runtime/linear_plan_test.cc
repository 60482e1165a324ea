// uintx::linear's plan cache against the CPU stand-in for libcuda.so.1 (fake_libcuda.cc):
// kernels are compiled and "loaded" for real, launches are only counted. Checks that a warm
// call reuses its plan and that weights differing in anything their kernels depend on get
// their own plan.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <random>
#include <vector>

#include "runtime/device_buffer.h"
#include "tests/runtime/fake_driver.h"
#include "dispatch/kernel_store.h"
#include "dispatch/workspace_pool.h"
#include "runtime/cuda_stream.h"
#include "kernels/int8_gemm/int8_gemm.h"
#include "kernels/quantize_rows/quantize_rows.h"
#include "kernels/split_k_reduce/split_k_reduce.h"
#include "kernels/families.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemv/default_config.h"
#include "kernels/common/quant_spec.h"
#include "uintx/uintx.h"

namespace {

using uintx::testing::queryFake;
const bool kFakeDriver = [] {
  unsetenv("UINTX_CONFIG_CACHE");
  return uintx::testing::useFakeDriver();
}();

// 4-bit g128 by default; 8-bit symmetric per-channel weights where int8 activations must run
// the int8 GEMM (with 4-bit ones they take the weight-only kernels).
uintx::QuantizedWeight randomWeight(int64_t N, int64_t K, uintx::ScalarType scales, int bits = 4) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> w(size_t(N * K));
  for (float& v : w) v = normal(rng);
  uintx::QuantizeOptions o;
  o.scale_dtype = scales;
  o.bit_width = bits;
  if (bits == 8) o.group_size = 0;
  return uintx::quantize(w.data(), N, K, o);
}

}  // namespace

TEST_CASE("a warm call reuses its plan; a weight with other scale dtypes gets its own kernels") {
  uintx::setCacheSettings({"", ""});  // no config cache, no kernels directory
  const int64_t N = 256, K = 256, M = 1;
  uintx::DeviceWeight bf16Scales(randomWeight(N, K, uintx::ScalarType::bf16));
  uintx::DeviceWeight f32Scales(randomWeight(N, K, uintx::ScalarType::f32));
  uintx::runtime::DeviceBuffer x(M * K * 2), y(M * N * 2);
  uintx::DeviceMatrix xm{reinterpret_cast<void*>(x.get()), M, K, uintx::ScalarType::bf16};
  uintx::DeviceMatrix ym{reinterpret_cast<void*>(y.get()), M, N, uintx::ScalarType::bf16};

  int compiles = uintx::dispatch::kernelCacheStats().compiles;
  uintx::linear(xm, bf16Scales, ym);
  CHECK(uintx::dispatch::kernelCacheStats().compiles > compiles);
  compiles = uintx::dispatch::kernelCacheStats().compiles;
  uintx::linear(xm, bf16Scales, ym);  // warm: the same plan, nothing compiled
  CHECK(uintx::dispatch::kernelCacheStats().compiles == compiles);
  // Same shape, bits, group and dtypes, but f32 scales: the kernels read scales differently.
  uintx::linear(xm, f32Scales, ym);
  CHECK(uintx::dispatch::kernelCacheStats().compiles > compiles);
}

// Launch order (codegen/jit_kernel.cc): the GEMV lets the next kernel launch at entry, so it
// overlaps the kernel before it only when its grid fills the device. The fake driver holds 2
// programs per SM: a grid of 16 programs leaves SMs room and is launched in plain order.
TEST_CASE("a GEMV whose grid leaves SMs free is launched in the stream's usual order") {
  uintx::setCacheSettings({"", ""});
  const int64_t N = 256, K = 256, M = 1;
  uintx::DeviceWeight w(randomWeight(N, K, uintx::ScalarType::bf16));
  uintx::runtime::DeviceBuffer x(M * K * 2), y(M * N * 2);
  uintx::DeviceMatrix xm{reinterpret_cast<void*>(x.get()), M, K, uintx::ScalarType::bf16};
  uintx::DeviceMatrix ym{reinterpret_cast<void*>(y.get()), M, N, uintx::ScalarType::bf16};
  REQUIRE(uintx::kernels::defaultGemvConfig(uintx::kernels::quantSpecOf(w.format()), M, 132).splitK == 1);
  uintx::linear(xm, w, ym);
  int launches = queryFake<int>("fakeOtherLaunches"), overlapping = queryFake<int>("fakeOverlappingLaunches");
  uintx::linear(xm, w, ym);
  CHECK(queryFake<int>("fakeOtherLaunches") - launches == 1);
  CHECK(queryFake<int>("fakeOverlappingLaunches") == overlapping);
}

// A large-M call runs the pipelined GEMM, whose shared-memory ring is above 48 KiB: the kernel
// is opted in when its module is loaded (the fake driver refuses the launch otherwise), and a
// warm call compiles nothing.
TEST_CASE("a GEMM with more than 48 KiB of shared memory is opted in once, at load") {
  uintx::setCacheSettings({"", ""});
  // 128 programs of 128 x 128: unsplit, so the GEMM is the last launch.
  const int64_t N = 16384, K = 128, M = 128;
  uintx::QuantizedWeight q = randomWeight(N, K, uintx::ScalarType::bf16);
  REQUIRE(uintx::kernels::ruleGemmConfig(uintx::kernels::quantSpecOf(q.format()), M, false, 132).splitK == 1);
  uintx::DeviceWeight w(q);
  uintx::runtime::DeviceBuffer x(M * K * 2), y(M * N * 2);
  uintx::DeviceMatrix xm{reinterpret_cast<void*>(x.get()), M, K, uintx::ScalarType::bf16};
  uintx::DeviceMatrix ym{reinterpret_cast<void*>(y.get()), M, N, uintx::ScalarType::bf16};
  uintx::linear(xm, w, ym);
  CHECK(queryFake<int>("fakeLastSharedBytes") > 48 * 1024);
  CHECK(queryFake<int>("fakeLastMaxDynamicShared") >= queryFake<int>("fakeLastSharedBytes"));
  int compiles = uintx::dispatch::kernelCacheStats().compiles;
  uintx::linear(xm, w, ym);
  CHECK(uintx::dispatch::kernelCacheStats().compiles == compiles);
}

// int8 activations with split-K: one workspace holds the f32 partials and, after them, the
// quantized rows and their scales; the call goes through (quantize, GEMM, reduce) and a warm
// call compiles nothing.
TEST_CASE("an int8 split-K call runs its three kernels from one workspace") {
  uintx::setCacheSettings({"", ""});
  const int64_t N = 256, K = 4096, M = 16;
  uintx::QuantizedWeight q = randomWeight(N, K, uintx::ScalarType::bf16, 8);
  REQUIRE(uintx::kernels::ruleGemmConfig(uintx::kernels::quantSpecOf(q.format()), M, true, 132).splitK > 1);
  uintx::DeviceWeight w(q);
  uintx::runtime::DeviceBuffer x(M * K * 2), y(M * N * 2);
  uintx::DeviceMatrix xm{reinterpret_cast<void*>(x.get()), M, K, uintx::ScalarType::bf16};
  uintx::DeviceMatrix ym{reinterpret_cast<void*>(y.get()), M, N, uintx::ScalarType::bf16};
  uintx::LinearOptions int8;
  int8.int8Activations = true;
  CHECK_NOTHROW(uintx::linear(xm, w, ym, nullptr, int8));
  int compiles = uintx::dispatch::kernelCacheStats().compiles;
  int launches = queryFake<int>("fakeOtherLaunches"), overlapping = queryFake<int>("fakeOverlappingLaunches");
  CHECK_NOTHROW(uintx::linear(xm, w, ym, nullptr, int8));
  CHECK(uintx::dispatch::kernelCacheStats().compiles == compiles);
  // Quantize, GEMM, reduce; each may start during the one before it (runtime/cuda_module.h).
  CHECK(queryFake<int>("fakeOtherLaunches") - launches == 3);
  CHECK(queryFake<int>("fakeOverlappingLaunches") - overlapping == 3);
}

// Per-stream workspaces (dispatch/workspace_pool.h): a server that makes short-lived streams
// must not keep one buffer per stream it ever saw.
TEST_CASE("workspaces of many short-lived streams stay bounded") {
  uintx::setCacheSettings({"", ""});
  const int64_t N = 256, K = 4096, M = 16;
  uintx::QuantizedWeight q = randomWeight(N, K, uintx::ScalarType::bf16, 8);
  REQUIRE(uintx::kernels::ruleGemmConfig(uintx::kernels::quantSpecOf(q.format()), M, true, 132).splitK > 1);
  uintx::DeviceWeight w(q);
  uintx::runtime::DeviceBuffer x(M * K * 2), y(M * N * 2);
  uintx::DeviceMatrix xm{reinterpret_cast<void*>(x.get()), M, K, uintx::ScalarType::bf16};
  uintx::DeviceMatrix ym{reinterpret_cast<void*>(y.get()), M, N, uintx::ScalarType::bf16};
  uintx::LinearOptions int8;
  int8.int8Activations = true;
  uintx::linear(xm, w, ym, nullptr, int8);  // compiles, and holds the legacy stream's workspace
  const int before = queryFake<int>("fakeLiveAllocations");
  for (int i = 0; i < 4 * int(uintx::dispatch::WorkspacePool::kMaxStreams); ++i) {
    uintx::runtime::CudaStream stream;
    uintx::linear(xm, w, ym, stream.get(), int8);
  }
  CHECK(uintx::dispatch::workspacePool().buffersHeld() <= uintx::dispatch::WorkspacePool::kMaxStreams);
  CHECK(queryFake<int>("fakeLiveAllocations") - before <= int(uintx::dispatch::WorkspacePool::kMaxStreams));
}

// Threads sharing one stream: each call holds the stream's workspace until its kernels are
// enqueued, so a call that grows it cannot free the buffer another call is about to launch on.
TEST_CASE("calls on one stream from several threads, with growing workspaces, all go through") {
  uintx::setCacheSettings({"", ""});
  const int64_t N = 256, K = 256;
  uintx::QuantizedWeight q = randomWeight(N, K, uintx::ScalarType::bf16, 8);
  uintx::DeviceWeight w(q);
  uintx::runtime::DeviceBuffer x(64 * K * 2), y(64 * N * 2);
  uintx::LinearOptions int8;
  int8.int8Activations = true;
  uintx::runtime::CudaStream stream;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const int64_t M = 1 + (t * 20 + i) % 64;  // different M: different workspace sizes
        uintx::DeviceMatrix xm{reinterpret_cast<void*>(x.get()), M, K, uintx::ScalarType::bf16};
        uintx::DeviceMatrix ym{reinterpret_cast<void*>(y.get()), M, N, uintx::ScalarType::bf16};
        try {
          uintx::linear(xm, w, ym, stream.get(), int8);
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
}

TEST_CASE("y overlapping x is refused") {
  uintx::setCacheSettings({"", ""});
  const int64_t N = 256, K = 256, M = 4;
  uintx::DeviceWeight w(randomWeight(N, K, uintx::ScalarType::bf16));
  uintx::runtime::DeviceBuffer buffer(M * (K + N) * 2);
  uintx::DeviceMatrix xm{reinterpret_cast<void*>(buffer.get()), M, K, uintx::ScalarType::bf16};
  uintx::DeviceMatrix same{reinterpret_cast<void*>(buffer.get()), M, N, uintx::ScalarType::bf16};
  CHECK_THROWS_WITH_AS(uintx::linear(xm, w, same), doctest::Contains("overlaps x"), uintx::Error);
  uintx::DeviceMatrix inside{reinterpret_cast<void*>(buffer.get() + 256), M, N, uintx::ScalarType::bf16};
  CHECK_THROWS_WITH_AS(uintx::linear(xm, w, inside), doctest::Contains("overlaps x"), uintx::Error);
  uintx::DeviceMatrix after{reinterpret_cast<void*>(buffer.get() + M * K * 2), M, N, uintx::ScalarType::bf16};
  CHECK_NOTHROW(uintx::linear(xm, w, after));
}

// A few rows past the last whole row block of 256-row tiles run as a call of their own (on
// small-M tiles), not as a second row block of big tiles; a larger rest stays in the call.
TEST_CASE("rows past the last whole 256-row block run as a call of their own when they are few") {
  uintx::setCacheSettings({"", ""});
  const int64_t N = 256, K = 256;
  uintx::QuantizedWeight q = randomWeight(N, K, uintx::ScalarType::bf16);
  REQUIRE(uintx::kernels::ruleGemmConfig(uintx::kernels::quantSpecOf(q.format()), 512, false, 132).blockM == 256);
  uintx::DeviceWeight w(q);
  auto firstGridRows = [&](int64_t M) {
    uintx::runtime::DeviceBuffer x(M * K * 2), y(M * N * 2);
    uintx::DeviceMatrix xm{reinterpret_cast<void*>(x.get()), M, K, uintx::ScalarType::bf16};
    uintx::DeviceMatrix ym{reinterpret_cast<void*>(y.get()), M, N, uintx::ScalarType::bf16};
    uintx::linear(xm, w, ym);  // compiles
    queryFake<int>("fakeResetFirstGrid");
    int launches = queryFake<int>("fakeOtherLaunches");
    uintx::linear(xm, w, ym);
    // Row blocks: the programs of the first grid over the 2 column blocks (its config's tail
    // split gives it a one-dimensional grid, which splits no tile here).
    return std::make_pair(queryFake<int>("fakeFirstGridX") * queryFake<int>("fakeFirstGridY") / 2,
                          queryFake<int>("fakeOtherLaunches") - launches);
  };
  auto [rows256, launches256] = firstGridRows(256);
  CHECK(rows256 == 1);
  auto [rows300, launches300] = firstGridRows(300);  // 256 + 44
  CHECK(rows300 == 1);                                // the first call covers 256 rows
  CHECK(launches300 > launches256);                   // and a second call follows
  auto [rows400, launches400] = firstGridRows(400);  // 256 + 144: one call, two row blocks
  CHECK(rows400 == 2);
  CHECK(launches400 == launches256);
}

// With int8 activations the rows past the last whole 128-row block stay in the call, as a
// second row block: a call of their own would stream the 8-bit weights again.
TEST_CASE("with int8 activations, rows past the last whole row block stay in the call") {
  uintx::setCacheSettings({"", ""});
  const int64_t N = 256, K = 256, M = 160;  // 128 + 32
  uintx::QuantizedWeight q = randomWeight(N, K, uintx::ScalarType::bf16, 8);
  REQUIRE(uintx::kernels::ruleGemmConfig(uintx::kernels::quantSpecOf(q.format()), 256, true, 132).blockM == 128);
  uintx::DeviceWeight w(q);
  uintx::runtime::DeviceBuffer x(M * K * 2), y(M * N * 2);
  uintx::DeviceMatrix xm{reinterpret_cast<void*>(x.get()), M, K, uintx::ScalarType::bf16};
  uintx::DeviceMatrix ym{reinterpret_cast<void*>(y.get()), M, N, uintx::ScalarType::bf16};
  uintx::LinearOptions int8;
  int8.int8Activations = true;
  uintx::linear(xm, w, ym, nullptr, int8);  // compiles
  queryFake<int>("fakeResetFirstGrid");
  int launches = queryFake<int>("fakeOtherLaunches");
  uintx::linear(xm, w, ym, nullptr, int8);
  // The row quantization (one program per row) first, then the GEMM over both row blocks: no
  // second quantization and GEMM for the 32 rows.
  CHECK(queryFake<int>("fakeFirstGridX") == M);                // all rows quantized at once
  CHECK(queryFake<int>("fakeOtherLaunches") - launches <= 3);  // quantize, GEMM, and a split-K reduce at most
}
