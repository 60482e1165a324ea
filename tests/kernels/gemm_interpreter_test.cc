// The tensor-core GEMM programs on the CPU interpreter against float64 references: weight-only
// 4- and 8-bit (also split over K, then reduced), and int8 dynamic activations (8-bit
// symmetric and 4-bit grouped weights).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "dsl/interpreter.h"
#include "kernels/int8_gemm/int8_gemm.h"
#include "kernels/quantize_rows/quantize_rows.h"
#include "kernels/split_k_reduce/split_k_reduce.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/tail_reduce.h"
#include "kernels/common/quant_spec.h"
#include "packing/quantize.h"
#include "uintx/error.h"
#include "uintx/half.h"

using namespace uintx;

namespace {

struct Weights {
  QuantizedWeight q;
  std::vector<uint8_t> packed, scales, zeros, bias;
  std::vector<float> dq;
};

Weights makeWeights(int64_t N, int64_t K, int bits, int group, bool bias, std::mt19937& rng,
                    ScalarType scaleDtype = ScalarType::bf16) {
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> w(N * K), b(N);
  for (auto& v : w) v = normal(rng);
  for (auto& v : b) v = normal(rng);
  QuantizeOptions o;
  o.bit_width = bits;
  o.group_size = group;
  o.scale_dtype = scaleDtype;
  Weights r{quantize(w.data(), N, K, o, bias ? b.data() : nullptr), {}, {}, {}, {}, {}};
  r.packed.assign(r.q.packedData(), r.q.packedData() + r.q.packedBytes());
  r.scales.assign(r.q.scalesData(), r.q.scalesData() + r.q.scalesBytes());
  r.zeros.assign(r.q.zerosData(), r.q.zerosData() + r.q.zerosBytes());
  r.bias.assign(r.q.biasData(), r.q.biasData() + r.q.biasBytes());
  r.dq = r.q.dequantize();
  return r;
}

double relErr(const std::vector<double>& got, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i])) return INFINITY;
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

}  // namespace

// Both K loops: 64-row tiles dequantize one step ahead, 16-row tiles in the step; both load
// the group factors a step before they use them.
TEST_CASE("weight-only tensor-core GEMM matches float64") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0, 1);
  for (int blockM : {64, 16})
  for (auto [bits, group, M] :
       std::vector<std::array<int, 3>>{{4, 128, 33}, {4, 64, 70}, {8, 0, 17}, {4, 0, 9}, {2, 64, 19}, {1, 128, 5}, {2, 0, 3}}) {
    const int64_t N = 160, K = 256;
    Weights w = makeWeights(N, K, bits, group, true, rng);
    kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
    kernels::GemmConfig c;  // BM=64 BN=128 BK=32, 4 warps
    c.blockM = blockM;
    c.blockK = std::max(32, 4 * (32 / bits));  // whole words per thread on the register path
    CAPTURE(blockM);
    std::vector<bf16> x(M * K), y(M * N, toBf16(NAN));
    for (auto& v : x) v = toBf16(normal(rng));
    std::vector<dsl::KernelArg> args{dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(w.packed),
                                     dsl::KernelArg::buffer(w.scales)};
    if (!q.symmetric) args.push_back(dsl::KernelArg::buffer(w.zeros));
    args.push_back(dsl::KernelArg::buffer(w.bias));
    args.push_back(dsl::KernelArg::buffer(y));
    args.push_back(dsl::KernelArg::i32(M));
    dsl::interpret(kernels::buildGemm(q, dsl::DType::bf16, true, c),
                   {int((N + c.blockN - 1) / c.blockN), (M + c.blockM - 1) / c.blockM}, args);
    std::vector<double> got, ref;
    for (int m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double r = w.q.bias(n);
        for (int64_t k = 0; k < K; ++k) r += double(toFloat(x[m * K + k])) * w.dq[n * K + k];
        ref.push_back(r);
        got.push_back(toFloat(y[m * N + n]));
      }
    CAPTURE(bits);
    CHECK(relErr(got, ref) <= 1e-2);
  }
}

