// Every example kernel lowers to PTX that ptxas accepts for sm_90a.
#include <doctest/doctest.h>

#include "codegen/lower_to_gpu.h"
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
  for (int bits : {1, 2, 4}) checkAssembles(examples::unpackToHalf(bits, dsl::DType::bf16));
  for (int bits : {1, 2, 4, 8}) checkAssembles(examples::unpackToHalf(bits, dsl::DType::f16));
}

// unpack_bits to 16-bit floats: a byte permute and an and-or per pair of fields, and the
// arithmetic on the pairs two lanes per instruction (no conversion to f32 and back).
TEST_CASE("16-bit tiles unpack to pairs and compute two lanes per instruction") {
  struct Case { int bits; dsl::DType half; const char* lanes; };
  for (Case c : {Case{4, dsl::DType::bf16, "bf16x2"}, Case{2, dsl::DType::bf16, "bf16x2"}, Case{8, dsl::DType::f16, "f16x2"}}) {
    codegen::PtxKernel k = codegen::compileToPtx(examples::unpackToHalf(c.bits, c.half));
    CAPTURE(c.bits);
    CHECK(k.ptx.find("prmt.b32") != std::string::npos);
    CHECK(k.ptx.find("sub.rn." + std::string(c.lanes)) != std::string::npos);
    CHECK(k.ptx.find("mul.rn." + std::string(c.lanes)) != std::string::npos);
    CHECK(k.ptx.find("cvt.f32.") == std::string::npos);  // no widening to f32
    CHECK(k.ptx.find("cvt.rn.f32.u32") == std::string::npos);
  }
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

// Programmatic dependent launch (runtime/cuda_module.h, runtime::LaunchOrder): a kernel may be
// launched while the one before it runs only if it waits for it before touching memory.
TEST_CASE("kernels wait for the kernels before them before their first memory access") {
  codegen::PtxKernel k = codegen::compileToPtx(examples::vectorAdd());
  size_t wait = k.ptx.find("griddepcontrol.wait;");
  REQUIRE(wait != std::string::npos);
  // The standard overlap lets the next kernel launch when the programs exit: no explicit trigger.
  CHECK(k.ptx.find("griddepcontrol.launch_dependents;") == std::string::npos);
  size_t firstLoad = k.ptx.find("ld.global"), firstStore = k.ptx.find("st.global");
  REQUIRE(firstLoad != std::string::npos);
  REQUIRE(firstStore != std::string::npos);
  CHECK(wait < firstLoad);
  CHECK(wait < firstStore);
  // Older chips have no griddepcontrol: such kernels keep the stream's usual order.
  codegen::PtxOptions sm80;
  sm80.chip = "sm_80";
  CHECK(codegen::compileToPtx(examples::vectorAdd(), sm80).ptx.find("griddepcontrol") == std::string::npos);
  CHECK(codegen::chipHasGridDependencyControl("sm_90a"));
  CHECK(codegen::chipHasGridDependencyControl("sm_100"));
  CHECK_FALSE(codegen::chipHasGridDependencyControl("sm_89"));
}

// dsl::LaunchOverlap::early: the next kernel may launch at entry, and the loads of constant data
// that come first are issued before the wait; the first stream-ordered access comes after it.
static dsl::KernelProgram constantThenStreamOrdered(dsl::LaunchOverlap overlap) {
  using namespace dsl;
  KernelBuilder kb("constant_then_stream_ordered");
  Value w = kb.pointerArg("w", DType::u8, PointerAccess::constant);
  Value x = kb.pointerArg("x", DType::f32);
  Value y = kb.pointerArg("y", DType::f32);
  kb.setLaunchOverlap(overlap);
  Value offs = kb.programId(0) * 128 + kb.arange(0, 128);
  Value weight = cast(load(w + offs), DType::f32);  // 4 bytes per thread: one 32-bit load
  kb.store(y + offs, weight * load(x + offs));      // 16 bytes per thread: one v4 load
  return kb.finish();
}

TEST_CASE("an early-overlap kernel requests constant data before it waits, activations after") {
  std::string ptx = codegen::compileToPtx(constantThenStreamOrdered(dsl::LaunchOverlap::early)).ptx;
  size_t trigger = ptx.find("griddepcontrol.launch_dependents;"), wait = ptx.find("griddepcontrol.wait;");
  size_t weightLoad = ptx.find("ld.global.b32"), activationLoad = ptx.find("ld.global.v4.b32");
  CAPTURE(ptx);
  REQUIRE(trigger != std::string::npos);
  REQUIRE(wait != std::string::npos);
  REQUIRE(weightLoad != std::string::npos);
  REQUIRE(activationLoad != std::string::npos);
  CHECK(trigger < wait);
  CHECK(weightLoad < wait);
  CHECK(wait < activationLoad);
  CHECK(wait < ptx.find("st.global"));
  // The standard overlap waits at entry, before any load, and has no explicit trigger.
  std::string standard = codegen::compileToPtx(constantThenStreamOrdered(dsl::LaunchOverlap::standard)).ptx;
  size_t standardWait = standard.find("griddepcontrol.wait;");
  REQUIRE(standardWait != std::string::npos);
  CHECK(standardWait < standard.find("ld.global"));
  CHECK(standard.find("griddepcontrol.launch_dependents;") == std::string::npos);
}

// The on-disk kernel caches key on this: it must change with the lowering's sources, which
// it does through their hash (codegen/BUILD), and name LLVM's version.
TEST_CASE("the compiler version names the codegen sources' hash and LLVM's version") {
  std::string v = codegen::compilerVersion();
  auto dash = v.find('-', std::string("uintx-codegen-").size());
  auto plus = v.find("+llvm-");
  REQUIRE(dash != std::string::npos);
  REQUIRE(plus != std::string::npos);
  std::string hash = v.substr(dash + 1, plus - dash - 1);
  CHECK(hash.size() == 16);
  CHECK(hash.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(v.size() > plus + 6);
}
