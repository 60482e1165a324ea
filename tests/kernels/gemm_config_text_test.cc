// GemmConfig's text (toString, fromString): the tuner's timing logs name configs by it, and
// the cost model's fit (bench/fit_gemm_cost_model) reads them back.
#include <doctest/doctest.h>

#include <string>

#include "kernels/gemm/gemm.h"
#include "uintx/error.h"

using namespace uintx;
using kernels::GemmConfig;

static bool sameConfig(const GemmConfig& a, const GemmConfig& b) {
  return a.blockM == b.blockM && a.blockN == b.blockN && a.blockK == b.blockK && a.numWarps == b.numWarps &&
         a.stages == b.stages && a.splitK == b.splitK && a.weightsAsA == b.weightsAsA &&
         a.correctProducts == b.correctProducts && a.tailSplit == b.tailSplit && a.tmaCopies == b.tmaCopies &&
         a.warpSpecialized == b.warpSpecialized;
}

TEST_CASE("a GEMM config's text reads back as the same config, every field and flag") {
  GemmConfig plain;
  plain.blockM = 128, plain.blockN = 256, plain.blockK = 64, plain.numWarps = 8, plain.stages = 4, plain.splitK = 3;
  GemmConfig transposed = plain;
  transposed.blockM = 8, transposed.weightsAsA = 1, transposed.correctProducts = 1, transposed.stages = 1;
  GemmConfig tail = plain;
  tail.splitK = 1, tail.tailSplit = 4;
  GemmConfig tma = plain;
  tma.tmaCopies = 1, tma.warpSpecialized = 1;
  for (const GemmConfig& c : {plain, transposed, tail, tma}) {
    CAPTURE(c.toString());
    CHECK(sameConfig(GemmConfig::fromString(c.toString()), c));
  }
  CHECK(GemmConfig::fromString("BM=8 BN=32 BK=256 warps=2 stages=1 splitK=4 weightsAsA").weightsAsA == 1);
  CHECK(GemmConfig::fromString("BM=8 BN=32 BK=256 warps=2 stages=1 splitK=4 weightsAsA").blockK == 256);
}

TEST_CASE("text a GEMM config did not write is refused") {
  for (const std::string bad : {"", "BM=16 BN=128 BK=128 warps=4 stages=3",  // splitK missing
                                "BM=16 BN=128 BK=128 warps=4 stages=3 splitK=1 fast",
                                "BM=16 BN=128 BK=128 warps=4 stages=3 splitK=x",
                                "BM=16 BN=128 BK=128 warps=4 stages=3 splitK=-1",
                                "BM=16 BN=128 BK=128 warps=4 stages=3 splitK=99999999999",
                                "BM=16 BM=32 BN=128 BK=128 warps=4 stages=3 splitK=1",
                                "BM=16 BN=128 BK=128 warps=4 stages=3 splitK=1 weightsAsA=1"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(GemmConfig::fromString(bad), Error);
  }
}
