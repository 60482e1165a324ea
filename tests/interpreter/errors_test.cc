// Out-of-bounds accesses, bad arguments and unsupported ops fail with clear uintx::Errors;
// scf.if (not offered by the builder yet) is interpreted; a GEMV-sized run stays fast.
#include <chrono>

#include "examples/example_kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "tests/interpreter/test_util.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx::dsl;
using namespace uintx::interp_test;

TEST_CASE("out-of-bounds load names the op, the parameter, the offset and the size") {
  std::vector<float> x(100), y(200), z(200);
  CHECK_THROWS_WITH_AS(interpret(examples::vectorAdd(128), {2, 1, 1},
                                 {KernelArg::buffer(x), KernelArg::buffer(y), KernelArg::buffer(z), KernelArg::i32(200)}),
                       doctest::Contains("ux.load: access to parameter 'x' at element offset 100 is outside its buffer of 100 elements"),
                       Error);
  CHECK_THROWS_WITH_AS(interpret(examples::vectorAdd(128), {2, 1, 1},
                                 {KernelArg::buffer(y), KernelArg::buffer(y), KernelArg::buffer(x), KernelArg::i32(200)}),
                       doctest::Contains("ux.store: access to parameter 'z' at element offset 100"), Error);
}

TEST_CASE("negative offsets and atomics out of bounds are caught; masked lanes are not") {
  KernelBuilder kb("neg");
  Value p = kb.pointerArg("buf", DType::i32);
  Value s = kb.scalarArg("shift", DType::i32);
  Value offs = kb.arange(0, 16) + s;
  kb.atomicAdd(p + offs, kb.full({16}, 1, DType::i32), offs >= 0);
  kb.store(p + offs, kb.full({16}, 3, DType::i32), (offs >= 0) & (offs < 16));
  KernelProgram prog = kb.finish();
  std::vector<int32_t> buf(16, 0);
  interpret(prog, {}, {KernelArg::buffer(buf), KernelArg::i32(-4)});  // masks keep lanes in range
  for (int i = 0; i < 16; ++i) CHECK(buf[i] == (i < 12 ? 3 : 0));
  CHECK_THROWS_WITH_AS(interpret(prog, {}, {KernelArg::buffer(buf), KernelArg::i32(1)}),
                       doctest::Contains("ux.atomic_add: access to parameter 'buf' at element offset 16 is outside its buffer of 16 elements"),
                       Error);
  KernelBuilder kb2("neg2");
  Value q = kb2.pointerArg("q", DType::f32);
  kb2.store(q + (-1.0), kb2.constant(1, DType::f32));
  std::vector<float> one(1);
  CHECK_THROWS_WITH_AS(interpret(kb2.finish(), {}, {KernelArg::buffer(one)}),
                       doctest::Contains("parameter 'q' at element offset -1"), Error);
}

TEST_CASE("wrong number or kind of arguments names the parameter") {
  KernelProgram p = examples::vectorAdd(128);
  std::vector<float> x(128);
  CHECK_THROWS_WITH_AS(interpret(p, {}, {KernelArg::buffer(x), KernelArg::buffer(x), KernelArg::buffer(x)}),
                       doctest::Contains("got 3 arguments for 4 parameters (x, y, z, n); missing 'n'"), Error);
  CHECK_THROWS_WITH_AS(interpret(p, {}, {KernelArg::buffer(x), KernelArg::buffer(x), KernelArg::buffer(x),
                                         KernelArg::buffer(x)}),
                       doctest::Contains("parameter 'n' is a scalar i32 but got a buffer"), Error);
  CHECK_THROWS_WITH_AS(interpret(p, {}, {KernelArg::buffer(x), KernelArg::buffer(x), KernelArg::buffer(x),
                                         KernelArg::f32(128)}),
                       doctest::Contains("parameter 'n' is a scalar i32 but got a scalar f32"), Error);
  CHECK_THROWS_WITH_AS(interpret(p, {}, {KernelArg::buffer(x), KernelArg::i32(0), KernelArg::buffer(x),
                                         KernelArg::i32(128)}),
                       doctest::Contains("parameter 'y' is a pointer to f32 but got a scalar i32"), Error);
  CHECK_THROWS_WITH_AS(interpret(p, {0, 1, 1}, {KernelArg::buffer(x), KernelArg::buffer(x), KernelArg::buffer(x),
                                                KernelArg::i32(128)}),
                       doctest::Contains("grid (0, 1, 1)"), Error);
}

