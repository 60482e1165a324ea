// GPU suite, part 2: uintx::linear across the test matrix of issue 4 against a float64
// reference computed from the dequantized weights, on fresh random data, outputs poisoned.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <thread>

#include "runtime/cuda_driver.h"
#include "runtime/cuda_stream.h"
#include "dispatch/kernel_store.h"
#include "kernels/int8_gemm/int8_gemm.h"
#include "kernels/quantize_rows/quantize_rows.h"
#include "kernels/split_k_reduce/split_k_reduce.h"
#include "codegen/layout.h"
#include "kernels/families.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemv/default_config.h"
#include "kernels/common/quant_spec.h"
#include "tests/gpu/gpu_test_util.h"
#include "uintx/error.h"
#include "uintx/half.h"
#include "uintx/uintx.h"

using namespace uintx;
using namespace uintx::testing;

namespace {

struct Layer {
  QuantizedWeight q;
  std::vector<float> dq;  // dequantized [N, K]
  std::unique_ptr<DeviceWeight> dev;
};

Layer makeLayer(int64_t N, int64_t K, QuantizeOptions o, bool bias = false) {
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> w(N * K), b(N);
  for (auto& v : w) v = normal(rng());
  for (auto& v : b) v = normal(rng());
  Layer l{quantize(w.data(), N, K, o, bias ? b.data() : nullptr), {}, nullptr};
  l.dq = l.q.dequantize();
  l.dev = std::make_unique<DeviceWeight>(l.q);
  return l;
}

template <typename Half>
std::vector<Half> randomActivations(int64_t M, int64_t K) {
  std::normal_distribution<float> normal(0, 1);
  std::vector<Half> x(size_t(M * K));
  for (auto& v : x) {
    if constexpr (std::is_same_v<Half, bf16>) v = toBf16(normal(rng()));
    else v = toFp16(normal(rng()));
  }
  return x;
}

// Whether the kernels multiply x quantized per row to int8: where the int8 GEMM serves the
// call (small M may take the weight-only kernels: kernels::chooseFamily).
bool quantizesActivations(const Layer& l, int64_t M, const LinearOptions& options) {
  return options.int8Activations &&
         kernels::chooseFamily(kernels::quantSpecOf(l.q.format()), M, true) == cache::KernelFamily::gemm_int8;
}

// The relative error of y = x w^T (x quantized per row to int8 first where `int8`) against
// float64 on up to 16 sampled rows; infinite when an output element was not written (poison left).
template <typename Half>
double errorAgainstReference(const Layer& l, const std::vector<Half>& x, const std::vector<Half>& y, int64_t M,
                             bool int8) {
  const WeightFormat& f = l.q.format();
  for (const Half& v : y)
    if ((v.bits & 0x7FFF) > (std::is_same_v<Half, bf16> ? 0x7F80 : 0x7C00)) return INFINITY;  // NaN left
  std::vector<double> got, ref;
  int64_t step = std::max<int64_t>(1, M / 16);
  std::vector<double> xr(f.K);
  for (int64_t m = 0; m < M; m += step) {
    double amax = 0;
    for (int64_t k = 0; k < f.K; ++k) amax = std::max(amax, std::fabs(double(toFloat(x[m * f.K + k]))));
    float s = amax > 0 ? float(amax) / 127.0f : 1.0f;
    for (int64_t k = 0; k < f.K; ++k) {
      float v = toFloat(x[m * f.K + k]);
      if (!int8) { xr[k] = v; continue; }
      float t = v / s;
      xr[k] = double(std::clamp(int(t + (t >= 0 ? 0.5f : -0.5f)), -127, 127)) * s;
    }
    for (int64_t n = 0; n < f.N; ++n) {
      double r = l.q.hasBias() ? l.q.bias(n) : 0;
      const float* w = &l.dq[size_t(n * f.K)];
      for (int64_t k = 0; k < f.K; ++k) r += xr[k] * w[k];
      ref.push_back(r);
      got.push_back(toFloat(y[size_t(m * f.N + n)]));
    }
  }
  return relativeError(got, ref);
}

// Runs linear for M rows on fresh random activations, the output poisoned first, and returns
// errorAgainstReference.
template <typename Half = bf16>
double checkLinear(const Layer& l, int64_t M, CUstream stream = nullptr, LinearOptions options = {}) {
  const WeightFormat& f = l.q.format();
  ScalarType dt = std::is_same_v<Half, bf16> ? ScalarType::bf16 : ScalarType::f16;
  auto x = randomActivations<Half>(M, f.K);
  runtime::DeviceBuffer dx = toDevice(x), dy(size_t(M * f.N) * 2);
  poison(dy);
  linear({(void*)dx.get(), M, f.K, dt}, *l.dev, {(void*)dy.get(), M, f.N, dt}, stream, options);
  runtime::checkCuda(runtime::cudaDriver().cuCtxSynchronize(), "cuCtxSynchronize");
  return errorAgainstReference(l, x, toHost<Half>(dy, size_t(M * f.N)), M, quantizesActivations(l, M, options));
}

QuantizeOptions opts(int bits, int group, int packing) {
  QuantizeOptions o;
  o.bit_width = bits;
  o.group_size = group;
  o.packing_bitwidth = packing;
  return o;
}

const std::vector<int64_t> kBatches = {1, 2, 3, 16, 24, 33, 128, 1024};

}  // namespace

