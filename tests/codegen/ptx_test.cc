// Every example kernel lowers to PTX that ptxas accepts for sm_90a.
#include <doctest/doctest.h>

#include "codegen/ptx_compiler.h"
#include "examples/example_kernels.h"
#include "tests/codegen/ptxas.h"

using namespace uintx;

static void checkAssembles(const dsl::KernelProgram& p) {
  codegen::PtxKernel k = codegen::compileToPtx(p);
  CAPTURE(k.name);
  CHECK(k.ptx.find(".target sm_90a") != std::string::npos);
  CHECK(k.ptx.find(".version 8.") != std::string::npos);
  CHECK(k.ptx.find(".entry " + p.name) != std::string::npos);
  std::string log;
  int rc = testing::runPtxas(k.ptx, "sm_90a", &log);
  CAPTURE(log);
  REQUIRE(rc == 0);
}

TEST_CASE("example kernels assemble for sm_90a") {
  REQUIRE_MESSAGE(!testing::findPtxas().empty(), "ptxas is needed (set UINTX_CUDA_PATH)");
  checkAssembles(examples::vectorAdd());
  checkAssembles(examples::fusedChain());
  checkAssembles(examples::rowSumMax());
  checkAssembles(examples::unpackInt4());
  checkAssembles(examples::vectorAdd(256, 2));
  checkAssembles(examples::rowSumMax(4, 256, 8));
}

TEST_CASE("vector add uses 16-byte loads") {
  codegen::PtxKernel k = codegen::compileToPtx(examples::vectorAdd());
  CHECK(k.ptx.find("ld.global.v4.b32") != std::string::npos);
}

TEST_CASE("stages are kept when asked") {
  codegen::PtxOptions o;
  o.keepStages = true;
  codegen::PtxKernel k = codegen::compileToPtx(examples::rowSumMax(), o);
  REQUIRE(k.stages.size() == 4);
  CHECK(k.stages[1].second.find("ux.layout") != std::string::npos);
  CHECK(k.stages[2].second.find("gpu.func") != std::string::npos);
}
