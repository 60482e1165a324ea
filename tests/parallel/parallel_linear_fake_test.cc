// The tensor-parallel layers' host side against the CPU stand-ins for libcuda.so.1
// (tests/runtime/fake_libcuda.cc: kernels compile and "load", launches are only counted) and
// libnccl.so.2 (fake_nccl.cc: communicators are made, every collective fails with NCCL's error):
// what a call checks, and where it puts its output, before any collective runs.
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "parallel/communicator.h"
#include "parallel/parallel_linear.h"
#include "parallel/shard_plan.h"
#include "parallel/simulated_tp.h"
#include "runtime/cuda_stream.h"
#include "runtime/device_buffer.h"
#include "tests/runtime/fake_driver.h"
#include "uintx/error.h"
#include "uintx/uintx.h"

using namespace uintx;
using namespace uintx::parallel;

namespace {

const bool kFakeDriver = [] {
  unsetenv("UINTX_CONFIG_CACHE");
  return uintx::testing::useFakeDriver();
}();

QuantizedWeight randomWeight(int64_t N, int64_t K) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<float> w(size_t(N * K));
  for (float& v : w) v = normal(rng);
  return quantize(w.data(), N, K, QuantizeOptions{});
}

void* ptr(const runtime::DeviceBuffer& b) { return reinterpret_cast<void*>(b.get()); }

}  // namespace

TEST_CASE("fake drivers are in place") {
  REQUIRE(kFakeDriver);
  REQUIRE(std::getenv("UINTX_LIBNCCL") != nullptr);
  setCacheSettings({"", ""});  // no config cache, no kernels directory
}

TEST_CASE("the simulated column-parallel layer refuses a y of another dtype, or no rows") {
  // The ranks' blocks are computed in x's dtype and rearranged into y as y's dtype: bf16 blocks
  // were read as fp16 (and the reverse) without a word, every output wrong.
  const int64_t N = 256, K = 256, M = 4;
  SimulatedColumnParallelLinear sim(randomWeight(N, K), 2);
  runtime::DeviceBuffer x(size_t(M * K * 2)), y(size_t(M * N * 4));
  CHECK_THROWS_WITH_AS(sim.forward({ptr(x), M, K, ScalarType::bf16}, {ptr(y), M, N, ScalarType::f16}, nullptr),
                       doctest::Contains("y must be [4, 256] bf16 like x, got [4, 256] f16"), Error);
  CHECK_THROWS_WITH_AS(sim.forward({ptr(x), M, K, ScalarType::f16}, {ptr(y), M, N, ScalarType::bf16}, nullptr),
                       doctest::Contains("y must be [4, 256] f16 like x"), Error);
  // No rows: a negative count sized the gather buffer from a wrapped byte count.
  for (int64_t rows : {0, -1}) {
    CAPTURE(rows);
    CHECK_THROWS_WITH_AS(sim.forward({ptr(x), rows, K, ScalarType::bf16}, {ptr(y), rows, N, ScalarType::bf16}, nullptr),
                         doctest::Contains("x must have at least one row"), Error);
  }
  CHECK_NOTHROW(sim.forward({ptr(x), M, K, ScalarType::bf16}, {ptr(y), M, N, ScalarType::bf16}, nullptr));
}

TEST_CASE("forwardGathered on a rank whose block is not 16-byte aligned computes into an aligned spare slot") {
  // Rank 1 of 2, on device 0 (the fake driver's only device). Blocks of 3 x 6 bf16 are 36
  // bytes, so rank 1's slot of the gather buffer is not 16-byte aligned and the layer computes
  // into its spare slot, which lay right after the blocks (byte 72): linear refused it with
  // "x and y must be 16-byte aligned", of the caller's aligned x and y. The fake NCCL fails
  // every collective: a call that gets as far as the all-gather ends with its error.
  std::vector<Communicator> comms = Communicator::createAll({1, 0});
  const int64_t N = 12, K = 256, M = 3;
  ColumnParallelLinear layer(shardFor(randomWeight(N, K), ShardKind::columnParallel, 2, 1).weight, comms[1]);
  runtime::DeviceBuffer x(size_t(M * K * 2)), y(size_t(M * N * 2));
  CHECK_THROWS_WITH_AS(layer.forwardGathered({ptr(x), M, K, ScalarType::bf16}, {ptr(y), M, N, ScalarType::bf16}, nullptr),
                       doctest::Contains("ncclAllGather failed"), Error);
  // No rows: the workspace was sized from a wrapped byte count before linear could say so.
  CHECK_THROWS_WITH_AS(layer.forwardGathered({ptr(x), -1, K, ScalarType::bf16}, {ptr(y), -1, N, ScalarType::bf16}, nullptr),
                       doctest::Contains("x must have at least one row"), Error);
}

TEST_CASE("RowParallelLinear::forward keeps its f32 partial sums per stream") {
  // Calls on two streams run at the same time on the device; they shared one partial buffer,
  // so each all-reduced the other's sums. Rank 1 of 2 on device 0, as above; the fake NCCL
  // fails the all-reduce, after each call has taken its buffer.
  std::vector<Communicator> comms = Communicator::createAll({1, 0});
  const int64_t N = 256, K = 512, M = 4;
  RowParallelLinear layer(shardFor(randomWeight(N, K), ShardKind::rowParallel, 2, 1).weight, comms[1]);
  runtime::DeviceBuffer x(size_t(M * K)), y(size_t(M * N * 2));
  runtime::CudaStream a, b;
  const int before = uintx::testing::queryFake<int>("fakeLiveAllocations");
  for (CUstream s : {a.get(), b.get(), a.get()})
    CHECK_THROWS_WITH_AS(layer.forward({ptr(x), M, K / 2, ScalarType::bf16}, {ptr(y), M, N, ScalarType::bf16}, s),
                         doctest::Contains("ncclAllReduce failed"), Error);
  CHECK(uintx::testing::queryFake<int>("fakeLiveAllocations") - before == 2);  // one per stream
  CHECK_THROWS_WITH_AS(layer.forward({ptr(x), -1, K / 2, ScalarType::bf16}, {ptr(y), -1, N, ScalarType::bf16}, a.get()),
                       doctest::Contains("y must be [M >= 1, N = 256], got [-1, 256]"), Error);
}