TEST_CASE("weight-only linear, 4096x4096, every width, group and packing, every M") {
  struct Format { int bits, group, packing; };
  std::vector<Format> formats = {{4, 128, 32}, {4, 64, 32}, {4, 128, 16}, {4, 64, 8}, {8, 0, 32},
                                 {8, 0, 8},    {2, 128, 32}, {2, 64, 16}, {1, 128, 32}, {3, 64, 32}, {3, 128, 8}};
  for (const Format& fm : formats) {
    Layer l = makeLayer(4096, 4096, opts(fm.bits, fm.group, fm.packing));
    for (int64_t M : kBatches) {
      CAPTURE(fm.bits);
      CAPTURE(fm.group);
      CAPTURE(fm.packing);
      CAPTURE(M);
      CHECK(checkLinear(l, M) <= 1e-2);
    }
  }
}

// A down projection's K (28672): the 16-bit decode (bf16 pairs into mma, f32 accumulation)
// and the GEMV stay within 1e-2 of float64 over the longest K of the zoo.
TEST_CASE("weight-only linear over K = 28672: 4- and 2-bit, GEMV and GEMM") {
  for (QuantizeOptions o : {opts(4, 128, 32), opts(2, 64, 32)}) {
    Layer l = makeLayer(1024, 28672, o);
    for (int64_t M : {1, 2, 16, 33}) {
      CAPTURE(o.bit_width);
      CAPTURE(M);
      CHECK(checkLinear(l, M) <= 1e-2);
    }
  }
}

// Large M with enough columns runs the weight-only GEMM on 256-row tiles (two m64 wgmma blocks
// per warpgroup, a 4-stage ring); M = 1000 leaves the last row block partly masked.
TEST_CASE("weight-only linear on 256-row wgmma tiles: 4- and 8-bit, whole and partial row blocks, split-K") {
  const int smCount = runtime::currentCudaDevice().smCount;
  for (QuantizeOptions o : {opts(4, 128, 32), opts(8, 0, 32)}) {
    Layer l = makeLayer(8192, 4096, o);
    for (int64_t M : {1024, 1000, 1030}) {  // 1030: four row blocks, then 6 rows as a call of their own
      CAPTURE(o.bit_width);
      CAPTURE(M);
      REQUIRE(kernels::ruleGemmConfig(kernels::quantSpecOf(l.q.format()), M, false, smCount).blockM == 256);
      CHECK(checkLinear(l, M) <= 1e-2);
    }
  }
  // Few row blocks: the 256-row tiles split along K (f32 partials, then the reduce).
  Layer narrow = makeLayer(4096, 4096, opts(4, 128, 32), /*bias=*/true);
  for (int64_t M : {256, 300}) {
    CAPTURE(M);
    kernels::GemmConfig c = kernels::ruleGemmConfig(kernels::quantSpecOf(narrow.q.format()), M, false, smCount);
    REQUIRE(c.blockM == 256);
    REQUIRE(c.splitK > 1);
    CHECK(checkLinear(narrow, M) <= 1e-2);
  }
}

