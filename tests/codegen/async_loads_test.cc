// Which loads of a pipelined loop are copied ahead with cp.async (codegen/async_loads.h), and
// what the lowering emits for them when their users are not dots (ld.shared of the thread's
// own copies).
#include <doctest/doctest.h>

#include "codegen/async_loads.h"
#include "codegen/ptx_compiler.h"
#include "dsl/kernel_builder.h"
#include "tests/codegen/ptxas.h"

using namespace uintx;
using namespace uintx::dsl;

namespace {

// A loop over K with five loads, of which exactly `a` and `d` can be issued steps ahead:
//   a: address from the induction variable only             -> async
//   b: address from a carried value                         -> not (changes with the loop)
//   c: masked, other = 1                                    -> not (cp.async fills zeros)
//   d: masked, other = 0                                    -> async
//   e: address from another load's value (a gather)        -> not
KernelProgram program(int stages) {
  KernelBuilder kb("async_candidates");
  Value x = kb.pointerArg("x", DType::f32);
  Value y = kb.pointerArg("y", DType::f32);
  Value idx = kb.pointerArg("idx", DType::i32);
  Value out = kb.pointerArg("out", DType::f32);
  Value n = kb.scalarArg("n", DType::i32);
  const int B = 256;
  std::vector<Value> init{kb.zeros({B}, DType::f32), kb.constant(0, DType::i32)};
  auto r = kb.forLoop(kb.constant(0, DType::i32), n, kb.constant(B, DType::i32), init,
                      [&](Value k0, const std::vector<Value>& c) {
    Value rk = k0 + kb.arange(0, B);
    Value a = load(x + rk);
    Value b = load(x + (c[1] + kb.arange(0, B)));
    Value cc = load(y + rk, rk < n, 1.0);
    Value d = load(y + rk, rk < n, 0.0);
    Value e = load(x + load(idx + rk));
    return std::vector<Value>{c[0] + a + b + cc + d + e, c[1] + B};
  }, stages);
  kb.store(out + kb.arange(0, B), r[0]);
  return kb.finish();
}

mlir::scf::ForOp theLoop(const KernelProgram& p) {
  mlir::scf::ForOp loop;
  p.moduleOp().walk([&](mlir::scf::ForOp f) { loop = f; });
  return loop;
}

}  // namespace

TEST_CASE("findAsyncLoads picks the loads whose address depends on the induction variable only") {
  KernelProgram p = program(3);
  mlir::scf::ForOp loop = theLoop(p);
  REQUIRE(loop);
  CHECK(codegen::loopStages(loop) == 3);
  std::vector<ux::LoadOp> loads;
  for (mlir::Operation& op : loop.getBody()->without_terminator())
    if (auto l = mlir::dyn_cast<ux::LoadOp>(op)) loads.push_back(l);
  // Program order: a, b, c, d, idx (e's index), e.
  REQUIRE(loads.size() == 6);
  std::vector<codegen::AsyncLoad> picked = codegen::findAsyncLoads(loop);
  REQUIRE(picked.size() == 3);
  CHECK(picked[0].load == loads[0]);  // a
  CHECK(picked[1].load == loads[3]);  // d
  CHECK(picked[2].load == loads[4]);  // the index load of the gather is itself affine
  // Each address computation is in program order and inside the loop body.
  for (const codegen::AsyncLoad& a : picked) {
    CHECK(!a.addressOps.empty());
    for (size_t i = 0; i + 1 < a.addressOps.size(); ++i)
      CHECK(a.addressOps[i]->isBeforeInBlock(a.addressOps[i + 1]));
    for (mlir::Operation* o : a.addressOps) CHECK(o->getBlock() == loop.getBody());
  }
}

TEST_CASE("a loop without stages has no async loads") {
  KernelProgram p = program(1);
  mlir::scf::ForOp loop = theLoop(p);
  REQUIRE(loop);
  CHECK(codegen::loopStages(loop) == 1);
  CHECK(codegen::findAsyncLoads(loop).empty());
}

TEST_CASE("a pipelined loop lowers to cp.async, a wait, one barrier and ld.shared; ptxas accepts it") {
  for (int stages : {2, 4}) {
    CAPTURE(stages);
    codegen::PtxKernel k = codegen::compileToPtx(program(stages));
    CHECK(k.ptx.find("cp.async.ca.shared.global") != std::string::npos);  // 16-byte f32 vectors: .cg; smaller: .ca
    CHECK(k.ptx.find("cp.async.wait_group " + std::to_string(stages - 2) + ";") != std::string::npos);
    CHECK(k.ptx.find("cp.async.commit_group") != std::string::npos);
    CHECK(k.ptx.find("ld.shared") != std::string::npos);
    CHECK(k.sharedBytes > 0);
    std::string log;
    CHECK(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
  }
  codegen::PtxKernel plain = codegen::compileToPtx(program(1));
  CHECK(plain.ptx.find("cp.async") == std::string::npos);
}
