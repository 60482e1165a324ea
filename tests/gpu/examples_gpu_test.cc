// GPU suite, part 1: the DSL example kernels on the GPU against the CPU interpreter or a
// plain C++ reference, on fresh random data, with outputs poisoned first.
#include <doctest/doctest.h>

#include <type_traits>

#include "codegen/jit_kernel.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_stream.h"
#include "dsl/interpreter.h"
#include "examples/example_kernels.h"
#include "tests/gpu/gpu_test_util.h"
#include "uintx/error.h"
#include "uintx/half.h"

using namespace uintx;
using namespace uintx::testing;
using codegen::JitKernel;
using codegen::LaunchArg;

static unsigned cdiv(int64_t a, int64_t b) { return unsigned((a + b - 1) / b); }

TEST_CASE("vector add matches the CPU exactly, on the default and a created stream") {
  const int n = 1000016;  // a multiple of 16 (the kernel's promise), not of the block
  auto x = randomFloats(n), y = randomFloats(n);
  auto k = JitKernel::compile(examples::vectorAdd(1024, 4));
  runtime::DeviceBuffer dx = toDevice(x), dy = toDevice(y), dz(n * 4 + 64);
  for (bool ownStream : {false, true}) {
    poison(dz);
    runtime::CudaStream s;
    CUstream stream = ownStream ? s.get() : nullptr;
    k->launch({cdiv(n, 1024)}, stream, {LaunchArg::ptr(dx.get()), LaunchArg::ptr(dy.get()),
                                       LaunchArg::ptr(dz.get()), LaunchArg::i32(n)});
    s.synchronize();
    runtime::checkCuda(runtime::cudaDriver().cuCtxSynchronize(), "cuCtxSynchronize");
    auto z = toHost<float>(dz, n + 16);
    int bad = 0;
    for (int i = 0; i < n; ++i) bad += z[i] != x[i] + y[i];
    CHECK(bad == 0);
    uint32_t tail;
    std::memcpy(&tail, &z[n], 4);
    CHECK(tail == 0xFFFFFFFFu);  // nothing written past n
  }
}

TEST_CASE("a launch with a bad argument fails with a message, not a fault") {
  auto k = JitKernel::compile(examples::vectorAdd());
  runtime::DeviceBuffer d(4096);
  CHECK_THROWS_WITH_AS(k->launch({1}, nullptr, {LaunchArg::ptr(d.get()), LaunchArg::ptr(d.get()),
                                                LaunchArg::ptr(CUdeviceptr(0)), LaunchArg::i32(16)}),
                       doctest::Contains("null pointer"), uintx::Error);
  CHECK_THROWS_WITH_AS(k->launch({1}, nullptr, {LaunchArg::ptr(d.get()), LaunchArg::ptr(d.get() + 4),
                                                LaunchArg::ptr(d.get()), LaunchArg::i32(16)}),
                       doctest::Contains("aligned"), uintx::Error);
  CHECK_THROWS_WITH_AS(k->launch({1}, nullptr, {LaunchArg::ptr(d.get()), LaunchArg::ptr(d.get()),
                                                LaunchArg::ptr(d.get()), LaunchArg::i32(17)}),
                       doctest::Contains("multiple of 16"), uintx::Error);
}

TEST_CASE("fused elementwise chain with masks on an odd size matches the interpreter") {
  const int n = 1000003;
  auto xf = randomFloats(n, -3, 3), yf = randomFloats(n, -3, 3);
  std::vector<bf16> x(n), y(n);
  for (int i = 0; i < n; ++i) x[i] = toBf16(xf[i]), y[i] = toBf16(yf[i]);
  const float a = 1.75f;
  auto program = examples::fusedChain(512, 4);
  std::vector<float> ref(n, NAN);
  dsl::interpret(program, {int(cdiv(n, 512))},
                 {dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(y), dsl::KernelArg::buffer(ref),
                  dsl::KernelArg::f32(a), dsl::KernelArg::i32(n)});
  auto k = JitKernel::compile(program);
  runtime::DeviceBuffer dx = toDevice(x), dy = toDevice(y), dout(n * 4);
  poison(dout);
  k->launch({cdiv(n, 512)}, nullptr, {LaunchArg::ptr(dx.get()), LaunchArg::ptr(dy.get()),
                                     LaunchArg::ptr(dout.get()), LaunchArg::f32(a), LaunchArg::i32(n)});
  auto out = toHost<float>(dout, n);
  int bad = 0;
  for (int i = 0; i < n; ++i)  // fma contraction on the GPU may change the last bits
    bad += !(std::fabs(out[i] - ref[i]) <= 1e-5f * (1 + std::fabs(ref[i])));
  CHECK(bad == 0);
}

