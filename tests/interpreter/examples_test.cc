// The four example kernels, interpreted, against plain C++ with sizes that leave masked tails.
#include "examples/example_kernels.h"
#include "tests/interpreter/test_util.h"

using namespace uintx;
using namespace uintx::dsl;
using namespace uintx::interp_test;

TEST_CASE("vectorAdd matches x + y with a masked tail over several programs") {
  for (int block : {128, 1024}) {
    const int n = 5000;
    auto x = randomFloats<float>(n, 1), y = randomFloats<float>(n, 2);
    std::vector<float> z(n, -1.0f), want(n);
    for (int i = 0; i < n; ++i) want[i] = x[i] + y[i];
    interpret(examples::vectorAdd(block), grid1(n, block),
              {KernelArg::buffer(x), KernelArg::buffer(y), KernelArg::buffer(z), KernelArg::i32(n)});
    checkExact(z, want, "vectorAdd block " + std::to_string(block));
  }
}

TEST_CASE("fusedChain matches the f32 formula on bf16 inputs") {
  const int n = 1777, block = 512;
  auto x = randomFloats<bf16>(n, 3, false, 4), y = randomFloats<bf16>(n, 4, false, 4);
  const float a = 1.375f;
  std::vector<float> out(n), want(n);
  for (int i = 0; i < n; ++i) {
    float xf = toFloat(x[i]), yf = toFloat(y[i]);
    float t = xf * a;
    t = t + yf;
    float m = t > 0.0f ? t : 0.0f;
    float r = m * (xf > yf ? 2.0f : 0.5f);
    want[i] = r - yf / 4.0f;
  }
  interpret(examples::fusedChain(block), grid1(n, block),
            {KernelArg::buffer(x), KernelArg::buffer(y), KernelArg::buffer(out), KernelArg::f32(a),
             KernelArg::i32(n)});
  checkExact(out, want, "fusedChain");
}

TEST_CASE("rowSumMax: rows and cols not multiples of the block") {
  const int rows = 37, cols = 100, blockRows = 16, blockCols = 128;
  auto x = randomFloats<float>(size_t(rows) * cols, 5);
  std::vector<float> sum(rows), mx(rows), wantSum(rows), wantMax(rows);
  for (int r = 0; r < rows; ++r) {
    float s = 0, m = -INFINITY;
    for (int c = 0; c < cols; ++c) {
      s += x[size_t(r) * cols + c];
      m = std::max(m, x[size_t(r) * cols + c]);
    }
    wantSum[r] = s;
    wantMax[r] = m;
  }
  interpret(examples::rowSumMax(blockRows, blockCols), grid1(rows, blockRows),
            {KernelArg::buffer(x), KernelArg::buffer(sum), KernelArg::buffer(mx),
             KernelArg::i32(rows), KernelArg::i32(cols)});
  checkExact(sum, wantSum, "row sum");
  checkExact(mx, wantMax, "row max");
}

TEST_CASE("unpackInt4 dequantizes nibbles with per-group scale and zero") {
  const int n = 3000, block = 1024, group = 128;  // n: not a multiple of block or group
  const int groups = (n + group - 1) / group;
  std::mt19937 rng(6);
  std::vector<uint32_t> words(n / 8);
  for (auto& w : words) w = rng();
  std::vector<float> scales(groups), zeros(groups);
  for (int g = 0; g < groups; ++g) {
    scales[g] = 0.01f + float(rng() % 1000) / 3000.0f;
    zeros[g] = float(rng() % 16) + 0.5f;
  }
  std::vector<bf16> out(n), want(n);
  for (int i = 0; i < n; ++i) {
    uint32_t q = (words[i / 8] >> (4 * (i % 8))) & 0xF;
    float w = (float(q) - zeros[i / group]) * scales[i / group];
    want[i] = fromFloat<bf16>(roundBf16(w));
  }
  interpret(examples::unpackInt4(block, group), grid1(n, block),
            {KernelArg::buffer(words), KernelArg::buffer(scales), KernelArg::buffer(zeros),
             KernelArg::buffer(out), KernelArg::i32(n)});
  checkExact(out, want, "unpackInt4");
}

// The 16-bit path: each step rounds to the format (u - z, then times s), as the GPU's packed
// instructions do; the result is also within two roundings of the exact (u - z) s.
template <class T> static void checkUnpackToHalf(int bits, dsl::DType half) {
  const int n = 3072 + 256, block = 1024, group = 64, per = 32 / bits;
  const int groups = (n + group - 1) / group;
  std::mt19937 rng(7 + bits);
  std::vector<uint32_t> words(n / per);
  for (auto& w : words) w = rng();
  std::vector<T> scales(groups), zeros(groups);
  for (int g = 0; g < groups; ++g) {
    scales[g] = fromFloat<T>(roundTo<T>(0.01 + double(rng() % 1000) / 3000.0));
    zeros[g] = fromFloat<T>(roundTo<T>(double(rng() % (1u << bits)) + (g % 2 ? 0.5 : 0.0)));
  }
  std::vector<T> out(n), want(n);
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    uint32_t q = (words[i / per] >> (bits * (i % per))) & ((1u << bits) - 1);
    double z = toFloat(zeros[i / group]), sc = toFloat(scales[i / group]);
    want[i] = fromFloat<T>(roundTo<T>(double(roundTo<T>(double(q) - z)) * sc));
    double exact = (double(q) - z) * sc;
    worst = std::max(worst, std::abs(double(toFloat(want[i])) - exact) / std::max(std::abs(exact), 1e-3));
  }
  CHECK(worst < (half == dsl::DType::bf16 ? 1.0 / 64 : 1.0 / 512));
  interpret(examples::unpackToHalf(bits, half, block, group), grid1(n, block),
            {KernelArg::buffer(words), KernelArg::buffer(scales), KernelArg::buffer(zeros), KernelArg::buffer(out),
             KernelArg::i32(n)});
  checkExact(out, want, "unpackToHalf bits " + std::to_string(bits));
}

TEST_CASE("unpackToHalf: codes as magic + u, then (u - z) s rounded per step") {
  for (int bits : {1, 2, 4}) checkUnpackToHalf<bf16>(bits, dsl::DType::bf16);
  for (int bits : {1, 2, 4, 8}) checkUnpackToHalf<fp16>(bits, dsl::DType::f16);
}
