// The builder writes verified ux IR and rejects malformed programs with clear messages.
#include <doctest/doctest.h>

#include "dsl/kernel_builder.h"
#include "examples/example_kernels.h"
#include "uintx/error.h"

using namespace uintx::dsl;

TEST_CASE("example kernels build into verified ux IR") {
  for (auto p : {uintx::examples::vectorAdd(), uintx::examples::fusedChain(),
                 uintx::examples::rowSumMax(), uintx::examples::unpackInt4()}) {
    std::string ir = p.irText();
    CAPTURE(ir);
    CHECK(ir.find("ux.load") != std::string::npos);
    CHECK(ir.find("ux.store") != std::string::npos);
    CHECK(ir.find("func.func @" + p.name) != std::string::npos);
  }
}

TEST_CASE("type mismatch is rejected with a clear message") {
  KernelBuilder kb("bad");
  Value x = kb.pointerArg("x", DType::f32);
  Value y = kb.pointerArg("y", DType::bf16);
  Value offs = kb.arange(0, 128);
  CHECK_THROWS_WITH_AS(load(x + offs) + load(y + offs),
                       doctest::Contains("type mismatch: tile[128] of f32 and tile[128] of bf16"),
                       uintx::Error);
}

TEST_CASE("incompatible broadcast is rejected") {
  KernelBuilder kb("bad");
  Value a = kb.arange(0, 128), b = kb.arange(0, 64);
  CHECK_THROWS_WITH_AS(a + b, doctest::Contains("cannot broadcast"), uintx::Error);
  CHECK_THROWS_WITH_AS(expandDims(a, 0) + b, doctest::Contains("ranks differ"), uintx::Error);
}

TEST_CASE("store through a pointer of the wrong type is rejected") {
  KernelBuilder kb("bad");
  Value x = kb.pointerArg("x", DType::bf16);
  Value offs = kb.arange(0, 128);
  CHECK_THROWS_WITH_AS(kb.store(x + offs, cast(offs, DType::f32)),
                       doctest::Contains("does not match pointer"), uintx::Error);
}

TEST_CASE("non power-of-two tiles and bad loops are rejected") {
  KernelBuilder kb("bad");
  Value n = kb.scalarArg("n", DType::i32);
  CHECK_THROWS_WITH_AS(kb.arange(0, 100), doctest::Contains("power-of-two"), uintx::Error);
  CHECK_THROWS_WITH_AS(kb.scalarArg("m", DType::i32), doctest::Contains("after the body began"),
                       uintx::Error);
  CHECK_THROWS_WITH_AS(kb.forLoop(0, cast(n, DType::f32), 1, {}, nullptr),
                       doctest::Contains("must be i32 scalars"), uintx::Error);
}

TEST_CASE("loop carried values keep their type") {
  KernelBuilder kb("bad");
  Value n = kb.scalarArg("n", DType::i32);
  Value acc = kb.zeros({128}, DType::f32);
  CHECK_THROWS_WITH_AS(
      kb.forLoop(0, n, 1, {acc}, [&](Value i, const std::vector<Value>& c) {
        return std::vector<Value>{cast(c[0], DType::bf16)};
      }),
      doctest::Contains("changes type"), uintx::Error);
}

