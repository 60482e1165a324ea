// GEMV specializations lower to PTX that ptxas accepts, and the word path reads 16 bytes
// per access and unpacks in registers.
#include <doctest/doctest.h>

#include "codegen/ptx_compiler.h"
#include "kernels/gemv.h"
#include "tests/codegen/ptxas.h"

using namespace uintx;

TEST_CASE("GEMV specializations assemble for sm_90a") {
  for (int bits : {1, 2, 3, 4, 8}) {
    for (int splitK : {1, 2}) {
      kernels::QuantSpec q;
      q.bits = bits;
      q.symmetric = bits == 8;
      q.groupSize = bits == 8 ? 4096 : 128;
      q.N = 4096;
      q.K = 4096;
      kernels::GemvConfig c;
      c.splitK = splitK;
      c.blockM = bits == 4 ? 4 : 1;
      CAPTURE(bits);
      CAPTURE(splitK);
      codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemv(q, dsl::DType::bf16, true, c));
      std::string log;
      int rc = testing::runPtxas(k.ptx, "sm_90a", &log);
      CAPTURE(log);
      CHECK(rc == 0);
      MESSAGE(log);
      if (32 % bits == 0) CHECK(k.ptx.find("ld.global.v4.b32") != std::string::npos);
    }
  }
}
