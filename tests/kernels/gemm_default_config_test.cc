// The GEMM's default tiles (kernels::ruleGemmConfig): large-M tiles (and the int8 GEMM's
// small-M tiles) split along K only while the layer's row blocks leave SMs idle, and never
// past one program per SM.
#include <doctest/doctest.h>

#include <initializer_list>

#include "kernels/gemm/default_config.h"

using namespace uintx;

static kernels::QuantSpec spec(int bits, int64_t N, int64_t K) {
  kernels::QuantSpec q;
  q.bits = bits;
  q.groupSize = 128;
  q.N = N;
  q.K = K;
  return q;
}

static int64_t programs(const kernels::QuantSpec& q, int64_t M, const kernels::GemmConfig& c) {
  return (q.N + c.blockN - 1) / c.blockN * ((M + c.blockM - 1) / c.blockM) * c.splitK;
}

TEST_CASE("128- and 256-row tiles split along K while every program keeps an SM of its own") {
  const int sms = 132;
  for (bool int8 : {false, true})
    for (int64_t N : {4096, 8192, 28672})
      for (int64_t M : {128, 200, 256, 300, 1024, 4096, 64}) {
        kernels::QuantSpec q = spec(int8 ? 8 : 4, N, 8192);
        if (int8) q.symmetric = true, q.groupSize = int(q.K);
        kernels::GemmConfig c = kernels::ruleGemmConfig(q, M, int8, sms);
        CAPTURE(int8);
        CAPTURE(N);
        CAPTURE(M);
        CAPTURE(c.toString());
        if (M == 64 && !int8) continue;  // weight-only 64-row tiles aim at several programs per SM
        REQUIRE(c.blockM >= (M == 64 ? 64 : 128));
        CHECK(kernels::gemmSupports(q, c, int8));
        if (c.splitK > 1) {
          CHECK(programs(q, M, c) <= sms);
        } else {
          kernels::GemmConfig twice = c;
          twice.splitK = 2;
          // Splitting would have given some program no SM (or, transposed int8 tiles, cut the
          // slices below 24 steps).
          CHECK((programs(q, M, twice) > sms || (c.weightsAsA && q.K / c.blockK / 2 < 24)));
        }
      }
  // 8192x8192 at M = 128: 64 row blocks of 128 x 128 alone would leave half the SMs idle.
  kernels::GemmConfig c = kernels::ruleGemmConfig(spec(4, 8192, 8192), 128, false, sms);
  CHECK(c.blockM == 128);
  CHECK(c.splitK == 2);
  // int8 from 65 to 127 rows: one warpgroup's m64n128 tiles, 128 programs on 8192 rows (two
  // row blocks), 64 on 4096 (split 2).
  kernels::QuantSpec w8 = spec(8, 8192, 8192);
  w8.symmetric = true, w8.groupSize = 8192;
  CHECK(kernels::ruleGemmConfig(w8, 100, true, sms).toString() == "BM=64 BN=128 BK=128 warps=4 stages=6 splitK=1");
  w8.N = 4096;
  CHECK(kernels::ruleGemmConfig(w8, 100, true, sms).toString() == "BM=64 BN=128 BK=128 warps=4 stages=6 splitK=2");
  w8.N = 8192;
  // Up to 64 rows, transposed: 64 weight rows by 16, 32 or 64 rows of x in 256-byte K steps,
  // 128 programs on 8192 rows (unsplit).
  for (int64_t M : {2, 16, 17, 32, 64}) {
    CAPTURE(M);
    c = kernels::ruleGemmConfig(w8, M, true, sms);
    CHECK(c.toString() == "BM=" + std::to_string(M <= 16 ? 16 : M <= 32 ? 32 : 64) +
                              " BN=64 BK=256 warps=4 stages=6 splitK=1 weightsAsA");
  }
  // 64 programs: split only where the slices stay 24 steps long (14336 deep: 56 steps).
  w8.N = 4096;
  CHECK(kernels::ruleGemmConfig(w8, 16, true, sms).splitK == 1);
  w8.K = 14336, w8.groupSize = 14336;
  CHECK(kernels::ruleGemmConfig(w8, 16, true, sms).splitK == 2);
  w8.K = 8192, w8.groupSize = 8192;
  // Past a wave of 64-row tiles (28672 rows: 448), 128 weight rows and fewer stages.
  w8.N = 28672;
  CHECK(kernels::ruleGemmConfig(w8, 16, true, sms).toString() == "BM=16 BN=128 BK=256 warps=4 stages=5 splitK=1 weightsAsA");
  CHECK(kernels::ruleGemmConfig(w8, 64, true, sms).toString() == "BM=64 BN=128 BK=256 warps=4 stages=4 splitK=1 weightsAsA");
  CHECK(kernels::ruleGemmConfig(w8, 64, true, 0).blockN == 64);  // SMs unknown
  c = kernels::ruleGemmConfig(w8, 100, true, sms);
  CHECK(c.toString() == "BM=64 BN=128 BK=128 warps=4 stages=6 splitK=1");
}

