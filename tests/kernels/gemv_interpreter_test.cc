// The GEMV kernel programs, run on the CPU interpreter, against a float64 reference computed
// from the dequantized weights: every registered width, group sizes, packing widths, split-K
// and multi-row configs, odd shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "dsl/interpreter.h"
#include "kernels/int8_gemm/int8_gemm.h"
#include "kernels/quantize_rows/quantize_rows.h"
#include "kernels/split_k_reduce/split_k_reduce.h"
#include "kernels/gemv/gemv.h"
#include "kernels/common/quant_spec.h"
#include "packing/quantize.h"
#include "uintx/error.h"
#include "uintx/half.h"

using namespace uintx;

namespace {

struct Case {
  int bits, group, packing;
  int64_t N, K;
  int M;
  kernels::GemvConfig config;
  bool bias = false;
  bool f32Out = false;  // y in f32: checks the kernel's f32 arithmetic, not bf16 rounding
};

double runCase(const Case& c) {
  std::mt19937 rng(1234 + c.bits * 7 + c.M);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> w(size_t(c.N * c.K)), b(size_t(c.N));
  for (auto& v : w) v = normal(rng);
  for (auto& v : b) v = normal(rng);
  QuantizeOptions o;
  o.bit_width = c.bits;
  o.group_size = c.group;
  o.packing_bitwidth = c.packing;
  QuantizedWeight qw = quantize(w.data(), c.N, c.K, o, c.bias ? b.data() : nullptr);
  kernels::QuantSpec spec = kernels::quantSpecOf(qw.format());
  std::vector<bf16> x(size_t(c.M * c.K));
  for (auto& v : x) v = toBf16(normal(rng));

  dsl::DType yType = c.f32Out ? dsl::DType::f32 : dsl::DType::bf16;
  auto program = kernels::buildGemv(spec, dsl::DType::bf16, c.bias, c.config, yType);
  std::vector<uint8_t> packed(qw.packedData(), qw.packedData() + qw.packedBytes());
  std::vector<uint8_t> scales(qw.scalesData(), qw.scalesData() + qw.scalesBytes());
  std::vector<uint8_t> zeros(qw.zerosData(), qw.zerosData() + qw.zerosBytes());
  std::vector<uint8_t> bias(qw.biasData(), qw.biasData() + qw.biasBytes());
  int splitK = c.config.splitK;
  std::vector<float> partial(size_t(splitK) * c.M * c.N, NAN);
  std::vector<bf16> y(size_t(c.M * c.N), toBf16(NAN));
  std::vector<float> yf(size_t(c.M * c.N), NAN);
  dsl::KernelArg yArg = c.f32Out ? dsl::KernelArg::buffer(yf) : dsl::KernelArg::buffer(y);
  std::vector<dsl::KernelArg> args{dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(packed),
                                   dsl::KernelArg::buffer(scales)};
  if (!spec.symmetric) args.push_back(dsl::KernelArg::buffer(zeros));
  if (c.bias && splitK == 1) args.push_back(dsl::KernelArg::buffer(bias));
  args.push_back(splitK == 1 ? yArg : dsl::KernelArg::buffer(partial));
  args.push_back(dsl::KernelArg::i32(c.M));
  dsl::Grid grid{int((c.N + c.config.blockN - 1) / c.config.blockN), splitK,
                 (c.M + c.config.blockM - 1) / c.config.blockM};
  dsl::interpret(program, grid, args);
  if (splitK > 1) {
    auto reduce = kernels::buildSplitKReduce(c.N, splitK, yType, c.bias, spec.scaleDtype);
    std::vector<dsl::KernelArg> rargs{dsl::KernelArg::buffer(partial)};
    if (c.bias) rargs.push_back(dsl::KernelArg::buffer(bias));
    rargs.push_back(yArg);
    rargs.push_back(dsl::KernelArg::i32(c.M));
    dsl::interpret(reduce, {int((c.N + 255) / 256), c.M}, rargs);
  }
  std::vector<float> dq = qw.dequantize();
  double num = 0, den = 0;
  for (int m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n) {
      double ref = c.bias ? qw.bias(n) : 0;
      for (int64_t k = 0; k < c.K; ++k) ref += double(toFloat(x[m * c.K + k])) * dq[n * c.K + k];
      double got = c.f32Out ? yf[m * c.N + n] : toFloat(y[m * c.N + n]);
      if (std::isnan(got)) return INFINITY;
      num += (got - ref) * (got - ref);
      den += ref * ref;
    }
  return std::sqrt(num / den);
}

// The configs the cases below run: the default (BN=16 BK=256) and variations of it.
struct Configs {
  kernels::GemvConfig base, split, rows, rowsSplit, oneStage, small;
  Configs() {
    split.splitK = 2;
    rows.blockM = 4;
    rowsSplit = rows;
    rowsSplit.splitK = 2;
    oneStage.stages = 1;
    small.blockN = 8;
    small.blockK = 64;
    small.numWarps = 2;
  }
};

// Runs every case and checks its relative error against the float64 reference.
void checkCases(const std::vector<Case>& cases, double bound) {
  for (const Case& c : cases) {
    CAPTURE(c.bits);
    CAPTURE(c.group);
    CAPTURE(c.packing);
    CAPTURE(c.N);
    CAPTURE(c.K);
    CAPTURE(c.M);
    CAPTURE(c.f32Out);
    CAPTURE(c.config.toString());
    CHECK(runCase(c) <= bound);
  }
}

}  // namespace

