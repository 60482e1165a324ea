// Configs come from files (the tuned config cache): every field is bounded by what the kernels
// can run, so a crafted entry fails with a uintx::Error before any compile.
#include <climits>

#include "doctest/doctest.h"
#include "kernels/families.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemv/gemv.h"
#include "uintx/error.h"

using namespace uintx;

namespace {

kernels::QuantSpec spec() {
  kernels::QuantSpec q;
  q.bits = 4;
  q.groupSize = 128;
  q.N = 4096;
  q.K = 4096;
  return q;
}

cache::KernelConfig with(cache::KernelConfig c, const char* name, int value) {
  c.params[name] = value;
  return c;
}

}  // namespace

TEST_CASE("GEMV configs with huge or odd fields are refused before compiling") {
  const kernels::QuantSpec q = spec();
  const cache::KernelConfig base = kernels::defaultConfig(cache::KernelFamily::gemv, q, 1, 132);
  int compiles = 0;
  kernels::CompileFn counting = [&](const dsl::KernelProgram&) -> std::shared_ptr<codegen::JitKernel> {
    ++compiles;
    return nullptr;
  };
  for (auto [name, value] : std::initializer_list<std::pair<const char*, int>>{
           {"BLOCK_N", 1 << 20}, {"BLOCK_K", 1 << 30}, {"num_warps", 1 << 12}, {"num_warps", 0},
           {"num_warps", 3}, {"split_k", 1 << 20}, {"BLOCK_M", 64}, {"BLOCK_N", INT_MIN}}) {
    CAPTURE(name);
    CAPTURE(value);
    CHECK_THROWS_AS(kernels::makePlan(cache::KernelFamily::gemv, q, dsl::DType::bf16, dsl::DType::bf16, false,
                                      with(base, name, value), counting),
                    Error);
  }
  CHECK(compiles == 0);
}

TEST_CASE("GEMM configs with huge or odd fields are refused before compiling") {
  const kernels::QuantSpec q = spec();
  const cache::KernelConfig base = kernels::defaultConfig(cache::KernelFamily::gemm, q, 256, 132);
  int compiles = 0;
  kernels::CompileFn counting = [&](const dsl::KernelProgram&) -> std::shared_ptr<codegen::JitKernel> {
    ++compiles;
    return nullptr;
  };
  for (auto [name, value] : std::initializer_list<std::pair<const char*, int>>{
           {"BLOCK_M", 1 << 20}, {"BLOCK_N", 1 << 20}, {"BLOCK_K", 1 << 30}, {"num_warps", 1 << 12},
           {"num_warps", 3}, {"split_k", 1 << 20}, {"BLOCK_M", 24}}) {
    CAPTURE(name);
    CAPTURE(value);
    CHECK_THROWS_AS(kernels::makePlan(cache::KernelFamily::gemm, q, dsl::DType::bf16, dsl::DType::bf16, false,
                                      with(base, name, value), counting),
                    Error);
  }
  CHECK(compiles == 0);
}

// Each field in range, together a tile no compile should be asked for: 256x256 accumulators
// and a 256x512 weight tile on one warp would be thousands of values per thread.
TEST_CASE("GEMM configs whose tile is too large per thread are refused before compiling") {
  const kernels::QuantSpec q = spec();
  int compiles = 0;
  kernels::CompileFn counting = [&](const dsl::KernelProgram&) -> std::shared_ptr<codegen::JitKernel> {
    ++compiles;
    return nullptr;
  };
  for (bool weightsAsA : {false, true}) {
    kernels::GemmConfig c;
    c.blockM = weightsAsA ? 8 : 256, c.blockN = 256, c.blockK = 512, c.numWarps = 1, c.stages = 1;
    c.weightsAsA = weightsAsA;
    CAPTURE(c.toString());
    CHECK_THROWS_WITH_AS(kernels::makePlan(cache::KernelFamily::gemm, q, dsl::DType::bf16, dsl::DType::bf16, false,
                                           kernels::toKernelConfig(c), counting),
                         doctest::Contains("per thread"), Error);
    CHECK_THROWS_WITH_AS(kernels::validateGemmConfig(q, c, false), doctest::Contains("per thread"), Error);
  }
  CHECK(compiles == 0);
}

TEST_CASE("the default configs pass the bounds") {
  const kernels::QuantSpec q = spec();
  for (int64_t M : {1, 2, 5, 16, 100, 256, 4096}) {
    CHECK_NOTHROW(kernels::validateGemvConfig(q, kernels::gemvConfigFrom(
                                                     kernels::defaultConfig(cache::KernelFamily::gemv, q, M, 132))));
    CHECK_NOTHROW(kernels::validateGemmConfig(q, kernels::gemmConfigFrom(
                                                     kernels::defaultConfig(cache::KernelFamily::gemm, q, M, 132)),
                                              false));
  }
}