// TMA copies of the activations (GemmConfig::tmaCopies) on the weight-only tiles on wgmma that
// dequantize a step ahead: x's blocks past its last row and the partial column blocks of the
// weights, x w^T (4-bit grouped, 8-bit per-row) and w x^T (4-bit), split and unsplit.
TEST_CASE("weight-only GEMM with TMA copies of x matches float64") {
  std::mt19937 rng(13);
  std::normal_distribution<float> normal(0, 1);
  for (auto [bm, bn, warps, split, wA] : std::vector<std::array<int, 5>>{
           {64, 128, 4, 1, 0}, {64, 128, 4, 2, 0}, {128, 64, 4, 1, 1}, {64, 128, 8, 2, 1}})
    for (auto [bits, group, M] : std::vector<std::array<int, 3>>{{4, 128, 37}, {8, 0, 70}}) {
      if (wA && bits == 8) continue;  // the transposed tile takes codes of up to 4 bits
      const int64_t N = 160, K = 512;
      Weights w = makeWeights(N, K, bits, group, true, rng);
      kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
      kernels::GemmConfig c;
      c.blockM = bm, c.blockN = bn, c.blockK = 64, c.numWarps = warps, c.stages = 3, c.splitK = split;
      c.weightsAsA = wA, c.tmaCopies = 1;
      CAPTURE(c.toString());
      CAPTURE(bits);
      REQUIRE(kernels::gemmSupports(q, c, false));
      std::vector<bf16> x(M * K), y(M * N, toBf16(NAN));
      for (auto& v : x) v = toBf16(normal(rng));
      std::vector<float> partial(size_t(split) * M * N, NAN);
      std::vector<dsl::KernelArg> args{dsl::KernelArg::tensor(x, M, K, K), dsl::KernelArg::buffer(w.packed),
                                       dsl::KernelArg::buffer(w.scales)};
      if (!q.symmetric) args.push_back(dsl::KernelArg::buffer(w.zeros));
      if (split == 1) {
        args.push_back(dsl::KernelArg::buffer(w.bias));
        args.push_back(dsl::KernelArg::buffer(y));
      } else {
        args.push_back(dsl::KernelArg::buffer(partial));
      }
      args.push_back(dsl::KernelArg::i32(M));
      dsl::interpret(kernels::buildGemm(q, dsl::DType::bf16, true, c),
                     {int((N + c.blockN - 1) / c.blockN), (M + c.blockM - 1) / c.blockM, split}, args);
      if (split > 1)
        dsl::interpret(kernels::buildSplitKReduce(N, split, dsl::DType::bf16, true, q.scaleDtype), {int((N + 255) / 256), M},
                       {dsl::KernelArg::buffer(partial), dsl::KernelArg::buffer(w.bias), dsl::KernelArg::buffer(y),
                        dsl::KernelArg::i32(M)});
      std::vector<double> got, ref;
      for (int m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double r = w.q.bias(n);
          for (int64_t k = 0; k < K; ++k) r += double(toFloat(x[m * K + k])) * w.dq[n * K + k];
          ref.push_back(r);
          got.push_back(toFloat(y[m * N + n]));
        }
      CHECK(relErr(got, ref) <= 1e-2);
    }
  // Where it cannot: 16 rows of x (dequantized in the step), corrected products, mma.sync tiles.
  Weights w = makeWeights(64, 256, 4, 128, false, rng);
  kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
  kernels::GemmConfig c;
  c.blockM = 16, c.blockK = 64, c.tmaCopies = 1;
  CHECK(!kernels::gemmSupports(q, c, false));
  c.blockM = 64, c.blockK = 32;
  CHECK(!kernels::gemmSupports(q, c, false));
}

// The transposed GEMM (weightsAsA: acc[BN, BM] = w x^T, the dequantized weights as wgmma's a
// operand): rows and columns of y, masks of partial blocks on both sides, per-row scales and
// the bias along the accumulator's rows, split-K partials.
// On wgmma (64 weight rows per warpgroup) and on mma.sync (few rows of x: blockM 8 to 32,
// 16 weight rows per warp).
TEST_CASE("weight-only GEMM with the weights as the a operand matches float64") {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0, 1);
  for (auto [bits, group, M, splitK, K, blockM, blockK] : std::vector<std::array<int, 7>>{{4, 128, 70, 1, 256, 128, 64},
                                                                        {4, 64, 33, 2, 256, 64, 64},
                                                                        {2, 64, 19, 1, 256, 64, 64},
                                                                        {1, 128, 5, 1, 256, 64, 64},
                                                                        {4, 0, 130, 1, 256, 128, 64},
                                                                        {2, 0, 9, 2, 256, 64, 64},
                                                                        {4, 128, 40, 2, 128, 64, 64},
                                                                        {4, 128, 1, 1, 384, 8, 128},
                                                                        {4, 64, 7, 3, 384, 8, 128},
                                                                        {4, 128, 13, 1, 256, 16, 64},
                                                                        {2, 64, 30, 2, 256, 32, 128},
                                                                        {1, 128, 3, 1, 256, 8, 128},
                                                                        {4, 0, 9, 1, 256, 8, 64},
                                                                        {4, 0, 9, 1, 256, 8, 128},
                                                                        {2, 128, 4, 2, 512, 16, 128},
                                                                        {4, 256, 6, 2, 512, 8, 128},
                                                                        {4, 64, 11, 1, 512, 8, 256},
                                                                        {2, 32, 6, 2, 1024, 16, 128}}) {
    const int64_t N = 160;
    Weights w = makeWeights(N, K, bits, group, true, rng);
    kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
    kernels::GemmConfig c;
    c.weightsAsA = 1, c.blockN = 64, c.blockM = blockM, c.blockK = blockK, c.numWarps = 4, c.splitK = splitK;
    // One stage on the mma.sync tiles: the next step's words and activations carried in
    // registers; where the steps lie within one group, the products corrected.
    c.stages = blockM <= 32 && blockK >= 128 ? 1 : 3;
    kernels::GemmConfig corrected = c;
    corrected.correctProducts = 1;
    if (kernels::gemmSupports(q, corrected, false)) c = corrected;
    CAPTURE(bits);
    CAPTURE(group);
    CAPTURE(M);
    CAPTURE(c.toString());
    REQUIRE(kernels::gemmSupports(q, c, false));
    std::vector<bf16> x(M * K), y(M * N, toBf16(NAN));
    std::vector<float> partial(size_t(splitK) * M * N, NAN);
    for (auto& v : x) v = toBf16(normal(rng));
    std::vector<dsl::KernelArg> args{dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(w.packed),
                                     dsl::KernelArg::buffer(w.scales)};
    if (!q.symmetric) args.push_back(dsl::KernelArg::buffer(w.zeros));
    if (splitK == 1) args.push_back(dsl::KernelArg::buffer(w.bias));
    args.push_back(splitK == 1 ? dsl::KernelArg::buffer(y) : dsl::KernelArg::buffer(partial));
    args.push_back(dsl::KernelArg::i32(M));
    dsl::interpret(kernels::buildGemm(q, dsl::DType::bf16, true, c),
                   {int((N + c.blockN - 1) / c.blockN), (M + c.blockM - 1) / c.blockM, splitK}, args);
    std::vector<double> got, ref;
    for (int m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double r = splitK == 1 ? w.q.bias(n) : 0;
        for (int64_t k = 0; k < K; ++k) r += double(toFloat(x[m * K + k])) * w.dq[n * K + k];
        ref.push_back(r);
        double sum = 0;
        for (int s = 0; s < splitK; ++s) sum += partial[(size_t(s) * M + m) * N + n];
        got.push_back(splitK == 1 ? toFloat(y[m * N + n]) : sum);
      }
    CHECK(relErr(got, ref) <= 1e-2);
  }
}