TEST_CASE("int8 defaults take shorter K steps where K is not a multiple of 128") {
  for (int64_t K : {4160, 4128, 2080})  // multiples of 64, 32, 32
    for (int64_t M : {1, 16, 64, 128, 256, 4096}) {
      kernels::QuantSpec q = spec(8, 4096, K);
      q.symmetric = true, q.groupSize = int(K);
      kernels::GemmConfig c = kernels::ruleGemmConfig(q, M, true, 132);
      CAPTURE(K);
      CAPTURE(M);
      CAPTURE(c.toString());
      CHECK(kernels::gemmSupports(q, c, true));
      CHECK(K % c.blockK == 0);
      // Slices of whole steps: a layer of few column blocks still fills the SMs.
      int64_t programs = (4096 + c.blockN - 1) / c.blockN * ((M + c.blockM - 1) / c.blockM) * c.splitK;
      if (M <= 256) CHECK(programs >= 66);
    }
}

// Weight-only 16-row ring tiles (8-bit codes; narrower ones take the one-stage transposed
// tiles) split along K while the grid stays within 3.5 programs per SM (docs/PERFORMANCE.md,
// run 16: 4-bit 4096x14336 at M = 16, 32 tiles, split 8 20.4 us against 24.1 split 4;
// 28672x8192 at M = 4, 224 tiles, split 2 72.4 against 76.2 split 4).
TEST_CASE("16-row ring tiles split K up to 3.5 programs per SM, at most 8 ways") {
  const int sms = 132;
  for (int64_t N : {1024, 4096, 8192, 14336, 28672})
    for (int64_t K : {4096, 8192, 14336})
      for (int64_t M : {9, 12, 16}) {
        kernels::QuantSpec q = spec(8, N, K);
        kernels::GemmConfig c = kernels::ruleGemmConfig(q, M, false, sms);
        CAPTURE(N);
        CAPTURE(K);
        CAPTURE(M);
        CAPTURE(c.toString());
        REQUIRE(c.blockM == 16);
        CHECK(kernels::gemmSupports(q, c, false));
        CHECK(2 * programs(q, M, c) <= 7 * sms);
        CHECK(c.splitK <= 8);
        kernels::GemmConfig twice = c;
        twice.splitK *= 2;
        if (c.splitK < 8 && kernels::gemmSupports(q, twice, false)) CHECK(2 * programs(q, M, twice) > 7 * sms);
      }
  CHECK(kernels::ruleGemmConfig(spec(8, 4096, 14336), 16, false, sms).splitK == 8);
  CHECK(kernels::ruleGemmConfig(spec(8, 8192, 8192), 16, false, sms).splitK == 4);
  CHECK(kernels::ruleGemmConfig(spec(8, 28672, 8192), 16, false, sms).splitK == 2);
  CHECK(kernels::ruleGemmConfig(spec(8, 4096, 4096), 16, false, 0).splitK == 1);  // SMs unknown
}

