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

// The transposed int8 GEMM (weights_as_a with int8 activations) takes 8-bit symmetric weights
// and tiles the tensor cores can run; a file's entry for anything else fails before compiling.
TEST_CASE("int8 configs with weights_as_a are refused for 4-bit weights and impossible tiles") {
  int compiles = 0;
  kernels::CompileFn counting = [&](const dsl::KernelProgram&) -> std::shared_ptr<codegen::JitKernel> {
    ++compiles;
    return nullptr;
  };
  kernels::QuantSpec w8 = spec();
  w8.bits = 8, w8.symmetric = true, w8.groupSize = int(w8.K);
  kernels::GemmConfig c;
  c.weightsAsA = 1, c.blockM = 16, c.blockN = 64, c.blockK = 128, c.numWarps = 4, c.stages = 6;
  CHECK(kernels::gemmSupports(w8, c, true));
  auto refused = [&](const kernels::QuantSpec& q, const kernels::GemmConfig& t, const char* words) {
    CAPTURE(t.toString());
    CHECK_THROWS_WITH_AS(kernels::makePlan(cache::KernelFamily::gemm_int8, q, dsl::DType::bf16, dsl::DType::bf16, false,
                                           kernels::toKernelConfig(t), counting),
                         doctest::Contains(words), Error);
  };
  refused(spec(), c, "8-bit symmetric");  // 4-bit grouped weights
  kernels::GemmConfig t = c;
  t.blockN = 16;  // 16 weight rows cannot be split over 4 warps, nor make a wgmma m64 block
  refused(w8, t, "weightsAsA with int8 activations");
  t = c;
  t.weightsAsA = 2;
  refused(w8, t, "weightsAsA must be 0 or 1");
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