TEST_CASE("int8 dynamic activations: 8-bit per-channel and 4-bit grouped weights, every M") {
  LinearOptions int8;
  int8.int8Activations = true;
  for (auto [bits, group] : std::vector<std::pair<int, int>>{{8, 0}, {4, 128}, {4, 64}}) {
    Layer l = makeLayer(4096, 4096, opts(bits, group, 32), /*bias=*/bits == 8);
    std::vector<int64_t> batches = kBatches;
    batches.push_back(1030);  // 128-row tiles, then 6 rows as a call of their own
    for (int64_t M : batches) {
      CAPTURE(bits);
      CAPTURE(group);
      CAPTURE(M);
      CHECK(checkLinear(l, M, nullptr, int8) <= 1e-2);
    }
  }
  Layer odd = makeLayer(1024, 1025, opts(8, 0, 32));
  CHECK_THROWS_WITH_AS(checkLinear(odd, 4, nullptr, int8), doctest::Contains("int8 activations"), uintx::Error);
}

// int8 weights as other quantizers write them (torchao's quant_min is -128): every byte value
// a code, -128 included, through the GEMV, the GEMM and the int8 GEMM.
TEST_CASE("int8 weights holding code -128, weight-only and int8 activations") {
  const int64_t N = 2048, K = 4096;
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.001f, 0.01f);
  std::vector<uint8_t> packed(size_t(N * K)), scales(size_t(N) * 2);
  for (auto& b : packed) b = uint8_t(byte(rng()));
  for (int64_t n = 0; n < N; n += 7) packed[size_t(n * K + n % K)] = 0x80;  // -128 in many rows
  for (int64_t n = 0; n < N; ++n) {
    uint16_t s = toBf16(scale(rng())).bits;
    std::memcpy(&scales[size_t(n) * 2], &s, 2);
  }
  QuantizedWeight q(WeightFormat{8, int(K), 8, N, K, ScalarType::bf16}, packed, scales, {});
  Layer l{q, q.dequantize(), std::make_unique<DeviceWeight>(q)};
  LinearOptions int8;
  int8.int8Activations = true;
  for (int64_t M : {1, 16, 64, 256}) {
    CAPTURE(M);
    CHECK(checkLinear(l, M) <= 1e-2);
    CHECK(checkLinear(l, M, nullptr, int8) <= 1e-2);
  }
}

TEST_CASE("odd shape 1024x1025 (per-row groups), bias, fp16 activations") {
  for (int bits : {4, 8, 3}) {
    Layer l = makeLayer(1024, 1025, opts(bits, 0, 32), /*bias=*/true);
    for (int64_t M : kBatches) {
      CAPTURE(bits);
      CAPTURE(M);
      CHECK(checkLinear(l, M) <= 1e-2);
    }
  }
  Layer l = makeLayer(4096, 4096, opts(4, 128, 32), true);
  for (int64_t M : {1, 4, 16, 24, 33}) {  // GEMV, one-stage GEMMs of 8 and 32 rows, 16- and 64-row tiles
    CAPTURE(M);
    CHECK(checkLinear<fp16>(l, M) <= 1e-2);
  }
}

TEST_CASE("tensor-parallel slices still run: dim 0 and dim 1") {
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> w(4096 * 4096);
  for (auto& v : w) v = normal(rng());
  QuantizedWeight full = quantize(w.data(), 4096, 4096, opts(4, 128, 32));
  for (int dim : {0, 1}) {
    Layer l{dim == 0 ? full.sliceRows(1024, 3072) : full.sliceCols(1024, 3072), {}, nullptr};
    l.dq = l.q.dequantize();
    l.dev = std::make_unique<DeviceWeight>(l.q);
    for (int64_t M : {1, 16, 33}) {
      CAPTURE(dim);
      CAPTURE(M);
      CHECK(checkLinear(l, M) <= 1e-2);
    }
  }
}

