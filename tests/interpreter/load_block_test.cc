// Blocks of tensor descriptors (load_block), interpreted: zeros outside the tensor on every
// side, rows further apart than they are long, in a pipelined loop and as dot operands.
#include <cstdint>
#include <random>

#include "examples/example_kernels.h"
#include "tests/interpreter/test_util.h"

using namespace uintx;
using namespace uintx::dsl;
using namespace uintx::interp_test;

namespace {

std::vector<int8_t> randomInt8(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = int8_t(d(rng));
  return v;
}

// blockCopy over a 3 x 3 grid of blocks whose source is shifted by (dr, dc): blocks hang over
// every edge of the 37 x 100 tensor (row stride 112).
template <class T>
void checkBlockCopy(DType dtype, std::vector<T> x, int rows, int cols, int dr, int dc) {
  const int R = 37, C = 100, stride = 112, gridX = 3, gridY = 3, ldo = gridX * cols;
  std::vector<T> out(size_t(gridY * rows) * ldo, T{}), want(out.size(), T{});
  for (int i = 0; i < gridY * rows; ++i)
    for (int j = 0; j < ldo; ++j) {
      int si = i + dr, sj = j + dc;
      if (si >= 0 && si < R && sj >= 0 && sj < C) want[size_t(i) * ldo + j] = x[size_t(si) * stride + sj];
    }
  std::memset(out.data(), 0x5a, out.size() * sizeof(T));  // not zero: the zeros must be written
  interpret(examples::blockCopy(dtype, rows, cols), Grid{gridX, gridY, 1},
            {KernelArg::tensor(x, R, C, stride), KernelArg::buffer(out), KernelArg::i32(ldo), KernelArg::i32(dr),
             KernelArg::i32(dc)});
  CAPTURE(dr);
  CAPTURE(dc);
  for (size_t k = 0; k < out.size(); ++k) {
    CAPTURE(k);
    REQUIRE(std::memcmp(&out[k], &want[k], sizeof(T)) == 0);
  }
}

}  // namespace

TEST_CASE("load_block reads its block and zeros outside the tensor, on every side") {
  for (auto [dr, dc] : {std::pair{0, 0}, std::pair{-3, 16}, std::pair{9, -64}}) {
    checkBlockCopy(DType::i8, randomInt8(37 * 112, 1), 16, 64, dr, dc);                  // rows of 64 bytes
    checkBlockCopy(DType::bf16, randomFloats<bf16>(37 * 112, 2), 16, 64, dr, dc);       // rows of 128 bytes
  }
}

TEST_CASE("load_block in a pipelined loop: row sums over blocks past the last column") {
  const int rows = 37, cols = 200, blockRows = 16, blockCols = 32;
  auto x = randomFloats<float>(size_t(rows) * cols, 3);
  std::vector<float> got(rows, -1.0f), want(rows, 0.0f);
  for (int r = 0; r < rows; ++r)
    for (int c0 = 0; c0 < cols; c0 += blockCols) {
      float s = 0;  // the block's row, summed in element order, then added
      for (int c = c0; c < c0 + blockCols; ++c) s += c < cols ? x[size_t(r) * cols + c] : 0.0f;
      want[r] += s;
    }
  interpret(examples::blockRowSum(blockRows, blockCols, 3), grid1(rows, blockRows),
            {KernelArg::tensor(x, rows, cols, cols), KernelArg::buffer(got), KernelArg::i32(rows), KernelArg::i32(cols)});
  checkExact(got, want, "blockRowSum");
}

TEST_CASE("load_block operands of a dot: y = x w^T with M, N and K not multiples of the blocks") {
  const int M = 70, N = 150, K = 200;
  {
    auto x = randomFloats<bf16>(size_t(M) * K, 4, false, 4), w = randomFloats<bf16>(size_t(N) * K, 5, false, 4);
    std::vector<float> y(size_t(M) * N, -1.0f), want(y.size());
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        float acc = 0;  // the interpreter's dot: f32, in k order
        for (int k = 0; k < K; ++k) acc += toFloat(x[size_t(m) * K + k]) * toFloat(w[size_t(n) * K + k]);
        want[size_t(m) * N + n] = acc;
      }
    interpret(examples::blockMatmul(DType::bf16, 64, 64, 64, 3), Grid{(N + 63) / 64, (M + 63) / 64, 1},
              {KernelArg::tensor(x, M, K, K), KernelArg::tensor(w, N, K, K), KernelArg::buffer(y), KernelArg::i32(M),
               KernelArg::i32(N), KernelArg::i32(K)});
    checkExact(y, want, "blockMatmul bf16");
  }
  {
    auto x = randomInt8(size_t(M) * K, 6), w = randomInt8(size_t(N) * K, 7);
    std::vector<int32_t> y(size_t(M) * N, -1), want(y.size());
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        int32_t acc = 0;
        for (int k = 0; k < K; ++k) acc += int32_t(x[size_t(m) * K + k]) * int32_t(w[size_t(n) * K + k]);
        want[size_t(m) * N + n] = acc;
      }
    interpret(examples::blockMatmul(DType::i8, 64, 64, 128, 3), Grid{(N + 63) / 64, (M + 63) / 64, 1},
              {KernelArg::tensor(x, M, K, K), KernelArg::tensor(w, N, K, K), KernelArg::buffer(y), KernelArg::i32(M),
               KernelArg::i32(N), KernelArg::i32(K)});
    checkExact(y, want, "blockMatmul i8");
  }
}

TEST_CASE("tensor arguments are checked against their parameters") {
  std::vector<float> x(37 * 200), sums(37);
  auto program = examples::blockRowSum(16, 32, 2);
  auto run = [&](KernelArg tensor) {
    interpret(program, Grid{3, 1, 1}, {tensor, KernelArg::buffer(sums), KernelArg::i32(37), KernelArg::i32(200)});
  };
  CHECK_THROWS_WITH(run(KernelArg::buffer(x)), doctest::Contains("is a tensor of f32 but got a buffer"));
  CHECK_THROWS_WITH(run(KernelArg::tensor(x, 37, 200, 199)), doctest::Contains("stride >= cols"));
  CHECK_THROWS_WITH(run(KernelArg::tensor(x, 38, 200, 200)), doctest::Contains("does not fit its buffer"));
  CHECK_THROWS_WITH(run(KernelArg::tensor(x, 0, 200, 200)), doctest::Contains("rows, cols >= 1"));
  std::vector<int8_t> x8(37 * 112), out(48 * 192);
  CHECK_THROWS_WITH(interpret(examples::blockCopy(DType::i8, 16, 64), Grid{1, 1, 1},
                              {KernelArg::tensor(x8, 37, 100, 112), KernelArg::buffer(out), KernelArg::i32(192),
                               KernelArg::i32(0), KernelArg::i32(5)}),
                    doctest::Contains("not at a multiple of 16 bytes"));
  CHECK_THROWS_WITH(interpret(examples::vectorAdd(), Grid{1, 1, 1},
                              {KernelArg::tensor(x, 1, 16, 16), KernelArg::buffer(x), KernelArg::buffer(x), KernelArg::i32(16)}),
                    doctest::Contains("is a pointer to f32 but got a tensor"));
}