// The 16-bit decode (bf16 and f16 activations, scales in the same dtype: magic + u, the zero's
// integer part subtracted exactly, one packed fma; or, with corrected products, magic + u to
// the mma and the zero and scale on the step's f32 products) keeps the dot accumulated in f32
// by the tensor cores: over K = 28672 (a down projection's K) the output stays within 1e-2 of
// float64, with the quantizer's fractional zeros.
TEST_CASE("16-bit decode GEMM over K = 28672 matches float64 within 1e-2") {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0, 1);
  struct Case { int bits, group; dsl::DType act; };
  for (Case t : {Case{4, 128, dsl::DType::bf16}, Case{2, 64, dsl::DType::bf16}, Case{4, 128, dsl::DType::f16}, Case{8, 0, dsl::DType::f16}}) {
    const int64_t N = 32, K = 28672;
    const int M = 3;
    const bool f16 = t.act == dsl::DType::f16;
    Weights w = makeWeights(N, K, t.bits, t.group, false, rng, f16 ? ScalarType::f16 : ScalarType::bf16);
    kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
    REQUIRE(dsl::unpacksToHalf(q.bits, t.act));
    kernels::GemmConfig tile16;
    tile16.blockM = 16, tile16.blockN = 32, tile16.blockK = std::max(64, 4 * (32 / t.bits)), tile16.numWarps = 4;
    // And the default for M = 3 (unsplit: SMs unknown): the one-stage transposed tile up to 4
    // bits; and that tile with corrected products where its steps lie within one group.
    kernels::GemmConfig corrected;
    corrected.weightsAsA = 1, corrected.blockM = 8, corrected.blockN = 32, corrected.blockK = 128;
    corrected.numWarps = 2, corrected.stages = 1, corrected.correctProducts = 1;
    std::vector<kernels::GemmConfig> configs{tile16, kernels::ruleGemmConfig(q, M, false, 0)};
    if (kernels::gemmSupports(q, corrected, false)) configs.push_back(corrected);
    for (const kernels::GemmConfig& c : configs) {
      CAPTURE(c.toString());
      std::vector<float> xf(M * K);
      for (auto& v : xf) v = normal(rng);
      std::vector<uint16_t> x(M * K), y(M * N, 0xFFFF);
      for (size_t i = 0; i < xf.size(); ++i) {
        x[i] = f16 ? toFp16(xf[i]).bits : toBf16(xf[i]).bits;
        xf[i] = f16 ? toFloat(fp16{x[i]}) : toFloat(bf16{x[i]});
      }
      std::vector<dsl::KernelArg> args{dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(w.packed),
                                       dsl::KernelArg::buffer(w.scales)};
      if (!q.symmetric) args.push_back(dsl::KernelArg::buffer(w.zeros));
      args.push_back(dsl::KernelArg::buffer(y));
      args.push_back(dsl::KernelArg::i32(M));
      dsl::interpret(kernels::buildGemm(q, t.act, false, c), {int((N + c.blockN - 1) / c.blockN), (M + c.blockM - 1) / c.blockM}, args);
      std::vector<double> got, ref;
      for (int m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double r = 0;
          for (int64_t k = 0; k < K; ++k) r += double(xf[m * K + k]) * w.dq[n * K + k];
          ref.push_back(r);
          got.push_back(f16 ? toFloat(fp16{y[m * N + n]}) : toFloat(bf16{y[m * N + n]}));
        }
      CAPTURE(t.bits);
      CHECK(relErr(got, ref) <= 1e-2);
    }
  }
}