TEST_CASE("row-wise sum and max of a 2-D tile") {
  for (auto [rows, cols, br, bc, warps] : std::vector<std::array<int, 5>>{
           {1000, 100, 16, 128, 4}, {333, 256, 4, 256, 8}, {77, 31, 32, 32, 4}}) {
    CAPTURE(rows);
    CAPTURE(cols);
    auto x = randomFloats(size_t(rows) * cols, -4, 4);
    auto k = JitKernel::compile(examples::rowSumMax(br, bc, warps));
    runtime::DeviceBuffer dx = toDevice(x), ds(rows * 4), dm(rows * 4);
    poison(ds);
    poison(dm);
    k->launch({cdiv(rows, br)}, nullptr, {LaunchArg::ptr(dx.get()), LaunchArg::ptr(ds.get()),
                                         LaunchArg::ptr(dm.get()), LaunchArg::i32(rows), LaunchArg::i32(cols)});
    auto s = toHost<float>(ds, rows), m = toHost<float>(dm, rows);
    int bad = 0;
    for (int r = 0; r < rows; ++r) {
      double rs = 0;
      float rm = -INFINITY;
      for (int c = 0; c < cols; ++c) rs += x[size_t(r) * cols + c], rm = std::max(rm, x[size_t(r) * cols + c]);
      bad += !(std::fabs(s[r] - rs) <= 1e-4 * (1 + std::fabs(rs))) || m[r] != rm;
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("4-bit unpack, scale and store bf16") {
  const int n = 1 << 20, group = 128;
  std::vector<uint32_t> words(n / 8);
  for (auto& w : words) w = uint32_t(rng()());
  auto scales = randomFloats(n / group, 0.01f, 0.1f), zeros = randomFloats(n / group, 0, 15);
  auto k = JitKernel::compile(examples::unpackInt4(1024, group, 4));
  runtime::DeviceBuffer dw = toDevice(words), ds = toDevice(scales), dz = toDevice(zeros), dout(n * 2);
  poison(dout);
  k->launch({cdiv(n, 1024)}, nullptr, {LaunchArg::ptr(dw.get()), LaunchArg::ptr(ds.get()), LaunchArg::ptr(dz.get()),
                                      LaunchArg::ptr(dout.get()), LaunchArg::i32(n)});
  auto out = toHost<bf16>(dout, n);
  int bad = 0;
  for (int i = 0; i < n; ++i) {
    float q = float((words[i / 8] >> (4 * (i % 8))) & 0xF);
    bf16 ref = toBf16((q - zeros[i / group]) * scales[i / group]);
    bad += out[i].bits != ref.bits;
  }
  CHECK(bad == 0);
}

// The 16-bit path (unpack_bits to magic + u, packed subtract and multiply): the interpreter
// rounds each step as the GPU's two-lane instructions do, so the outputs agree bit for bit.
template <class Half> static Half halfOf(float v) {
  if constexpr (std::is_same_v<Half, bf16>) return toBf16(v);
  else return toFp16(v);
}

template <class Half> static void checkUnpackToHalfOnGpu(int bits, dsl::DType half) {
  const int n = (1 << 20) + 4096, block = 1024, group = 64, per = 32 / bits;
  std::vector<uint32_t> words(n / per);
  for (auto& w : words) w = uint32_t(rng()());
  auto sf = randomFloats(n / group, 0.01f, 0.1f), zf = randomFloats(n / group, 0, float(1 << bits) - 1);
  std::vector<Half> scales(n / group), zeros(n / group);
  for (int g = 0; g < n / group; ++g) scales[g] = halfOf<Half>(sf[g]), zeros[g] = halfOf<Half>(zf[g]);
  auto program = examples::unpackToHalf(bits, half, block, group, 4);
  std::vector<Half> ref(n);
  dsl::interpret(program, {int(cdiv(n, block))},
                 {dsl::KernelArg::buffer(words), dsl::KernelArg::buffer(scales), dsl::KernelArg::buffer(zeros),
                  dsl::KernelArg::buffer(ref), dsl::KernelArg::i32(n)});
  auto k = JitKernel::compile(program);
  runtime::DeviceBuffer dw = toDevice(words), ds = toDevice(scales), dz = toDevice(zeros), dout(n * 2);
  poison(dout);
  k->launch({cdiv(n, block)}, nullptr, {LaunchArg::ptr(dw.get()), LaunchArg::ptr(ds.get()), LaunchArg::ptr(dz.get()),
                                        LaunchArg::ptr(dout.get()), LaunchArg::i32(n)});
  auto out = toHost<Half>(dout, n);
  int bad = 0;
  for (int i = 0; i < n; ++i) bad += out[i].bits != ref[i].bits;
  CAPTURE(bits);
  CHECK(bad == 0);
}

TEST_CASE("codes unpacked to bf16/f16 pairs and dequantized two lanes at a time match the interpreter bit for bit") {
  for (int bits : {1, 2, 4}) checkUnpackToHalfOnGpu<bf16>(bits, dsl::DType::bf16);
  for (int bits : {2, 4, 8}) checkUnpackToHalfOnGpu<fp16>(bits, dsl::DType::f16);
}

// Split-K with atomic_add (red.global.add.f32): programs along axis 1 each sum a K slice of
// their rows and add it into the zero-initialized output; the K loop is pipelined (cp.async
// ring whose tiles feed no dot, so each thread reads its own copies back with ld.shared)
// or not, and both must give the float64 sums.
static dsl::KernelProgram splitKRowSum(int BR, int BK, int splits, int stages) {
  using namespace uintx::dsl;
  KernelBuilder kb("splitk_row_sum");
  Value x = kb.pointerArg("x", DType::f32), out = kb.pointerArg("out", DType::f32);
  Value rows = kb.scalarArg("rows", DType::i32), K = kb.scalarArg("K", DType::i32);
  Value r = kb.programId(0) * BR + kb.arange(0, BR);
  Value rowMask = r < rows;
  Value chunk = K / splits;
  Value lo = kb.programId(1) * chunk;
  Value acc = kb.forLoop(lo, lo + chunk, kb.constant(BK, DType::i32), {kb.zeros({BR, BK}, DType::f32)},
                         [&](Value k0, const std::vector<Value>& c) {
    Value t = load(x + (expandDims(r, 1) * K + expandDims(k0 + kb.arange(0, BK), 0)), expandDims(rowMask, 1), 0.0);
    return std::vector<Value>{c[0] + t};
  }, stages)[0];
  kb.atomicAdd(out + r, sum(acc, 1), rowMask);
  return kb.finish();
}

TEST_CASE("split-K row sums with atomic_add, with and without a pipelined (cp.async) K loop") {
  const int rows = 1000, K = 4096, BR = 8, BK = 128, splits = 4;
  auto x = randomFloats(size_t(rows) * K, -1, 1);
  std::vector<double> ref(rows, 0.0);
  for (int i = 0; i < rows; ++i)
    for (int k = 0; k < K; ++k) ref[i] += x[size_t(i) * K + k];
  runtime::DeviceBuffer dx = toDevice(x);
  for (int stages : {1, 3}) {
    CAPTURE(stages);
    auto k = JitKernel::compile(splitKRowSum(BR, BK, splits, stages));
    CHECK((stages > 1) == (k->ptx().ptx.find("cp.async") != std::string::npos));
    CHECK(k->ptx().ptx.find("red.global.add.f32") != std::string::npos);
    runtime::DeviceBuffer dout = toDevice(std::vector<float>(rows + 8, 0.0f));
    k->launch({cdiv(rows, BR), unsigned(splits)}, nullptr,
              {LaunchArg::ptr(dx.get()), LaunchArg::ptr(dout.get()), LaunchArg::i32(rows), LaunchArg::i32(K)});
    auto out = toHost<float>(dout, rows + 8);
    int bad = 0;
    for (int i = 0; i < rows; ++i) bad += !(std::fabs(out[i] - ref[i]) <= 1e-4 * (1 + std::fabs(ref[i])));
    CHECK(bad == 0);
    for (int i = rows; i < rows + 8; ++i) CHECK(out[i] == 0.0f);  // masked rows untouched
  }
}

// Tensor descriptors: blocks copied by the TMA, hanging over every edge of a tensor whose rows
// are further apart than they are long, standalone, in a pipelined ring read into registers,
// and as wgmma operands over more steps than the ring has buffers (its mbarriers' phases wrap).
TEST_CASE("tensor blocks by TMA copies match the interpreter") {
  const int R = 37, C = 100, stride = 112;
  SUBCASE("blocks over the edges, rows of 64 and 128 bytes") {
    std::vector<int8_t> x8(size_t(R) * stride);
    std::vector<bf16> x16(size_t(R) * stride);
    for (size_t i = 0; i < x8.size(); ++i) x8[i] = int8_t(int(randomFloats(1, -128, 127)[0]));
    for (auto& v : x16) v = toBf16(randomFloats(1, -4, 4)[0]);
    runtime::DeviceBuffer d8 = toDevice(x8), d16 = toDevice(x16);
    for (auto [dr, dc] : {std::pair{0, 0}, std::pair{-3, 16}, std::pair{9, -64}}) {  // columns at 16-byte multiples
      for (bool wide : {false, true}) {
        const int rows = wide ? 64 : 16, cols = 64, eb = wide ? 2 : 1, ldo = 3 * cols;
        auto program = examples::blockCopy(wide ? dsl::DType::bf16 : dsl::DType::i8, rows, cols);
        std::vector<uint8_t> want(size_t(3 * rows) * ldo * eb, 0x5a);
        dsl::interpret(program, {3, 3, 1},
                       {wide ? dsl::KernelArg::tensor(x16, R, C, stride) : dsl::KernelArg::tensor(x8, R, C, stride),
                        dsl::KernelArg::buffer(want), dsl::KernelArg::i32(ldo), dsl::KernelArg::i32(dr),
                        dsl::KernelArg::i32(dc)});
        runtime::DeviceBuffer out(want.size());
        poison(out);
        JitKernel::compile(program)->launch(
            {3, 3, 1}, nullptr,
            {LaunchArg::tensor(wide ? d16.get() : d8.get(), R, C, stride), LaunchArg::ptr(out.get()),
             LaunchArg::i32(ldo), LaunchArg::i32(dr), LaunchArg::i32(dc)});
        CAPTURE(dr);
        CAPTURE(dc);
        CAPTURE(wide);
        CHECK(toHost<uint8_t>(out, want.size()) == want);
      }
    }
  }
  SUBCASE("row sums over a ring of blocks read into registers") {
    const int rows = 37, cols = 1000;
    auto x = randomFloats(size_t(rows) * cols);
    auto program = examples::blockRowSum(16, 32, 3);
    std::vector<float> want(rows);
    dsl::interpret(program, {int(cdiv(rows, 16))},
                   {dsl::KernelArg::tensor(x, rows, cols, cols), dsl::KernelArg::buffer(want), dsl::KernelArg::i32(rows),
                    dsl::KernelArg::i32(cols)});
    runtime::DeviceBuffer dx = toDevice(x), out(rows * 4);
    poison(out);
    JitKernel::compile(program)->launch({cdiv(rows, 16)}, nullptr,
                                        {LaunchArg::tensor(dx.get(), rows, cols, cols), LaunchArg::ptr(out.get()),
                                         LaunchArg::i32(rows), LaunchArg::i32(cols)});
    auto got = toHost<float>(out, rows);
    for (int r = 0; r < rows; ++r) CHECK(std::fabs(got[r] - want[r]) <= 1e-4f * (1 + std::fabs(want[r])));
  }
  SUBCASE("y = x w^T on wgmma, operands in a TMA ring") {
    const int M = 300, N = 520, K = 1000;
    for (auto dtype : {dsl::DType::bf16, dsl::DType::i8}) {
      const bool i8 = dtype == dsl::DType::i8;
      auto xf = randomFloats(size_t(M) * K, i8 ? -128 : -2, i8 ? 127 : 2), wf = randomFloats(size_t(N) * K, i8 ? -128 : -2, i8 ? 127 : 2);
      std::vector<int8_t> x8(xf.size()), w8(wf.size());
      std::vector<bf16> x16(xf.size()), w16(wf.size());
      for (size_t i = 0; i < xf.size(); ++i) x8[i] = int8_t(int(xf[i])), x16[i] = toBf16(xf[i]);
      for (size_t i = 0; i < wf.size(); ++i) w8[i] = int8_t(int(wf[i])), w16[i] = toBf16(wf[i]);
      std::vector<double> want(size_t(M) * N, 0.0);
      for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
          double acc = 0;
          for (int k = 0; k < K; ++k)
            acc += i8 ? double(x8[size_t(m) * K + k]) * w8[size_t(n) * K + k]
                      : double(toFloat(x16[size_t(m) * K + k])) * toFloat(w16[size_t(n) * K + k]);
          want[size_t(m) * N + n] = acc;
        }
      runtime::DeviceBuffer dx = i8 ? toDevice(x8) : toDevice(x16), dw = i8 ? toDevice(w8) : toDevice(w16);
      runtime::DeviceBuffer y(size_t(M) * N * 4);
      poison(y);
      for (bool specialized : {false, true}) {  // the copies by a producer warpgroup
        poison(y);
        auto k = JitKernel::compile(examples::blockMatmul(dtype, 128, 128, i8 ? 128 : 64, 4, i8 ? 8 : 4, specialized));
        k->launch({cdiv(N, 128), cdiv(M, 128), 1}, nullptr,
                  {LaunchArg::tensor(dx.get(), M, K, K), LaunchArg::tensor(dw.get(), N, K, K), LaunchArg::ptr(y.get()),
                   LaunchArg::i32(M), LaunchArg::i32(N), LaunchArg::i32(K)});
        CAPTURE(specialized);
        std::vector<double> got(want.size());
        if (i8) {
          auto yi = toHost<int32_t>(y, want.size());
          for (size_t i = 0; i < got.size(); ++i) got[i] = yi[i];
          CHECK(got == want);  // exact in i32
        } else {
          auto yf = toHost<float>(y, want.size());
          for (size_t i = 0; i < got.size(); ++i) got[i] = yf[i];
          CHECK(relativeError(got, want) < 1e-5);
        }
      }
    }
  }
  SUBCASE("a tensor argument the TMA cannot take fails with a message") {
    std::vector<float> x(64 * 64);
    runtime::DeviceBuffer dx = toDevice(x), out(64 * 4);
    auto k = JitKernel::compile(examples::blockRowSum(16, 32, 2));
    auto launch = [&](CUdeviceptr base, int64_t stride) {
      k->launch({1}, nullptr, {LaunchArg::tensor(base, 16, 60, stride), LaunchArg::ptr(out.get()), LaunchArg::i32(16),
                               LaunchArg::i32(60)});
    };
    CHECK_THROWS_WITH(launch(dx.get() + 4, 64), doctest::Contains("not 16-byte aligned"));
    CHECK_THROWS_WITH(launch(dx.get(), 61), doctest::Contains("multiple of 16"));
    CHECK_THROWS_WITH(k->launch({1}, nullptr, {LaunchArg::ptr(dx.get()), LaunchArg::ptr(out.get()), LaunchArg::i32(16),
                                               LaunchArg::i32(60)}),
                      doctest::Contains("expected a tensor"));
  }
}