// The one-stage transposed default for 1/2/4-bit codes (group 128) at these M: a tile of blockM
// rows of x by blockN weight rows on 2 warps, K steps of fullStep (shorter where K is not a
// multiple; corrected products from 9 to 16 rows on small layers), split while the grid stays
// within 8 programs per SM and each slice keeps 4 steps.
static void checkOneStageDefaults(std::initializer_list<int64_t> ms, int blockM, int blockN, int fullStep) {
  const int sms = 132;
  for (int bits : {1, 2, 4})
    for (int64_t N : {1024, 4096, 8192, 28672})
      for (int64_t K : {4096, 8192, 14336, 4224})
        for (int64_t M : ms) {
          kernels::QuantSpec q = spec(bits, N, K);
          kernels::GemmConfig c = kernels::ruleGemmConfig(q, M, false, sms);
          CAPTURE(bits);
          CAPTURE(N);
          CAPTURE(K);
          CAPTURE(M);
          CAPTURE(c.toString());
          CHECK(kernels::gemmSupports(q, c, false));
          CHECK(c.weightsAsA == 1);
          CHECK(c.stages == 1);
          CHECK(c.blockM == blockM);
          CHECK(c.blockN == blockN);
          CHECK(c.numWarps == 2);
          int step = fullStep;
          while (K % step != 0) step /= 2;
          // 9-16 rows on layers of at most 2^25 weights: the products corrected (the 128-deep
          // steps lie within a group; docs/PERFORMANCE.md, run 22).
          CHECK(c.correctProducts == int(M > 8 && M <= 16 && N * K <= (int64_t(1) << 25)));
          CHECK(c.blockK == step);
          int64_t programs = (N + blockN - 1) / blockN;
          CHECK(programs * c.splitK <= 8 * sms);
          CHECK(K / c.blockK >= 2 * c.splitK);  // each slice keeps 2 steps or more
          if (c.splitK < 8 && K / c.blockK >= 4 * c.splitK) CHECK(programs * c.splitK * 2 > 8 * sms);
        }
}

// Up to 8 rows, codes of up to 4 bits: 8 rows of x by 32 weight rows (16 per warp), BK 256
// (docs/PERFORMANCE.md, run 18: H100, 8192x8192 split 4 19.3 us, 28672x8192 unsplit 58.3,
// 4096x14336 split 8 16.1, against 22.7, 74.2 and 20.5 for the 16-row GEMM at M = 4). 8-bit
// codes keep the 16-row tiles.
TEST_CASE("up to 8 rows, 1- to 4-bit codes take the one-stage transposed GEMM") {
  const int sms = 132;
  checkOneStageDefaults({1, 2, 5, 8}, 8, 32, 256);
  CHECK(kernels::ruleGemmConfig(spec(4, 8192, 8192), 4, false, sms).splitK == 4);
  CHECK(kernels::ruleGemmConfig(spec(4, 28672, 8192), 4, false, sms).splitK == 1);
  CHECK(kernels::ruleGemmConfig(spec(4, 4096, 14336), 4, false, sms).splitK == 8);
  CHECK(kernels::ruleGemmConfig(spec(4, 4096, 4096), 4, false, 0).splitK == 1);  // SMs unknown
  CHECK(kernels::ruleGemmConfig(spec(8, 4096, 4096), 4, false, sms).blockM == 16);
  CHECK(kernels::ruleGemmConfig(spec(4, 4096, 4096), 9, false, sms).blockM == 16);
}

