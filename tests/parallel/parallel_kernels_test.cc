// The DSL kernels of parallel/ on the CPU interpreter against float64 references: SwiGLU
// (including its hand-built exp), the sum of partials, and the all-gather rearrange.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "dsl/interpreter.h"
#include "parallel/parallel_kernels.h"
#include "uintx/half.h"

using namespace uintx;
using namespace uintx::dsl;
using namespace uintx::parallel;

namespace {

std::vector<float> randomNormal(size_t n, uint32_t seed, float stddev) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

double siluTimes(double g, double u) { return g / (1.0 + std::exp(-g)) * u; }

Grid gridFor(int n, int block) { return {(n + block - 1) / block, 1, 1}; }

}  // namespace

TEST_CASE("swiGlu in f32 matches silu(g) * u to ~1e-6, over the whole range of g") {
  const int block = 256, n = 3000;  // 12 programs, the last one masked
  std::vector<float> g = randomNormal(n, 1, 4.0f), u = randomNormal(n, 2, 1.0f);
  // Extremes: exp's clamping (|g| > 87 would overflow exp in f32), zero, tiny values.
  float special[] = {0.0f, -0.0f, 1e-20f, -1e-20f, 30.0f, -30.0f, 87.0f, -87.0f, 90.0f, -90.0f, 200.0f, -200.0f};
  for (size_t i = 0; i < std::size(special); ++i) g[i * 7] = special[i];
  std::vector<float> h(n + 64, 1234.5f);  // beyond n: must stay untouched
  interpret(buildSwiGlu(DType::f32, block), gridFor(n, block),
            {KernelArg::buffer(g), KernelArg::buffer(u), KernelArg::buffer(h), KernelArg::i32(n)});
  for (int i = 0; i < n; ++i) {
    double ref = siluTimes(g[i], u[i]);
    CAPTURE(g[i]);
    CHECK(std::abs(h[i] - ref) <= 2e-6 * std::abs(ref) + 1e-30);
  }
  for (int i = n; i < n + 64; ++i) CHECK(h[i] == 1234.5f);
}

TEST_CASE("swiGlu in bf16 and fp16 rounds the f32 result once") {
  const int n = 2048;
  std::vector<float> g = randomNormal(n, 3, 3.0f), u = randomNormal(n, 4, 2.0f);
  std::vector<bf16> gb(n), ub(n), hb(n);
  std::vector<fp16> gh(n), uh(n), hh(n);
  for (int i = 0; i < n; ++i) {
    gb[i] = toBf16(g[i]), ub[i] = toBf16(u[i]);
    gh[i] = toFp16(g[i]), uh[i] = toFp16(u[i]);
  }
  interpret(buildSwiGlu(DType::bf16, 1024, 16), gridFor(n, 1024),
            {KernelArg::buffer(gb), KernelArg::buffer(ub), KernelArg::buffer(hb), KernelArg::i32(n)});
  interpret(buildSwiGlu(DType::f16, 1024, 16), gridFor(n, 1024),
            {KernelArg::buffer(gh), KernelArg::buffer(uh), KernelArg::buffer(hh), KernelArg::i32(n)});
  for (int i = 0; i < n; ++i) {
    double rb = siluTimes(toFloat(gb[i]), toFloat(ub[i])), rh = siluTimes(toFloat(gh[i]), toFloat(uh[i]));
    // One rounding: within half a unit in the last place (2^-8 / 2^-11 relative), plus the
    // f32 math's ~1e-6.
    CHECK(std::abs(toFloat(hb[i]) - rb) <= (std::ldexp(1.0, -8) + 4e-6) * std::abs(rb) + 1e-30);
    CHECK(std::abs(toFloat(hh[i]) - rh) <= (std::ldexp(1.0, -11) + 4e-6) * std::abs(rh) + 6e-8);
  }
}

TEST_CASE("sumPartials adds the ranks' partials in f32 and rounds once") {
  for (int world : {1, 2, 3, 8}) {
    CAPTURE(world);
    const int n = 2500;  // not a multiple of the block: the tail is masked
    std::vector<float> p = randomNormal(size_t(world) * n, 10 + world, 2.0f);
    std::vector<bf16> pb(p.size());
    for (size_t i = 0; i < p.size(); ++i) pb[i] = toBf16(p[i]);
    std::vector<bf16> out(n + 16, bf16{0x7FC0});  // NaN beyond n: must stay
    interpret(buildSumPartials(DType::bf16, 512), gridFor(n, 512),
              {KernelArg::buffer(pb), KernelArg::buffer(out), KernelArg::i32(n), KernelArg::i32(world)});
    for (int i = 0; i < n; ++i) {
      double ref = 0, mag = 0;
      for (int r = 0; r < world; ++r) {
        ref += toFloat(pb[size_t(r) * n + i]);
        mag += std::abs(toFloat(pb[size_t(r) * n + i]));
      }
      CHECK(std::abs(toFloat(out[i]) - ref) <= std::ldexp(1.0, -8) * std::abs(ref) + 1e-6 * mag);
    }
    for (int i = n; i < n + 16; ++i) CHECK(out[i].bits == 0x7FC0);
  }
}

TEST_CASE("rankMajorToRowMajor turns an all-gather's [world, M, cols] into [M, world * cols]") {
  for (auto [world, rows, cols] : {std::tuple{4, 3, 40}, std::tuple{2, 5, 8}, std::tuple{8, 1, 16}, std::tuple{1, 7, 24}}) {
    CAPTURE(world);
    CAPTURE(rows);
    const int total = world * rows * cols;
    std::vector<float> src(total), dst(total, -1.0f);
    for (int i = 0; i < total; ++i) src[i] = float(i);  // each value names its source index
    interpret(buildRankMajorToRowMajor(DType::f32, 128), gridFor(total, 128),
              {KernelArg::buffer(src), KernelArg::buffer(dst), KernelArg::i32(total), KernelArg::i32(rows),
               KernelArg::i32(cols)});
    for (int m = 0; m < rows; ++m)
      for (int r = 0; r < world; ++r)
        for (int j = 0; j < cols; ++j)
          CHECK(dst[size_t(m * world * cols + r * cols + j)] == float((r * rows + m) * cols + j));
    // The 16-bit variant moves the same bits.
    std::vector<fp16> s16(total), d16(total);
    for (int i = 0; i < total; ++i) s16[i] = fp16{uint16_t(i * 7 + 1)};
    interpret(buildRankMajorToRowMajor(DType::f16, 1024), gridFor(total, 1024),
              {KernelArg::buffer(s16), KernelArg::buffer(d16), KernelArg::i32(total), KernelArg::i32(rows),
               KernelArg::i32(cols)});
    for (int m = 0; m < rows; ++m)
      for (int r = 0; r < world; ++r)
        for (int j = 0; j < cols; ++j)
          CHECK(d16[size_t(m * world * cols + r * cols + j)].bits == s16[size_t((r * rows + m) * cols + j)].bits);
  }
}