TEST_CASE("GEMV programs match the float64 reference on the interpreter") {
  Configs k;
  checkCases({
      {4, 128, 32, 64, 512, 1, k.base},    {4, 64, 32, 64, 512, 3, k.base, true},
      {4, 128, 8, 48, 512, 2, k.split},    {4, 128, 16, 40, 1024, 5, k.rows},
      {8, 0, 32, 64, 512, 1, k.base},      {8, 0, 8, 64, 512, 3, k.small, true},
      {2, 128, 32, 32, 512, 1, k.base},    {1, 64, 32, 32, 512, 2, k.small},
      {3, 64, 32, 32, 512, 1, k.base},     {3, 128, 16, 32, 512, 3, k.split},
      {4, 0, 32, 24, 1025, 1, k.small},    {8, 0, 32, 16, 1025, 2, k.small},
      // Several activation rows per program (the per-weight zero subtraction) on every path.
      {8, 0, 32, 64, 512, 4, k.rows, true}, {4, 0, 16, 40, 512, 3, k.rows},
      {3, 64, 8, 32, 512, 5, k.rows},      {3, 0, 32, 24, 1025, 3, k.rows},
      {2, 32, 32, 32, 512, 4, k.rowsSplit}, {8, 0, 16, 32, 512, 2, k.rowsSplit},
      // One stage (no prefetch), group 32, one row.
      {4, 32, 32, 64, 512, 1, k.oneStage}, {8, 0, 32, 64, 512, 2, k.oneStage},
  }, 1e-2);
}

// With f32 outputs the bf16 rounding of y no longer hides the kernel's own f32 error: the
// per-segment sums and the decodes (1 + u / 2^bits; one row: the paired subnormals) must stay
// near f32 accuracy.
TEST_CASE("GEMV programs with f32 outputs match the float64 reference closely") {
  Configs k;
  std::vector<Case> cases = {
      {4, 128, 32, 64, 1024, 1, k.base}, {4, 64, 32, 64, 1024, 3, k.rows, true}, {8, 0, 32, 64, 1024, 1, k.split},
      {8, 0, 8, 64, 1024, 4, k.rows},    {3, 64, 32, 32, 1024, 1, k.base},       {2, 0, 32, 32, 1024, 2, k.small, true},
      {4, 0, 32, 24, 1025, 1, k.small},  {1, 128, 16, 32, 1024, 4, k.rows},
      // One row on the word path: the paired subnormal decode, every whole-word width.
      {1, 64, 32, 32, 1024, 1, k.base},  {2, 128, 16, 32, 1024, 1, k.base},      {8, 0, 16, 32, 1024, 1, k.base},
  };
  for (Case& c : cases) c.f32Out = true;
  checkCases(cases, 1e-6);  // measured: 5e-8 .. 2e-7
}

// K a multiple of the vector width but not of blockK: the whole-word path with a last step
// past K, its segments beyond K masked whole (the register prefetch, the shared-memory ring
// and no pipelining; one and several rows; unsplit and split), exact to f32 accuracy.
TEST_CASE("GEMV with a last step past K matches the float64 reference closely") {
  Configs k;
  kernels::GemvConfig ring = k.base, split3 = k.base;
  ring.stages = 3;
  split3.splitK = 3;
  std::vector<Case> cases = {
      {4, 64, 32, 64, 320, 1, k.base},  {4, 64, 32, 64, 320, 1, ring},     {4, 64, 32, 64, 320, 1, k.oneStage},
      {8, 0, 32, 64, 208, 1, k.base},   {8, 0, 32, 64, 208, 2, k.small},   {2, 32, 32, 32, 384, 3, k.rows, true},
      {8, 0, 32, 48, 4160, 1, k.base},
      // Split into slices of whole steps, the last one's last step past K: 2 steps split 2
      // (the second slice mostly masked), 17 steps split 3 (5 + 6 + 6).
      {4, 64, 32, 64, 320, 1, k.split}, {8, 0, 32, 48, 4160, 1, split3, true}, {2, 32, 32, 32, 384, 3, k.rowsSplit},
  };
  for (Case& c : cases) {
    c.f32Out = true;
    kernels::QuantSpec q;
    q.bits = c.bits, q.K = c.K, q.N = c.N, q.groupSize = c.group ? c.group : int(c.K);
    CAPTURE(c.K);
    CHECK(c.K % c.config.blockK != 0);
    CHECK(kernels::usesWordPath(q, c.config));
  }
  checkCases(cases, 1e-6);
}

TEST_CASE("configs that cannot run a format are rejected") {
  kernels::QuantSpec q;
  q.N = 64;
  q.K = 1000;
  kernels::GemvConfig c;
  c.splitK = 5;  // K = 1000 takes 4 steps of 256
  CHECK_THROWS_WITH_AS(kernels::buildGemv(q, dsl::DType::bf16, false, c), doctest::Contains("split-K"), uintx::Error);
  c.splitK = 1;
  c.blockN = 12;
  CHECK_THROWS_WITH_AS(kernels::buildGemv(q, dsl::DType::bf16, false, c), doctest::Contains("powers of two"), uintx::Error);
}