// From 17 to 32 rows, codes of up to 4 bits: 32 rows of x by 64 weight rows (32 per warp), BK
// 128 (docs/PERFORMANCE.md, run 19: H200, 8192x8192 31.8 us against 36.4 for the 32-row ring
// GEMM, 4096x14336 25.7 against 33.2).
TEST_CASE("from 17 to 32 rows, 1- to 4-bit codes take the one-stage transposed GEMM of 32 rows") {
  const int sms = 132;
  checkOneStageDefaults({17, 24, 32}, 32, 64, 128);
  CHECK(kernels::ruleGemmConfig(spec(4, 8192, 8192), 32, false, sms).splitK == 8);
  CHECK(kernels::ruleGemmConfig(spec(4, 4096, 14336), 32, false, sms).splitK == 8);
  CHECK(kernels::ruleGemmConfig(spec(8, 4096, 4096), 32, false, sms).weightsAsA == 0);  // 8-bit codes
}

// From 9 to 16 rows, codes of up to 4 bits: 16 rows of x by 64 weight rows, BK 128
// (docs/PERFORMANCE.md, run 21: the best candidate on 8 of 9 measured layers, 1.00-1.10x of
// the best on all 9, where the 16-row ring GEMM was 1.02-1.21x).
TEST_CASE("from 9 to 16 rows, 1- to 4-bit codes take the one-stage transposed GEMM of 16 rows") {
  const int sms = 132;
  checkOneStageDefaults({9, 12, 16}, 16, 64, 128);
  CHECK(kernels::ruleGemmConfig(spec(4, 8192, 8192), 16, false, sms).splitK == 8);
  CHECK(kernels::ruleGemmConfig(spec(4, 10240, 8192), 16, false, sms).splitK == 4);
  CHECK(kernels::ruleGemmConfig(spec(8, 8192, 8192), 16, false, sms).weightsAsA == 0);  // 8-bit codes
}

// int8 activations with 8-bit weights from 128 rows (run 19, H200): up to 255 rows 128x128
// tiles on one warpgroup with 6 stages (8192x8192 M = 128: 30.8 us against 33.9 for 8 warps
// and 4 stages); from 512 rows 128x256 tiles even where they leave SMs idle unsplit, split
// along K instead (8192x8192 M = 512: 57.5 against 75.1 for 128x128; 4096x14336: 66.1 against
// 72.6).
TEST_CASE("int8 GEMM tiles from 128 rows") {
  const int sms = 132;
  kernels::QuantSpec w8 = spec(8, 8192, 8192);
  w8.symmetric = true, w8.groupSize = 8192;
  CHECK(kernels::ruleGemmConfig(w8, 128, true, sms).toString() == "BM=128 BN=128 BK=128 warps=4 stages=6 splitK=2");
  // Unsplit 128x128 tiles: the tiles of a last wave at most half full are split per call (tailSplit).
  CHECK(kernels::ruleGemmConfig(w8, 256, true, sms).toString() == "BM=128 BN=128 BK=128 warps=8 stages=4 splitK=1 tailSplit=4");
  CHECK(kernels::ruleGemmConfig(w8, 512, true, sms).toString() == "BM=128 BN=256 BK=128 warps=8 stages=4 splitK=1");
  kernels::QuantSpec tall = spec(8, 4096, 14336);
  tall.symmetric = true, tall.groupSize = 14336;
  CHECK(kernels::ruleGemmConfig(tall, 512, true, sms).toString() == "BM=128 BN=256 BK=128 warps=8 stages=4 splitK=2");
  for (int64_t N : {1024, 4096, 28672, 57344})
    for (int64_t M : {128, 200}) {
      kernels::QuantSpec q = spec(8, N, 8192);
      q.symmetric = true, q.groupSize = 8192;
      kernels::GemmConfig c = kernels::ruleGemmConfig(q, M, true, sms);
      CAPTURE(N);
      CAPTURE(M);
      CAPTURE(c.toString());
      CHECK(kernels::gemmSupports(q, c, true));
      CHECK(c.blockN == 128);
      CHECK(c.numWarps == 4);
      CHECK(c.stages == 6);
    }
}