// Zeros a file may hold but the quantizer never makes (far outside the code range, negative,
// fractional, some not integers of the dtype near magic + z): the 16-bit decode still gives
// w within the dtype's rounding of (q - z) s.
TEST_CASE("16-bit decode with zeros far outside the code range matches float64") {
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0, 1);
  const int64_t N = 64, K = 256;
  const int M = 5;
  Weights base = makeWeights(N, K, 4, 64, false, rng);
  std::vector<uint8_t> zeros = base.zeros;
  const float odd[] = {301.25f, -200.5f, 129.75f, -131.0f, 7.5f, 1001.0f};
  for (size_t i = 0; i < zeros.size() / 2; ++i) {
    uint16_t b = toBf16(odd[i % 6]).bits;
    std::memcpy(&zeros[2 * i], &b, 2);
  }
  QuantizedWeight qw(base.q.format(), base.packed, base.scales, zeros, {});
  const std::vector<float> dq = qw.dequantize();
  kernels::QuantSpec q = kernels::quantSpecOf(qw.format());
  // The 16-row tile (each weight dequantized), and the transposed one-stage tile whose steps lie
  // in one group (the step's products corrected by the zero and scale).
  kernels::GemmConfig tile16, transposed;
  tile16.blockM = 16, tile16.blockN = 32, tile16.blockK = 64;
  transposed.blockM = 8, transposed.blockN = 64, transposed.blockK = 64, transposed.numWarps = 4;
  transposed.stages = 1, transposed.weightsAsA = 1, transposed.correctProducts = 1;
  for (const kernels::GemmConfig& c : {tile16, transposed}) {
    CAPTURE(c.toString());
    std::vector<bf16> x(M * K), y(M * N, toBf16(NAN));
    for (auto& v : x) v = toBf16(normal(rng));
    dsl::interpret(kernels::buildGemm(q, dsl::DType::bf16, false, c), {int(N / c.blockN), (M + c.blockM - 1) / c.blockM},
                   {dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(base.packed), dsl::KernelArg::buffer(base.scales),
                    dsl::KernelArg::buffer(zeros), dsl::KernelArg::buffer(y), dsl::KernelArg::i32(M)});
    std::vector<double> got, ref;
    for (int m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double r = 0;
        for (int64_t k = 0; k < K; ++k) r += double(toFloat(x[m * K + k])) * dq[n * K + k];
        ref.push_back(r);
        got.push_back(toFloat(y[m * N + n]));
      }
    CHECK(relErr(got, ref) <= 1e-2);
  }
}

// With split-K (splitK 2) the int8 GEMM writes f32 partials of the scaled sums and the reduce
// adds them and the bias.
TEST_CASE("quantizeRows: the whole row in one pass and in blocks both match the definition") {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0, 1);
  const int M = 3;
  // 200: the one-pass block (256) masks its tail; 96 with blocks of 32 takes the blocked loops.
  for (auto [K, block] : {std::pair<int64_t, int>{200, 0}, {256, 0}, {96, 32}, {200, 64}}) {
    CAPTURE(K);
    CAPTURE(block);
    std::vector<bf16> x(M * K);
    for (auto& v : x) v = toBf16(5 * normal(rng));
    for (int64_t k = 0; k < K; ++k) x[2 * K + k] = toBf16(0.0f);  // an all-zero row: scale 1, codes 0
    std::vector<int8_t> xq(M * K, 99);
    std::vector<float> xs(M, NAN);
    dsl::interpret(kernels::buildQuantizeRows(K, dsl::DType::bf16, block), {M},
                   {dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(xq), dsl::KernelArg::buffer(xs),
                    dsl::KernelArg::i32(M)});
    for (int m = 0; m < M; ++m) {
      float amax = 0;
      for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(toFloat(x[m * K + k])));
      float s = amax > 0 ? amax / 127.0f : 1.0f;
      CHECK(xs[m] == doctest::Approx(s).epsilon(1e-6));
      for (int64_t k = 0; k < K; ++k) {
        float t = toFloat(x[m * K + k]) / xs[m];
        int want = std::clamp(int(t + (t >= 0 ? 0.5f : -0.5f)), -127, 127);
        CHECK(int(xq[m * K + k]) == want);
      }
    }
  }
}

// quantizeRows, the int8 GEMM with config c and, split, the reduce, on the interpreter; checks
// the quantization on its own (|x - q*s| <= s/2, max |q| == 127) and returns the relative
// error of y against float64 on the quantized rows.
double int8LinearError(Weights& w, const kernels::QuantSpec& q, const kernels::GemmConfig& c, int M,
                       int quantizeBlock, std::mt19937& rng) {
  std::normal_distribution<float> normal(0, 1);
  const int64_t N = q.N, K = q.K;
  const int splitK = c.splitK;
  std::vector<bf16> x(M * K), y(M * N, toBf16(NAN));
  for (auto& v : x) v = toBf16(3 * normal(rng));
  std::vector<int8_t> xq(M * K);
  std::vector<float> xs(M, NAN);
  dsl::interpret(kernels::buildQuantizeRows(K, dsl::DType::bf16, quantizeBlock), {M},
                 {dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(xq), dsl::KernelArg::buffer(xs),
                  dsl::KernelArg::i32(M)});
  for (int m = 0; m < M; ++m) {
    int amax = 0;
    for (int64_t k = 0; k < K; ++k) {
      amax = std::max(amax, std::abs(int(xq[m * K + k])));
      CHECK(std::fabs(toFloat(x[m * K + k]) - xq[m * K + k] * xs[m]) <= xs[m] * 0.5001f);
    }
    CHECK(amax == 127);
  }
  const bool bias = !w.bias.empty();
  // With TMA copies both int8 operands are tensors: [M, K] and [N, K] of rowBytes.
  std::vector<dsl::KernelArg> args{
      c.tmaCopies ? dsl::KernelArg::tensor(xq, M, K, K) : dsl::KernelArg::buffer(xq), dsl::KernelArg::buffer(xs),
      c.tmaCopies ? dsl::KernelArg::tensor(w.packed, N, K, q.rowBytes()) : dsl::KernelArg::buffer(w.packed),
      dsl::KernelArg::buffer(w.scales)};
  if (!q.symmetric) args.push_back(dsl::KernelArg::buffer(w.zeros));
  std::vector<float> partial(size_t(splitK) * M * N, NAN);
  if (splitK == 1) {
    if (bias) args.push_back(dsl::KernelArg::buffer(w.bias));
    args.push_back(dsl::KernelArg::buffer(y));
  } else {
    args.push_back(dsl::KernelArg::buffer(partial));  // no bias parameter: the reduce adds it
  }
  args.push_back(dsl::KernelArg::i32(M));
  dsl::KernelProgram gemm = kernels::buildInt8Gemm(q, dsl::DType::bf16, bias, c);
  REQUIRE(gemm.params.size() == args.size());
  dsl::interpret(gemm, {int((N + c.blockN - 1) / c.blockN), (M + c.blockM - 1) / c.blockM, splitK}, args);
  if (splitK > 1) {
    std::vector<dsl::KernelArg> reduceArgs{dsl::KernelArg::buffer(partial)};
    if (bias) reduceArgs.push_back(dsl::KernelArg::buffer(w.bias));
    reduceArgs.push_back(dsl::KernelArg::buffer(y));
    reduceArgs.push_back(dsl::KernelArg::i32(M));
    dsl::interpret(kernels::buildSplitKReduce(N, splitK, dsl::DType::bf16, bias, q.scaleDtype),
                   {int((N + 255) / 256), M}, reduceArgs);
  }
  std::vector<double> got, ref;
  for (int m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double r = bias ? w.q.bias(n) : 0;
      for (int64_t k = 0; k < K; ++k) r += double(xq[m * K + k]) * xs[m] * w.dq[n * K + k];
      ref.push_back(r);
      got.push_back(toFloat(y[m * N + n]));
    }
  return relErr(got, ref);
}