TEST_CASE("several threads on their own streams, and CUDA graph capture") {
  Layer l = makeLayer(4096, 4096, opts(4, 128, 32));
  std::vector<double> errs(4);
  std::vector<std::thread> threads;
  CUcontext ctx = runtime::ensureCudaContext();
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      runtime::checkCuda(runtime::cudaDriver().cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
      runtime::CudaStream s;
      errs[t] = checkLinear(l, t == 0 ? 1 : 16 * t, s.get());
    });
  for (auto& th : threads) th.join();
  for (double e : errs) CHECK(e <= 1e-2);

  // Capture one call (after a warm-up that compiled it) and replay it on new inputs.
  const int64_t M = 16, K = 4096, N = 4096;
  auto x = randomActivations<bf16>(M, K);
  runtime::DeviceBuffer dx = toDevice(x), dy(M * N * 2);
  runtime::CudaStream s;
  linear({(void*)dx.get(), M, K, ScalarType::bf16}, *l.dev, {(void*)dy.get(), M, N, ScalarType::bf16}, s.get());
  s.synchronize();
  const auto& api = runtime::cudaDriver();
  CUgraph graph;
  CUgraphExec exec;
  runtime::checkCuda(api.cuStreamBeginCapture_v2(s.get(), CU_STREAM_CAPTURE_MODE_GLOBAL), "cuStreamBeginCapture");
  linear({(void*)dx.get(), M, K, ScalarType::bf16}, *l.dev, {(void*)dy.get(), M, N, ScalarType::bf16}, s.get());
  runtime::checkCuda(api.cuStreamEndCapture(s.get(), &graph), "cuStreamEndCapture");
  runtime::checkCuda(api.cuGraphInstantiateWithFlags(&exec, graph, 0), "cuGraphInstantiate");
  auto x2 = randomActivations<bf16>(M, K);
  dx.upload(x2.data(), x2.size() * 2);
  poison(dy);
  runtime::checkCuda(api.cuGraphLaunch(exec, s.get()), "cuGraphLaunch");
  s.synchronize();
  auto y = toHost<bf16>(dy, M * N);
  std::vector<double> got, ref;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double r = 0;
      for (int64_t k = 0; k < K; ++k) r += double(toFloat(x2[m * K + k])) * l.dq[n * K + k];
      ref.push_back(r);
      got.push_back(toFloat(y[m * N + n]));
    }
  CHECK(relativeError(got, ref) <= 1e-2);
  api.cuGraphExecDestroy(exec);
  api.cuGraphDestroy(graph);
}

// Threads sharing one stream, each call with its own M: int8 split-K calls whose workspace
// grows while other threads' calls are queued on the stream. A call that launched on a buffer
// another thread had freed would read or write freed memory (compute-sanitizer) or give wrong
// sums here.
TEST_CASE("several threads on one stream, int8 split-K calls growing the stream's workspace") {
  Layer l = makeLayer(4096, 4096, opts(8, 0, 32));  // 8-bit: int8 activations run the int8 GEMM
  LinearOptions int8;
  int8.int8Activations = true;
  CUcontext ctx = runtime::ensureCudaContext();
  runtime::CudaStream shared;
  std::vector<double> worst(4, 0.0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      runtime::checkCuda(runtime::cudaDriver().cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
      for (int i = 0; i < 6; ++i) {
        const int64_t M = 1 + (t * 37 + i * 13) % 96;
        worst[t] = std::max(worst[t], checkLinear(l, M, shared.get(), int8));
      }
    });
  for (auto& th : threads) th.join();
  for (double e : worst) CHECK(e <= 1e-2);
}

