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

#include "kernels/gemm.h"

TEST_CASE("GEMM specializations assemble and use mma.sync") {
  for (int bits : {4, 8}) {
    for (bool int8 : {false, true}) {
      kernels::QuantSpec q;
      q.bits = bits;
      q.symmetric = bits == 8;
      q.groupSize = bits == 8 ? 4096 : 128;
      q.N = 4096;
      q.K = 4096;
      kernels::GemmConfig c;
      if (int8 && bits == 4) c.blockK = 128;
      CAPTURE(bits);
      CAPTURE(int8);
      auto program = int8 ? kernels::buildInt8Gemm(q, dsl::DType::bf16, bits == 8, c)
                           : kernels::buildGemm(q, dsl::DType::bf16, true, c);
      codegen::PtxKernel k = codegen::compileToPtx(program);
      std::string log;
      int rc = testing::runPtxas(k.ptx, "sm_90a", &log);
      CAPTURE(log);
      CHECK(rc == 0);
      MESSAGE(log);
      CHECK(k.ptx.find(int8 ? "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32" : "mma.sync.aligned.m16n8k16.row.col.f32.bf16") != std::string::npos);
    }
  }
  codegen::PtxKernel k = codegen::compileToPtx(kernels::buildQuantizeRows(4096, dsl::DType::bf16));
  std::string log;
  CHECK(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
}