TEST_CASE("int8 dynamic activations: quantizeRows then int8 GEMM, with and without split-K") {
  std::mt19937 rng(11);
  for (int splitK : {1, 2, 3})  // 3: uneven slices of whole steps (8-bit: 8 steps, 3 + 2 + 3)
    for (auto [bits, group, M] : std::vector<std::array<int, 3>>{{8, 0, 37}, {4, 128, 20}, {4, 64, 65}}) {
      Weights w = makeWeights(136, 256, bits, group, bits == 8, rng);
      kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
      kernels::GemmConfig c;
      if (!q.symmetric) c.blockK = group;
      c.splitK = splitK;
      if (splitK == 3 && group == 128) {  // two steps of 128: no third slice
        CHECK(!kernels::gemmSupports(q, c, true));
        continue;
      }
      CAPTURE(splitK);
      CAPTURE(bits);
      CAPTURE(group);
      CHECK(int8LinearError(w, q, c, M, 128, rng) <= 1e-2);
    }
}

// The transposed int8 GEMM (weightsAsA): acc[BN, BM] = w x^T, the weight rows on the tensor
// core's wide side. Tiles for wgmma (64 or 128 weight rows per warpgroup) and for mma.sync
// (8 and 16 rows of x), unsplit and split, M below, at and above the tile's rows; 4-bit weights refused.
TEST_CASE("int8 GEMM with the weights as the a operand matches float64") {
  std::mt19937 rng(23);
  Weights w = makeWeights(136, 512, 8, 0, true, rng);
  kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
  for (auto [bn, bm, warps, split] : std::vector<std::array<int, 4>>{
           {64, 16, 4, 1}, {64, 16, 4, 3}, {128, 32, 8, 1}, {64, 8, 4, 1}, {32, 8, 2, 2}, {32, 16, 2, 1}, {64, 64, 4, 1}})
    for (int M : {1, 5, bm, bm + 3}) {
      kernels::GemmConfig c;
      c.weightsAsA = 1, c.blockN = bn, c.blockM = bm, c.numWarps = warps, c.blockK = 128, c.stages = 3, c.splitK = split;
      CAPTURE(c.toString());
      CAPTURE(M);
      REQUIRE(kernels::gemmSupports(q, c, true));
      CHECK(int8LinearError(w, q, c, M, 0, rng) <= 1e-2);
    }
  Weights w4 = makeWeights(64, 256, 4, 128, false, rng);
  kernels::GemmConfig c;
  c.weightsAsA = 1, c.blockN = 64, c.blockM = 16, c.blockK = 128;
  CHECK(!kernels::gemmSupports(kernels::quantSpecOf(w4.q.format()), c, true));
}

// TMA copies (GemmConfig::tmaCopies): both operands' blocks from tensor descriptors, zero past
// the last row of x, of the weights (N = 136) and past K's last step, on the tiles of wgmma:
// 64 and 128 rows of x, split and unsplit, and the transposed tile.
TEST_CASE("int8 GEMM with TMA copies matches float64") {
  std::mt19937 rng(29);
  Weights w = makeWeights(136, 512, 8, 0, true, rng);
  kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
  for (auto [bm, bn, warps, split, wA, ws] : std::vector<std::array<int, 6>>{
           {64, 128, 4, 1, 0, 0}, {64, 128, 4, 2, 0, 0}, {128, 128, 8, 1, 0, 0}, {16, 64, 4, 1, 1, 0}, {32, 128, 8, 2, 1, 0},
           {128, 128, 8, 1, 0, 1}, {16, 64, 4, 2, 1, 1}})  // the last two warp-specialized
    for (int M : {5, bm + 3}) {
      kernels::GemmConfig c;
      c.blockM = bm, c.blockN = bn, c.numWarps = warps, c.blockK = 128, c.stages = 3, c.splitK = split;
      c.weightsAsA = wA, c.tmaCopies = 1, c.warpSpecialized = ws;
      CAPTURE(c.toString());
      CAPTURE(M);
      REQUIRE(kernels::gemmSupports(q, c, true));
      CHECK(int8LinearError(w, q, c, M, 0, rng) <= 1e-2);
    }
  // Where it cannot: a tile on mma.sync, 4-bit weights; warp specialization without TMA copies.
  kernels::GemmConfig c;
  c.blockM = 64, c.blockN = 128, c.blockK = 32, c.tmaCopies = 1;
  CHECK(!kernels::gemmSupports(q, c, true));
  c.blockK = 128, c.tmaCopies = 0, c.warpSpecialized = 1;
  CHECK(!kernels::gemmSupports(q, c, true));
  Weights w4 = makeWeights(64, 256, 4, 128, false, rng);
  c.blockK = 128;
  CHECK(!kernels::gemmSupports(kernels::quantSpecOf(w4.q.format()), c, true));
}

