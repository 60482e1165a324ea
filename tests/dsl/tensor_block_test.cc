// The shared-memory form of a tensor descriptor's block and the copies of its two tensor maps
// (dsl/tensor_block.h): what the code generator lays out and the launcher encodes must follow
// from the dtype and block shape alone.
#include <doctest/doctest.h>

#include "dsl/tensor_block.h"
#include "uintx/error.h"

using namespace uintx;
using dsl::DType;
using dsl::tensorBlockForm;

TEST_CASE("rows of 128-byte multiples take the swizzled form: whole column blocks or 8-row atoms") {
  dsl::TensorBlockForm f = tensorBlockForm(DType::i8, {128, 256});
  CHECK(f.swizzled);
  CHECK(f.elemBytes == 1);
  CHECK(f.bytes() == 128 * 256);
  CHECK(f.boxCols == 128);  // one 128-byte column block per copy
  CHECK(f.copiesAlongCols() == 2);
  CHECK(f.boxRows(false) == 128);  // map 0: the block's rows at once
  CHECK(f.copiesAlongRows(false) == 1);
  CHECK(f.boxRows(true) == 8);  // map 1: one atom
  CHECK(f.copiesAlongRows(true) == 16);

  f = tensorBlockForm(DType::bf16, {512, 64});
  CHECK(f.swizzled);
  CHECK(f.boxCols == 64);
  CHECK(f.boxRows(false) == 256);  // the TMA's largest box dimension
  CHECK(f.copiesAlongRows(false) == 2);
  CHECK(f.copiesAlongRows(true) == 64);
}

TEST_CASE("narrower rows lie one after another, the same copies for both maps") {
  dsl::TensorBlockForm f = tensorBlockForm(DType::f32, {16, 16});  // 64-byte rows
  CHECK(!f.swizzled);
  CHECK(f.rowBytes() == 64);
  CHECK(f.boxCols == 16);
  CHECK(f.boxRows(false) == 16);
  CHECK(f.boxRows(true) == 16);
  CHECK(f.copiesAlongRows(true) == 1);
}

TEST_CASE("blocks the TMA cannot copy are rejected with the rule they break") {
  CHECK_THROWS_WITH(tensorBlockForm(DType::bf16, {64}), doctest::Contains("rank 1"));
  CHECK_THROWS_WITH(tensorBlockForm(DType::bf16, {48, 64}), doctest::Contains("48 is not a power of two"));
  CHECK_THROWS_WITH(tensorBlockForm(DType::bf16, {0, 64}), doctest::Contains("not a power of two"));
  CHECK_THROWS_WITH(tensorBlockForm(DType::i1, {8, 128}), doctest::Contains("i1"));
  CHECK_THROWS_WITH(tensorBlockForm(DType::i8, {4, 128}), doctest::Contains("8 rows or more"));
  CHECK_THROWS_WITH(tensorBlockForm(DType::bf16, {8, 4}), doctest::Contains("8 bytes is not a multiple of 16"));
}