TEST_CASE("unpackBits to 16-bit floats and fma: the widths and types they take") {
  KernelBuilder kb("bad");
  Value w = kb.pointerArg("w", DType::u32);
  Value words = load(w + kb.arange(0, 16));
  CHECK(unpackBits(words, 4, DType::bf16).dtype() == DType::bf16);
  CHECK(unpackBits(words, 4, DType::bf16).shape() == std::vector<int64_t>{128});
  CHECK(unpackBits(words, 8, DType::f16).dtype() == DType::f16);
  CHECK(unpackBits(words, 2, DType::u32).dtype() == DType::u32);
  CHECK(unpacksToHalf(4, DType::bf16));
  CHECK(!unpacksToHalf(8, DType::bf16));  // 8 bits do not fit bf16's 7 mantissa bits
  CHECK(unpacksToHalf(8, DType::f16));
  CHECK(!unpacksToHalf(3, DType::f16));  // only whole-word widths
  CHECK(halfMagic(DType::bf16) == 128.0);
  CHECK(halfMagic(DType::f16) == 1024.0);
  CHECK_THROWS_WITH_AS(unpackBits(words, 8, DType::bf16), doctest::Contains("bf16 takes bits 1, 2, 4"), uintx::Error);
  CHECK_THROWS_WITH_AS(unpackBits(words, 4, DType::f32), doctest::Contains("to f32"), uintx::Error);
  CHECK_THROWS_WITH_AS(unpackBits(words, 3, DType::f16), doctest::Contains("must be 1, 2, 4, 8 or 16"), uintx::Error);
  Value h = unpackBits(words, 4, DType::bf16);
  CHECK(fma(h, h, h).dtype() == DType::bf16);
  CHECK(fma(expandDims(h, 0), expandDims(h, 1), expandDims(h, 0)).shape() == std::vector<int64_t>{128, 128});
  CHECK_THROWS_WITH_AS(fma(h, expandDims(h, 0), h), doctest::Contains("ranks differ"), uintx::Error);
  CHECK_THROWS_WITH_AS(fma(h, cast(h, DType::f32), h), doctest::Contains("type mismatch"), uintx::Error);
  Value i = kb.arange(0, 128);
  CHECK_THROWS_WITH_AS(fma(i, i, i), doctest::Contains("needs float operands"), uintx::Error);
}

TEST_CASE("tensor descriptors: blocks the TMA can copy, read only by loadBlock") {
  KernelBuilder kb("tensors");
  CHECK_THROWS_WITH_AS(kb.tensorArg("a", DType::f32, {16}), doctest::Contains("blocks are 2-D"), uintx::Error);
  CHECK_THROWS_WITH_AS(kb.tensorArg("b", DType::f32, {16, 24}), doctest::Contains("not a power of two"), uintx::Error);
  CHECK_THROWS_WITH_AS(kb.tensorArg("c", DType::i8, {16, 8}), doctest::Contains("not a multiple of 16"), uintx::Error);
  CHECK_THROWS_WITH_AS(kb.tensorArg("d", DType::bf16, {4, 64}), doctest::Contains("needs 8 rows or more"), uintx::Error);
  CHECK_THROWS_WITH_AS(kb.tensorArg("e", DType::i1, {16, 64}), doctest::Contains("use u8"), uintx::Error);
  Value x = kb.tensorArg("x", DType::bf16, {64, 64});
  Value p = kb.pointerArg("p", DType::bf16);
  Value r = kb.programId(0);
  Value block = kb.loadBlock(x, r, r * 64);
  CHECK(block.shape() == std::vector<int64_t>{64, 64});
  CHECK(block.dtype() == DType::bf16);
  CHECK_THROWS_WITH_AS(kb.loadBlock(p, r, r), doctest::Contains("needs a tensorArg"), uintx::Error);
  CHECK_THROWS_WITH_AS(kb.loadBlock(x, kb.arange(0, 16), r), doctest::Contains("i32 scalars"), uintx::Error);
  CHECK_THROWS_WITH_AS(kb.loadBlock(x, r, kb.constant(1, DType::f32)), doctest::Contains("i32 scalars"), uintx::Error);
  CHECK_THROWS_WITH_AS(x + 1.0, doctest::Contains("read only through loadBlock"), uintx::Error);
  CHECK_THROWS_WITH_AS(kb.tensorArg("late", DType::i8, {16, 64}), doctest::Contains("after the body began"), uintx::Error);
  kb.store(p + kb.arange(0, 64), sum(block, 1));
  KernelProgram program = kb.finish();
  CHECK(program.params[0].isTensor());
  CHECK(program.params[0].block == std::vector<int64_t>{64, 64});
  CHECK(!program.params[1].isTensor());
}

// A program's launch takes numWarps * 32 threads, and a producer warpgroup more when a loop is
// warp-specialized: what the compiled kernel and a disk-cached one must both say.
TEST_CASE("a program's threads count the producer warpgroup of a warp-specialized loop") {
  auto plain = uintx::examples::blockMatmul(DType::i8, 128, 128, 128, 4, 8);
  CHECK(plain.numThreads() == 256);
  auto specialized = uintx::examples::blockMatmul(DType::i8, 128, 128, 128, 4, 8, /*warpSpecialized=*/true);
  CHECK(specialized.numThreads() == 256 + 128);
  CHECK(threadsPerProgram(specialized.moduleOp(), 4) == 128 + 128);
}