// K not a multiple of 128: the int8 defaults take 64- or 32-deep steps (and split where the
// grid is small), with the one-pass quantization; 8-bit, so with a bias.
TEST_CASE("int8 defaults where K is a multiple of 64 or 32 only match float64") {
  std::mt19937 rng(5);
  for (int64_t K : {192, 160})
    for (int M : {3, 20}) {
      Weights w = makeWeights(40, K, 8, 0, true, rng);
      kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
      kernels::GemmConfig c = kernels::ruleGemmConfig(q, M, true, 132);
      CAPTURE(K);
      CAPTURE(M);
      CAPTURE(c.toString());
      CHECK(c.blockK < 128);
      CHECK(int8LinearError(w, q, c, M, 0, rng) <= 1e-2);
    }
}

// Split-K: program_id(2) sums one K slice into f32 partials [splitK, M, N]; splitKReduce adds
// the slices (+ bias) into y. Each slice is checked on its own as well as the final y.
TEST_CASE("split-K weight-only GEMM: per-slice partials and the reduced y match float64") {
  std::mt19937 rng(23);
  std::normal_distribution<float> normal(0, 1);
  struct Case {
    int bits, group, M, splitK;
    bool bias;
  };
  std::vector<Case> cases;
  for (int splitK : {2, 3, 4, 5})  // 3 and 5: slices of unequal numbers of K steps
    for (bool bias : {false, true}) {
      cases.push_back({4, 128, 37, splitK, bias});  // grouped 4-bit, asymmetric
      cases.push_back({8, 0, 21, splitK, bias});    // 8-bit symmetric per channel
    }
  for (const Case& t : cases) {
    const int64_t N = 160, K = 512;
    const int M = t.M, S = t.splitK;
    Weights w = makeWeights(N, K, t.bits, t.group, t.bias, rng);
    kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
    kernels::GemmConfig c;  // BM=64 BN=128 BK=32
    c.splitK = S;
    c.stages = S % 2 == 0 ? 2 : 1;  // both K loops: prefetching and not
    REQUIRE(kernels::gemmSupports(q, c, false));
    std::vector<bf16> x(M * K), y(M * N, toBf16(NAN));
    for (auto& v : x) v = toBf16(normal(rng));
    std::vector<float> partial(size_t(S) * M * N, NAN);
    std::vector<dsl::KernelArg> args{dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(w.packed),
                                     dsl::KernelArg::buffer(w.scales)};
    if (!q.symmetric) args.push_back(dsl::KernelArg::buffer(w.zeros));
    args.push_back(dsl::KernelArg::buffer(partial));  // no bias parameter: the reduce adds it
    args.push_back(dsl::KernelArg::i32(M));
    dsl::KernelProgram gemm = kernels::buildGemm(q, dsl::DType::bf16, t.bias, c);
    CHECK(gemm.params.size() == args.size());
    dsl::interpret(gemm, {int((N + c.blockN - 1) / c.blockN), (M + c.blockM - 1) / c.blockM, S}, args);
    std::vector<dsl::KernelArg> reduceArgs{dsl::KernelArg::buffer(partial)};
    if (t.bias) reduceArgs.push_back(dsl::KernelArg::buffer(w.bias));
    reduceArgs.push_back(dsl::KernelArg::buffer(y));
    reduceArgs.push_back(dsl::KernelArg::i32(M));
    dsl::interpret(kernels::buildSplitKReduce(N, S, dsl::DType::bf16, t.bias, q.scaleDtype), {int((N + 255) / 256), M},
                   reduceArgs);

    std::vector<double> got, ref, gotSlice, refSlice;
    for (int m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double total = t.bias ? w.q.bias(n) : 0;
        for (int s = 0; s < S; ++s) {
          double r = 0;
          const int64_t steps = K / c.blockK;  // slice s: steps [s * steps / S, (s + 1) * steps / S)
          for (int64_t k = s * steps / S * c.blockK; k < (s + 1) * steps / S * c.blockK; ++k)
            r += double(toFloat(x[m * K + k])) * w.dq[n * K + k];
          refSlice.push_back(r);
          gotSlice.push_back(partial[(size_t(s) * M + m) * N + n]);
          total += r;
        }
        ref.push_back(total);
        got.push_back(toFloat(y[m * N + n]));
      }
    CAPTURE(t.bits);
    CAPTURE(t.splitK);
    CAPTURE(t.bias);
    CHECK(relErr(gotSlice, refSlice) <= 1e-2);
    CHECK(relErr(got, ref) <= 1e-2);
  }
}

