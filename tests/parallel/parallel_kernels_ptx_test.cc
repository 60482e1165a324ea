// The kernels of parallel/ lower to PTX that ptxas accepts for sm_90a, in every variant the
// launchers use (bf16/fp16, with and without the divisibility promise), and the elementwise
// ones get 16-byte accesses when the element count allows.
#include <doctest/doctest.h>

#include "codegen/ptx_compiler.h"
#include "parallel/parallel_kernels.h"
#include "tests/codegen/ptxas.h"

using namespace uintx;
using namespace uintx::parallel;

static codegen::PtxKernel assemble(const dsl::KernelProgram& p) {
  codegen::PtxKernel k = codegen::compileToPtx(p);
  CAPTURE(k.name);
  CHECK(k.ptx.find(".entry " + p.name) != std::string::npos);
  std::string log;
  int rc = testing::runPtxas(k.ptx, "sm_90a", &log);
  CAPTURE(log);
  REQUIRE(rc == 0);
  return k;
}

TEST_CASE("parallel kernels assemble for sm_90a") {
  REQUIRE_MESSAGE(!testing::findPtxas().empty(), "ptxas is needed (set UINTX_CUDA_PATH)");
  for (dsl::DType t : {dsl::DType::bf16, dsl::DType::f16}) {
    CAPTURE(dsl::dtypeName(t));
    for (int div : {1, 16}) {
      assemble(buildSwiGlu(t, 1024, div));
      assemble(buildSumPartials(t, 1024, div));
    }
    assemble(buildRankMajorToRowMajor(t, 1024));
  }
  // With n a multiple of 16 the masks are uniform over 8 elements: 16-byte loads of bf16.
  codegen::PtxKernel k = assemble(buildSwiGlu(dsl::DType::bf16, 1024, 16));
  CHECK(k.ptx.find("ld.global.v4.b32") != std::string::npos);
}