// Kernels launched back to back may overlap (programmatic dependent launch): each must still
// read what the call before it wrote. A chain of square layers, each call reading the output of
// the one before, all buffers but the first poisoned: a call that read its input early would
// read NaN. Run on a stream, then captured in a CUDA graph and replayed (programmatic edges).
TEST_CASE("a chain of calls, each reading the output of the one before, on a stream and in a graph") {
  const int64_t K = 4096;
  const int depth = 6;
  Layer l = makeLayer(K, K, opts(4, 128, 32));
  const auto& api = runtime::cudaDriver();
  for (int64_t M : {int64_t(1), int64_t(16)})
    for (bool int8 : {false, true}) {
      CAPTURE(M);
      CAPTURE(int8);
      LinearOptions options;
      options.int8Activations = int8;
      std::vector<runtime::DeviceBuffer> h;
      h.push_back(toDevice(randomActivations<bf16>(M, K)));
      for (int i = 0; i < depth; ++i) h.emplace_back(size_t(M * K) * 2);
      auto run = [&](CUstream s) {
        for (int i = 0; i < depth; ++i)
          linear({(void*)h[i].get(), M, K, ScalarType::bf16}, *l.dev, {(void*)h[i + 1].get(), M, K, ScalarType::bf16},
                 s, options);
      };
      auto check = [&] {
        for (int i = 0; i < depth; ++i) {
          CAPTURE(i);
          auto x = toHost<bf16>(h[i], size_t(M * K)), y = toHost<bf16>(h[i + 1], size_t(M * K));
          CHECK(errorAgainstReference(l, x, y, M, quantizesActivations(l, M, options)) <= 1e-2);
        }
      };
      runtime::CudaStream s;
      for (int i = 1; i <= depth; ++i) poison(h[i]);
      run(s.get());
      s.synchronize();
      check();

      CUgraph graph;
      CUgraphExec exec;
      runtime::checkCuda(api.cuStreamBeginCapture_v2(s.get(), CU_STREAM_CAPTURE_MODE_GLOBAL), "cuStreamBeginCapture");
      run(s.get());
      runtime::checkCuda(api.cuStreamEndCapture(s.get(), &graph), "cuStreamEndCapture");
      runtime::checkCuda(api.cuGraphInstantiateWithFlags(&exec, graph, 0), "cuGraphInstantiate");
      for (int i = 1; i <= depth; ++i) poison(h[i]);
      runtime::checkCuda(api.cuGraphLaunch(exec, s.get()), "cuGraphLaunch");
      s.synchronize();
      check();
      api.cuGraphExecDestroy(exec);
      api.cuGraphDestroy(graph);
    }
}

TEST_CASE("bad calls fail with clear messages") {
  Layer l = makeLayer(256, 512, opts(4, 128, 32));
  runtime::DeviceBuffer dx(4 * 512 * 2 + 64), dy(4 * 256 * 2 + 64);
  void* x = (void*)dx.get();
  void* y = (void*)dy.get();
  CHECK_THROWS_WITH_AS(linear({x, 4, 256, ScalarType::bf16}, *l.dev, {y, 4, 256, ScalarType::bf16}),
                       doctest::Contains("K = 512"), uintx::Error);
  CHECK_THROWS_WITH_AS(linear({x, 4, 512, ScalarType::bf16}, *l.dev, {y, 4, 255, ScalarType::bf16}),
                       doctest::Contains("y must be [4, 256]"), uintx::Error);
  CHECK_THROWS_WITH_AS(linear({nullptr, 4, 512, ScalarType::bf16}, *l.dev, {y, 4, 256, ScalarType::bf16}),
                       doctest::Contains("null"), uintx::Error);
  CHECK_THROWS_WITH_AS(linear({(char*)x + 2, 4, 512, ScalarType::bf16}, *l.dev, {y, 4, 256, ScalarType::bf16}),
                       doctest::Contains("aligned"), uintx::Error);
  CHECK_THROWS_WITH_AS(linear({x, 4, 512, ScalarType::f32}, *l.dev, {y, 4, 256, ScalarType::f32}),
                       doctest::Contains("bf16 or fp16"), uintx::Error);
}

// Runs the weight-only GEMM (or, `int8`, the int8 GEMM) with config `c` through its plan
// directly (no default need select it) on fresh activations of M rows, with the layer's bias;
// the error against the float reference.
static double gemmErrorThroughPlan(const Layer& l, const kernels::GemmConfig& c, int64_t M, bool int8 = false) {
  kernels::QuantSpec q = kernels::quantSpecOf(l.q.format());
  auto plan = kernels::makePlan(int8 ? cache::KernelFamily::gemm_int8 : cache::KernelFamily::gemm, q, dsl::DType::bf16,
                                dsl::DType::bf16, l.q.hasBias(),
                                kernels::toKernelConfig(c), dispatch::compiledKernel);
  auto x = randomActivations<bf16>(M, q.K);
  runtime::DeviceBuffer dx = toDevice(x), dy(size_t(M * q.N) * 2), ws(std::max<size_t>(16, plan->workspaceBytes(M)));
  poison(dy);
  kernels::LinearCall call;
  call.x = dx.get(), call.y = dy.get(), call.packed = l.dev->packed(), call.scales = l.dev->scales();
  call.zeros = l.dev->zeros(), call.bias = l.dev->bias(), call.workspace = ws.get(), call.M = M;
  plan->launch(call, nullptr);
  runtime::checkCuda(runtime::cudaDriver().cuCtxSynchronize(), "cuCtxSynchronize");
  return errorAgainstReference(l, x, toHost<bf16>(dy, size_t(M * q.N)), M, int8);
}

