// Every example kernel lowers to PTX that ptxas accepts for sm_90a.
#include <doctest/doctest.h>

#include "codegen/lower_to_gpu.h"
#include "codegen/ptx_compiler.h"
#include "examples/example_kernels.h"
#include "tests/codegen/ptxas.h"
#include "uintx/error.h"

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

// Every kernel issues the loads of constant data that come first before the wait; the first
// stream-ordered access comes after it. dsl::LaunchOverlap::early also lets the next kernel
// launch at entry.
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

TEST_CASE("kernels request constant data before they wait, activations after; early ones trigger at entry") {
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
  // The standard overlap places the wait alike and has no explicit trigger.
  std::string standard = codegen::compileToPtx(constantThenStreamOrdered(dsl::LaunchOverlap::standard)).ptx;
  size_t standardWait = standard.find("griddepcontrol.wait;");
  REQUIRE(standardWait != std::string::npos);
  CHECK(standard.find("ld.global.b32") < standardWait);
  CHECK(standardWait < standard.find("ld.global.v4.b32"));
  CHECK(standard.find("griddepcontrol.launch_dependents;") == std::string::npos);
}

// A pipelined loop that is the kernel's first stream-ordered access copies the constant tiles of
// its prologue's steps first, then waits, then copies the others (codegen/lowering/pipeline_loops.cc).
TEST_CASE("a pipelined loop's prologue copies constant tiles before the wait, the others after") {
  using namespace dsl;
  KernelBuilder kb("ring_after_wait");
  Value w = kb.pointerArg("w", DType::f32, PointerAccess::constant);
  Value x = kb.pointerArg("x", DType::f32);
  Value y = kb.pointerArg("y", DType::f32);
  Value rows = kb.arange(0, 16);
  Value acc = kb.forLoop(0, kb.constant(1024, DType::i32), 32, {kb.zeros({16}, DType::f32)},
                         [&](Value k0, const std::vector<Value>& c) {
                           Value offs = expandDims(rows, 1) * 1024 + expandDims(k0 + kb.arange(0, 32), 0);
                           return std::vector<Value>{c[0] + sum(load(w + offs) * load(x + offs), 1)};
                         }, /*stages=*/3)[0];
  kb.store(y + rows, acc);
  std::string ptx = codegen::compileToPtx(kb.finish()).ptx;
  CAPTURE(ptx);
  size_t wait = ptx.find("griddepcontrol.wait;"), loop = ptx.find("cp.async.wait_group");
  REQUIRE(wait != std::string::npos);
  REQUIRE(loop != std::string::npos);
  // Two steps ahead: the constant tile's two copies and commits, the wait, then the others'.
  std::string before = ptx.substr(0, wait), after = ptx.substr(wait, loop - wait);
  auto count = [](const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  auto copies = [&](const std::string& text) { return count(text, "cp.async.ca.") + count(text, "cp.async.cg."); };
  CHECK(count(before, "cp.async.commit_group") == 2);
  CHECK(count(after, "cp.async.commit_group") == 2);
  CHECK(copies(before) > 0);
  CHECK(copies(before) == copies(after));  // w and x: tiles of the same shape
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

// load_block: the block arrives by TMA copies issued by one thread, whose mbarrier the program
// waits on; the two tensor maps are a 64-byte aligned parameter of 256 bytes whose address the
// kernel takes.
// In a pipelined loop the copies fill a ring with no cp.async, and wgmma reads the blocks where
// they landed (no staging, no serialized wgmmas).
TEST_CASE("tensor blocks are TMA copies completing on mbarriers") {
  REQUIRE_MESSAGE(!testing::findPtxas().empty(), "ptxas is needed (set UINTX_CUDA_PATH)");
  auto assemble = [](const dsl::KernelProgram& p) {
    codegen::PtxKernel k = codegen::compileToPtx(p);
    CAPTURE(k.name);
    CHECK(k.ptx.find(".param .align 64 .b8 " + p.name + "_param_0[256]") != std::string::npos);
    CHECK(k.ptx.find("cvta.param.u64") != std::string::npos);
    CHECK(k.ptx.find("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes") != std::string::npos);
    CHECK(k.ptx.find("mbarrier.arrive.expect_tx.shared::cta.b64") != std::string::npos);
    CHECK(k.ptx.find("mbarrier.try_wait.parity.shared::cta.b64") != std::string::npos);
    CHECK(k.ptx.find("mbarrier.inval.shared::cta.b64") != std::string::npos);
    CHECK(k.ptx.find("cp.async.commit_group") == std::string::npos);
    std::string log;
    int rc = testing::runPtxas(k.ptx, "sm_90a", &log);
    CAPTURE(log);
    CHECK(rc == 0);
    CHECK(log.find("C751") == std::string::npos);  // ptxas did not serialize wgmmas
    return k;
  };
  assemble(examples::blockCopy(dsl::DType::i8, 16, 64));
  assemble(examples::blockCopy(dsl::DType::bf16, 64, 64));
  assemble(examples::blockRowSum(16, 32, 3));
  for (auto dtype : {dsl::DType::bf16, dsl::DType::i8}) {
    codegen::PtxKernel k = assemble(examples::blockMatmul(dtype, 128, 128, dtype == dsl::DType::i8 ? 128 : 64, 4));
    CHECK(k.ptx.find("wgmma.mma_async") != std::string::npos);
    CHECK(k.ptx.find("st.shared") == std::string::npos);  // operands are not staged
  }
}

// A warp-specialized loop: one more warpgroup (the producers), which gives its registers to the
// computing warps (setmaxnreg) and issues every copy; the computing warps meet only at named
// barriers over themselves after the loop; no spills, no serialized wgmmas.
TEST_CASE("a warp-specialized loop: a producer warpgroup for the TMA copies") {
  for (auto [dtype, warps] : {std::pair{dsl::DType::i8, 8}, std::pair{dsl::DType::bf16, 4}}) {
    const int BK = dtype == dsl::DType::i8 ? 128 : 64;
    auto program = examples::blockMatmul(dtype, 128, 128, BK, 4, warps, /*warpSpecialized=*/true);
    codegen::PtxKernel k = codegen::compileToPtx(program);
    CAPTURE(k.name);
    CHECK(k.numThreads == 32 * warps + 128);
    CHECK(k.ptx.find(".maxntid " + std::to_string(32 * warps + 128) + ", 1, 1") != std::string::npos);
    // Registers move to the computing warps where 64 K over all threads would bound them (8 warps).
    CHECK((k.ptx.find("setmaxnreg.dec.sync.aligned.u32 40;") != std::string::npos) == (warps == 8));
    CHECK((k.ptx.find("setmaxnreg.inc.sync.aligned.u32 232;") != std::string::npos) == (warps == 8));
    CHECK(k.ptx.find("bar.sync 1, " + std::to_string(32 * warps) + ";") != std::string::npos);
    // Every copy in the producers' loop, no prologue: per step x (wgmma's a operand) in 16 atoms
    // of 8 rows, w's 128 rows in one copy.
    size_t copies = 0;
    for (size_t at = k.ptx.find("cp.async.bulk.tensor"); at != std::string::npos; at = k.ptx.find("cp.async.bulk.tensor", at + 1)) ++copies;
    CHECK(copies == 128 / 8 + 1);
    CHECK(k.ptx.find("cp.async.commit_group") == std::string::npos);
    std::string log;
    int rc = testing::runPtxas(k.ptx, "sm_90a", &log);
    CAPTURE(log);
    CHECK(rc == 0);
    CHECK(log.find("C751") == std::string::npos);
  }
  // What it cannot take: a pipelined load through pointers.
  dsl::KernelBuilder kb("ws_pointer");
  dsl::Value p = kb.pointerArg("p", dsl::DType::f32), out = kb.pointerArg("out", dsl::DType::f32);
  dsl::Value n = kb.scalarArg("n", dsl::DType::i32);
  auto sum = kb.forLoop(0, n, 128, {kb.zeros({128}, dsl::DType::f32)},
                        [&](dsl::Value i, const std::vector<dsl::Value>& a) -> std::vector<dsl::Value> {
                          return {a[0] + load(p + (i + kb.arange(0, 128)))};
                        }, 2, true);
  kb.store(out + kb.arange(0, 128), sum[0]);
  CHECK_THROWS_WITH_AS(codegen::compileToPtx(kb.finish()), doctest::Contains("copies only blocks of tensor descriptors"), uintx::Error);
  // Nor an atomic add before it (the producers would add it again).
  dsl::KernelBuilder ka("ws_atomic");
  dsl::Value x = ka.tensorArg("x", dsl::DType::f32, {16, 32});
  dsl::Value o = ka.pointerArg("o", dsl::DType::f32);
  dsl::Value m = ka.scalarArg("m", dsl::DType::i32);
  ka.atomicAdd(o + ka.arange(0, 16), ka.full({16}, 1, dsl::DType::f32));
  auto rows = ka.forLoop(0, m, 32, {ka.zeros({16}, dsl::DType::f32)},
                         [&](dsl::Value c, const std::vector<dsl::Value>& a) -> std::vector<dsl::Value> {
                           return {a[0] + dsl::sum(ka.loadBlock(x, ka.constant(0, dsl::DType::i32), c), 1)};
                         }, 2, true);
  ka.store(o + ka.arange(0, 16), rows[0]);
  CHECK_THROWS_WITH_AS(codegen::compileToPtx(ka.finish()), doctest::Contains("cannot follow an atomic_add"), uintx::Error);
}
