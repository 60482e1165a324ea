#include "dsl/tensor_block.h"

#include <string>

#include "uintx/error.h"

namespace uintx::dsl {

TensorBlockForm tensorBlockForm(DType dtype, const std::vector<int64_t>& block) {
  auto fail = [&](const std::string& why) { throw Error(std::string("tensor block of ") + dtypeName(dtype) + ": " + why); };
  if (block.size() != 2) fail("blocks are 2-D (rows, cols), got rank " + std::to_string(block.size()));
  if (dtype == DType::i1) fail("i1 tensors are not supported; use u8");
  TensorBlockForm f;
  f.rows = block[0];
  f.cols = block[1];
  f.elemBytes = dtypeBits(dtype) / 8;
  for (int64_t d : block)
    if (d <= 0 || (d & (d - 1))) fail("block dimension " + std::to_string(d) + " is not a power of two");
  const int64_t rowBytes = f.cols * f.elemBytes;
  if (rowBytes % 128 == 0) {
    if (f.rows < 8) fail("a block with rows of 128 bytes or more needs 8 rows or more (the swizzle's atom)");
    f.swizzled = true;
    f.boxCols = 128 / f.elemBytes;
  } else {
    if (rowBytes % 16 != 0) fail("a row of " + std::to_string(rowBytes) + " bytes is not a multiple of 16");
    f.boxCols = f.cols;
  }
  return f;
}

}  // namespace uintx::dsl