// A transposed GEMM config (GemmConfig::weightsAsA) of 128-deep K steps.
static kernels::GemmConfig transposedConfig(int blockM, int blockN, int warps, int stages, int split, int correct = 0) {
  kernels::GemmConfig c;
  c.weightsAsA = 1, c.blockM = blockM, c.blockN = blockN, c.blockK = 128, c.numWarps = warps, c.stages = stages;
  c.splitK = split, c.correctProducts = correct;
  return c;
}

// The transposed GEMM (GemmConfig::weightsAsA: wgmma reads the dequantized weights from
// registers) run through its plan directly (no default selects it): 1/2/4-bit codes, grouped
// and per-row, a partial block of weight rows (N = 2112), odd M, split and not, with bias, and
// K at the group size (two K steps: the decoded-ahead tile of the last step is the first's).
TEST_CASE("weight-only GEMM with the weights as wgmma's a operand run through its plan") {
  for (auto [bits, group, K] : std::vector<std::array<int, 3>>{{4, 128, 4096}, {2, 64, 4096}, {1, 128, 4096},
                                                                {4, 0, 4096}, {4, 128, 128}}) {
    Layer l = makeLayer(2112, K, opts(bits, group, 32), /*bias=*/true);
    for (int64_t M : {256, 300, 77})
      for (int split : {1, 2}) {
        kernels::GemmConfig c;
        c.weightsAsA = 1, c.blockN = 256, c.blockM = 128, c.blockK = 64, c.numWarps = 8, c.stages = 4, c.splitK = split;
        CAPTURE(bits);
        CAPTURE(group);
        CAPTURE(K);
        CAPTURE(M);
        CAPTURE(c.toString());
        if (K / split < c.blockK) continue;  // a K slice shorter than one step
        CHECK(gemmErrorThroughPlan(l, c, M) <= 1e-2);
      }
  }
}

// The transposed GEMM on mma.sync (few rows of x: the A fragments built from the registers the
// weights were dequantized in) run through its plan directly: 1/2/4-bit codes, grouped and
// per-row, a partial block of weight rows (N = 2112), M from 1 to 32 with partial activation
// tiles (M = 24 on the 17-32 row default's tile), split and not, with bias, K at the group
// size, 2 and 4 warps; with a ring of 4
// stages and with one stage (the next step's words and activations carried in registers), the
// latter also with its products corrected where its steps lie within one group.
TEST_CASE("weight-only GEMM with the weights as mma.sync's a operand run through its plan") {
  for (auto [bits, group, K] : std::vector<std::array<int, 3>>{{4, 128, 4096}, {2, 64, 4096}, {1, 128, 4096},
                                                                {4, 0, 4096}, {4, 128, 256}}) {
    Layer l = makeLayer(2112, K, opts(bits, group, 32), /*bias=*/true);
    for (auto [M, blockM, blockN, warps] : std::vector<std::array<int, 4>>{{1, 8, 64, 4}, {5, 8, 128, 4}, {13, 16, 64, 2},
                                                                           {32, 32, 128, 2}, {24, 32, 64, 2}, {8, 8, 256, 4}})
      for (auto [split, stages, correct] : std::vector<std::array<int, 3>>{{1, 4, 0}, {4, 4, 0}, {1, 1, 0}, {4, 1, 0}, {1, 1, 1}, {4, 1, 1}}) {
        kernels::GemmConfig c = transposedConfig(blockM, blockN, warps, stages, split, correct);
        if (!kernels::gemmSupports(kernels::quantSpecOf(l.q.format()), c, false)) continue;  // correctProducts across groups
        CAPTURE(bits);
        CAPTURE(group);
        CAPTURE(K);
        CAPTURE(M);
        CAPTURE(c.toString());
        if (K / split < c.blockK) continue;  // a K slice shorter than one step
        REQUIRE(!codegen::useWgmma(c.blockN, c.blockM, c.blockK, c.numWarps, 2));
        CHECK(gemmErrorThroughPlan(l, c, M) <= 1e-2);
      }
  }
}