TEST_CASE("split-K GEMM takes slices of whole K steps, at most one per step; the int8 GEMM splits alike") {
  kernels::QuantSpec q;
  q.bits = 4;
  q.groupSize = 128;
  q.N = 256;
  q.K = 512;
  kernels::GemmConfig c;  // BK = 32: 16 steps
  for (int split : {3, 8, 16}) {  // uneven slices, half groups, one step each
    c.splitK = split;
    CHECK(kernels::gemmSupports(q, c, false));
  }
  c.splitK = 17;  // more slices than steps
  CHECK(!kernels::gemmSupports(q, c, false));
  CHECK_THROWS_WITH_AS(kernels::buildGemm(q, dsl::DType::bf16, false, c), doctest::Contains("K steps"), Error);
  c.splitK = 1;
  c.blockK = 64;
  q.K = 544;  // no multiple of BK = 64
  CHECK_THROWS_WITH_AS(kernels::buildGemm(q, dsl::DType::bf16, false, c), doctest::Contains("multiple of blockK"), Error);
  q.K = 512;
  c.blockK = 32;
  c.splitK = 0;
  CHECK(!kernels::gemmSupports(q, c, false));
  // 1-bit codes on 32-row register-path tiles: blockK 64 would give threads half a word.
  kernels::QuantSpec one = q;
  one.bits = 1;
  kernels::GemmConfig r;
  r.blockM = 32, r.blockN = 128, r.blockK = 64, r.numWarps = 4;
  CHECK(!kernels::gemmSupports(one, r, false));
  CHECK_THROWS_WITH_AS(kernels::buildGemm(one, dsl::DType::bf16, false, r), doctest::Contains("whole words"), Error);
  r.blockK = 128;
  CHECK(kernels::gemmSupports(one, r, false));
  for (int64_t M : {3, 24, 40}) {  // the defaults hold whole words for every width
    CAPTURE(M);
    for (int bits : {1, 2, 4, 8}) {
      kernels::QuantSpec w = q;
      w.bits = bits;
      w.symmetric = false;
      w.groupSize = 128;
      CAPTURE(bits);
      CHECK(kernels::gemmSupports(w, kernels::ruleGemmConfig(w, M, false, 132), false));
    }
  }
  // Per-channel 8-bit: any slice of whole K tiles.
  q.bits = 8;
  q.symmetric = true;
  q.groupSize = int(q.K);
  c.splitK = 16;  // 512 / 16 = 32 = BK
  CHECK(kernels::gemmSupports(q, c, false));
  CHECK_NOTHROW(kernels::buildGemm(q, dsl::DType::bf16, false, c));
  // The int8 GEMM splits the same way.
  CHECK(kernels::gemmSupports(q, c, true));
  CHECK_NOTHROW(kernels::buildInt8Gemm(q, dsl::DType::bf16, false, c));
}

// Arguments in a program's parameter order, given by name: a tail split's programs take their
// output and grid parameters in an order of their own.
static std::vector<dsl::KernelArg> argsByName(const dsl::KernelProgram& p, const std::map<std::string, dsl::KernelArg>& named) {
  std::vector<dsl::KernelArg> args;
  for (const dsl::KernelParam& param : p.params) {
    auto it = named.find(param.name);
    REQUIRE_MESSAGE(it != named.end(), "no argument for " << param.name);
    args.push_back(it->second);
  }
  return args;
}

// The wave arithmetic of a tail split: 10 tiles (2 column blocks x 5 row blocks).
TEST_CASE("tail split: the tiles past the last whole wave, and into how many slices") {
  kernels::QuantSpec q;
  q.bits = 8, q.symmetric = true, q.N = 136, q.K = 1024, q.groupSize = 1024;
  kernels::GemmConfig c;  // 64 x 128 tiles, 32-deep steps: 32 steps
  c.tailSplit = 4;
  auto t = kernels::tailSplitOf(q, c, 300, 8);  // 2 tiles past one wave of 8: 4 slices each
  CHECK(t.tiles == 10);
  CHECK(t.fullTiles == 8);
  CHECK(t.slices == 4);
  CHECK(t.programs() == 16);
  t = kernels::tailSplitOf(q, c, 300, 3);  // 1 tile past three waves
  CHECK((t.fullTiles == 9 && t.slices == 4));
  t = kernels::tailSplitOf(q, c, 300, 24);  // one wave, under half full: every tile split
  CHECK((t.fullTiles == 0 && t.slices == 4 && t.programs() == 40));
  t = kernels::tailSplitOf(q, c, 300, 6);  // the last wave 4 of 6: more than half full, left whole
  CHECK((t.fullTiles == 10 && t.slices == 1));
  t = kernels::tailSplitOf(q, c, 300, 5);  // whole waves
  CHECK((t.fullTiles == 10 && t.slices == 1));
  t = kernels::tailSplitOf(q, c, 300, 132);  // under half of 132: all 10 in 4 slices
  CHECK((t.fullTiles == 0 && t.slices == 4));
  t = kernels::tailSplitOf(q, c, 100, 132);  // 4 tiles in 4 slices fill less than a tenth more of 132
  CHECK((t.tiles == 4 && t.fullTiles == 4 && t.slices == 1));
  q.K = 256;  // 8 steps: slices of fewer than 4 steps are not worth it
  CHECK(kernels::tailSplitOf(q, c, 300, 8).slices == 1);
  q.K = 96;  // 3 steps: 4 slices do not divide them
  CHECK(kernels::tailSplitOf(q, c, 300, 8).slices == 1);
  CHECK(!kernels::gemmSupports(q, c, true));
  q.K = 1024;
  c.tailSplit = 1;
  CHECK(kernels::tailSplitOf(q, c, 300, 8).programs() == 10);
  CHECK(kernels::asRun(q, c, 300, 8).tailSplit == 1);
  c.tailSplit = 4;
  CHECK(kernels::asRun(q, c, 300, 8).tailSplit == 4);
  CHECK(kernels::asRun(q, c, 300, 6).tailSplit == 1);  // splits nothing: runs as unsplit
  c.tailSplit = 2, c.splitK = 2;
  CHECK(!kernels::gemmSupports(q, c, true));  // a tail split is for unsplit configs
  // The partials hold the tail tiles' slices only: 28672x8192 in 256x128 tiles at 4100 rows
  // (3808 tiles, 112 past the last whole wave of 132: no split) and at 4096 rows (3584 tiles, 20
  // past it: 80 slices of 128 KiB), never [M, N] per slice.
  kernels::QuantSpec big;
  big.bits = 4, big.N = 28672, big.K = 8192, big.groupSize = 128;
  kernels::GemmConfig large;
  large.blockM = 256, large.blockN = 128, large.blockK = 64, large.numWarps = 8, large.stages = 4, large.tailSplit = 4;
  CHECK(kernels::tailPartialBytes(big, large, 4100, 132) == 0);
  CHECK(kernels::tailPartialBytes(big, large, 4096, 132) == size_t(20 * 4) * 256 * 128 * 4);
}