TEST_CASE("an op the interpreter does not know is named in the error") {
  KernelBuilder kb("remf");
  Value p = kb.pointerArg("p", DType::f32);
  Value a = kb.constant(5, DType::f32), b = kb.constant(3, DType::f32);
  mlir::Value r = mlir::arith::RemFOp::create(kb.ir(), kb.loc(), a.ir(), b.ir());
  kb.store(p, Value(&kb, r, DType::f32, false));
  std::vector<float> out(1);
  CHECK_THROWS_WITH_AS(interpret(kb.finish(), {}, {KernelArg::buffer(out)}),
                       doctest::Contains("arith.remf: unsupported op"), Error);
}

TEST_CASE("scf.if picks a branch and yields its values") {
  KernelBuilder kb("if");
  Value p = kb.pointerArg("out", DType::i32);
  Value n = kb.scalarArg("n", DType::i32);
  Value cond = n > 10;
  auto& B = kb.ir();
  auto ifOp = mlir::scf::IfOp::create(B, kb.loc(), mlir::TypeRange{B.getI32Type()}, cond.ir(), true);
  {
    mlir::OpBuilder::InsertionGuard guard(B);
    B.setInsertionPointToStart(&ifOp.getThenRegion().front());
    mlir::scf::YieldOp::create(B, kb.loc(), (n * 2).ir());
    B.setInsertionPointToStart(&ifOp.getElseRegion().front());
    mlir::scf::YieldOp::create(B, kb.loc(), (n - 100).ir());
  }
  kb.store(p, Value(&kb, ifOp.getResult(0), DType::i32, false));
  KernelProgram prog = kb.finish();
  for (int v : {3, 10, 11, 50}) {
    std::vector<int32_t> out(1);
    interpret(prog, {}, {KernelArg::buffer(out), KernelArg::i32(v)});
    CHECK(out[0] == (v > 10 ? v * 2 : v - 100));
  }
}

TEST_CASE("a GEMV over a 256x1024 bf16 matrix interprets quickly and correctly") {
  // y[r] = sum_k W[r, k] * x[k]: one program per 16 rows, K looped in blocks of 128.
  const int rows = 256, cols = 1024, BR = 16, BK = 128;
  KernelBuilder kb("gemv");
  Value pw = kb.pointerArg("w", DType::bf16), px = kb.pointerArg("x", DType::bf16), py = kb.pointerArg("y", DType::f32);
  Value k = kb.scalarArg("K", DType::i32);
  Value r = kb.programId(0) * BR + kb.arange(0, BR);
  Value r2 = expandDims(r, 1);
  auto acc = kb.forLoop(0, k, BK, {kb.zeros({BR, BK}, DType::f32)}, [&](Value k0, const std::vector<Value>& c) {
    Value kk = expandDims(k0 + kb.arange(0, BK), 0);
    Value w = cast(load(pw + (r2 * k + kk)), DType::f32);
    Value xv = cast(load(px + kk), DType::f32);
    return std::vector<Value>{c[0] + w * xv};
  });
  kb.store(py + r, sum(acc[0], 1));
  auto w = randomFloats<bf16>(size_t(rows) * cols, 280, false, 1), x = randomFloats<bf16>(cols, 281, false, 1);
  std::vector<float> y(rows), want(rows);
  for (int i = 0; i < rows; ++i) {
    std::vector<float> lane(BK, 0.0f);
    for (int k0 = 0; k0 < cols; k0 += BK)
      for (int j = 0; j < BK; ++j) lane[j] += value(w[size_t(i) * cols + k0 + j]) * value(x[k0 + j]);
    float s = lane[0];
    for (int j = 1; j < BK; ++j) s += lane[j];
    want[i] = s;
  }
  KernelProgram prog = kb.finish();
  auto t0 = std::chrono::steady_clock::now();
  interpret(prog, {rows / BR, 1, 1}, {KernelArg::buffer(w), KernelArg::buffer(x), KernelArg::buffer(y), KernelArg::i32(cols)});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("gemv 256x1024 interpreted in " << seconds << " s");
  checkExact(y, want, "gemv");
  CHECK(seconds < 2.0);
}