// Corrected products over steps of whole groups (a one-stage transposed step spanning 2 or 4
// groups, each group's part its own pair of dots behind its own barriers): 4-bit g128 and g64
// at BK 256, 2-bit g64 at BK 256, M within and at the tile, split and not. Short, so that it
// also runs under compute-sanitizer racecheck.
TEST_CASE("weight-only GEMM with corrected products over steps of whole groups") {
  for (auto [bits, group, blockK] : std::vector<std::array<int, 3>>{{4, 128, 256}, {4, 64, 256}, {2, 64, 256}}) {
    Layer l = makeLayer(2112, 2048, opts(bits, group, 32), /*bias=*/true);
    for (auto [M, blockM, blockN] : std::vector<std::array<int, 3>>{{1, 8, 32}, {7, 8, 64}, {16, 16, 64}})
      for (int split : {1, 4}) {
        kernels::GemmConfig c = transposedConfig(blockM, blockN, 2, 1, split, /*correct=*/1);
        c.blockK = blockK;
        CAPTURE(bits);
        CAPTURE(group);
        CAPTURE(M);
        CAPTURE(c.toString());
        REQUIRE(kernels::gemmSupports(kernels::quantSpecOf(l.q.format()), c, false));
        CHECK(gemmErrorThroughPlan(l, c, M) <= 1e-2);
      }
  }
}

// A tail split (GemmConfig::tailSplit) through the plan: 17 column blocks of 128, row blocks
// such that the tiles past the last whole wave are split (1030 and 2100 rows: 153 tiles), or all
// of them (fewer tiles than half the SMs), or none; int8 on 128x128 tiles and weight-only on
// 256x128 wgmma tiles, with bias.
TEST_CASE("GEMMs with a tail split run through their plan") {
  Layer w8 = makeLayer(2176, 4096, opts(8, 0, 32), /*bias=*/true);
  Layer w4 = makeLayer(2176, 4096, opts(4, 128, 32), /*bias=*/true);
  for (int M : {1030, 300, 128, 600}) {
    kernels::GemmConfig c;
    c.blockM = 128, c.blockN = 128, c.blockK = 128, c.numWarps = 8, c.stages = 4, c.tailSplit = 4;
    CAPTURE(M);
    CHECK(gemmErrorThroughPlan(w8, c, M, /*int8=*/true) <= 1e-2);
  }
  for (int M : {2100, 300, 512}) {
    kernels::GemmConfig c;
    c.blockM = 256, c.blockN = 128, c.blockK = 64, c.numWarps = 8, c.stages = 4, c.tailSplit = 4;
    CAPTURE(M);
    CHECK(gemmErrorThroughPlan(w4, c, M) <= 1e-2);
  }
}

// The transposed int8 GEMM (weightsAsA: the weight rows on the tensor cores' wide side, a few
// rows of x on the narrow one) through its plan: wgmma (x tiles of 16 and 32 rows) and mma.sync
// (8 rows), a partial block of weight rows (N = 2112), M below, at and past the tile, split and
// not (3: uneven slices), with bias, K of two steps.
TEST_CASE("int8 GEMM with the weights as the a operand run through its plan") {
  for (int K : {4096, 256}) {
    Layer l = makeLayer(2112, K, opts(8, 0, 32), /*bias=*/true);
    for (auto [M, blockM, blockN, warps] : std::vector<std::array<int, 4>>{
             {1, 8, 64, 4}, {7, 8, 32, 2}, {16, 16, 64, 4}, {13, 16, 32, 2}, {13, 16, 128, 4}, {33, 32, 128, 8}, {64, 64, 64, 4}})
      for (int split : {1, 3}) {
        kernels::GemmConfig c = transposedConfig(blockM, blockN, warps, 6, split);
        CAPTURE(K);
        CAPTURE(M);
        CAPTURE(c.toString());
        if (K / split < c.blockK) continue;  // a K slice shorter than one step
        CHECK(gemmErrorThroughPlan(l, c, M, /*int8=*/true) <= 1e-2);
      }
  }
}