// A tail split run as the plan launches it, on the interpreter: whole tiles store y, the tail
// tiles' slices f32 partials, the tail reduce sums them (+ bias); int8 (8-bit, with cp.async or
// TMA copies, and 4-bit with a group per step) and weight-only, against float64, for device
// sizes that split 1, 2 and all of the tiles.
TEST_CASE("tail split: whole tiles, tail tiles in slices and their reduce match float64") {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0, 1);
  const int M = 150;  // 6 tiles of 64 x 128
  for (auto [bits, group, int8, tma] : std::vector<std::array<int, 4>>{{8, 0, 1, 0}, {8, 0, 1, 1}, {4, 64, 1, 0}, {4, 128, 0, 0}})
    for (uint64_t slots : {4, 5, 16}) {  // split: 2 of the 6 tiles, 1, all 6
      // TMA copies take wgmma's 128-byte steps: 16 of them, 4 per slice.
      Weights w = makeWeights(136, tma ? 2048 : 1024, bits, group, /*bias=*/true, rng);
      kernels::QuantSpec q = kernels::quantSpecOf(w.q.format());
      kernels::GemmConfig c;
      c.blockK = tma ? 128 : 64, c.tailSplit = 4, c.tmaCopies = tma;
      const kernels::TailSplit t = kernels::tailSplitOf(q, c, M, slots);
      CAPTURE(bits);
      CAPTURE(int8);
      CAPTURE(tma);
      CAPTURE(slots);
      REQUIRE(t.tailTiles() > 0);
      std::vector<bf16> x(M * q.K), y(M * q.N, toBf16(NAN));
      // One [64, 128] tile per tail program.
      const size_t partialBytes = kernels::tailPartialBytes(q, c, M, slots);
      CHECK(partialBytes == size_t(t.tailTiles() * t.slices) * 64 * 128 * 4);
      std::vector<float> partial(partialBytes / 4, NAN), xs(M, NAN);
      std::vector<int8_t> xq(M * q.K);
      for (auto& v : x) v = toBf16(normal(rng));
      std::map<std::string, dsl::KernelArg> named{
          {"x", dsl::KernelArg::buffer(x)},          {"xq", dsl::KernelArg::buffer(xq)},
          {"xscale", dsl::KernelArg::buffer(xs)},    {"qweight", dsl::KernelArg::buffer(w.packed)},
          {"scales", dsl::KernelArg::buffer(w.scales)}, {"zeros", dsl::KernelArg::buffer(w.zeros)},
          {"bias", dsl::KernelArg::buffer(w.bias)},  {"y", dsl::KernelArg::buffer(y)},
          {"partial", dsl::KernelArg::buffer(partial)}, {"M", dsl::KernelArg::i32(M)},
          {"full_tiles", dsl::KernelArg::i32(int32_t(t.fullTiles))}};
      if (int8) {
        dsl::KernelProgram quantize = kernels::buildQuantizeRows(q.K, dsl::DType::bf16);
        dsl::interpret(quantize, {M}, argsByName(quantize, named));
        if (!q.symmetric) c.blockK = group;
        if (tma) {  // the quantized rows and the weights as tensors
          named.at("xq") = dsl::KernelArg::tensor(xq, M, q.K, q.K);
          named.at("qweight") = dsl::KernelArg::tensor(w.packed, q.N, q.K, q.rowBytes());
        }
      }
      REQUIRE(kernels::gemmSupports(q, c, int8));
      dsl::KernelProgram gemm = int8 ? kernels::buildInt8Gemm(q, dsl::DType::bf16, true, c)
                                     : kernels::buildGemm(q, dsl::DType::bf16, true, c);
      dsl::interpret(gemm, {int(t.programs())}, argsByName(gemm, named));
      dsl::KernelProgram reduce = kernels::buildTailReduce(q, c, dsl::DType::bf16, true);
      dsl::interpret(reduce, {int(t.tailTiles())}, argsByName(reduce, named));
      std::vector<double> got, ref;
      for (int m = 0; m < M; ++m)
        for (int64_t n = 0; n < q.N; ++n) {
          double r = w.q.bias(n);
          for (int64_t k = 0; k < q.K; ++k)
            r += (int8 ? double(xq[m * q.K + k]) * xs[m] : double(toFloat(x[m * q.K + k]))) * w.dq[n * q.K + k];
          ref.push_back(r);
          got.push_back(toFloat(y[m * q.N + n]));
        }
      CHECK(relErr(got, ref) <= 1e-2);
    }
}
