// How a block of a tensor descriptor (KernelBuilder::tensorArg, loadBlock) travels: the shared
// memory form the code generator reads and the tensor-memory-accelerator (TMA) copies that
// write it, which the launcher's tensor map (codegen/jit_kernel.cc) must describe. Both sides
// compute it from the parameter's dtype and block shape alone, so the tensor map needs nothing
// from the compiled kernel.
//
// Swizzled form, for rows of a multiple of 128 bytes (what wgmma reads, K-major): the block's
// rows are cut into 128-byte column blocks, each a [rows, 128 B] region of 1024-byte atoms (8
// rows) in which 16-byte chunk c of row r sits at chunk c ^ (r % 8); one copy per atom, with
// the tensor map's 128-byte swizzle, so that the code generator may place atoms where a dot
// wants them (wgmma's a operand permutes its 8-row groups). Otherwise rows lie one after
// another, unpadded, one copy per 256 rows; a row's bytes must then be a multiple of 16 (the
// TMA's unit).
#pragma once

#include <cstdint>

#include "dsl/kernel_builder.h"

namespace uintx::dsl {

struct TensorBlockForm {
  int64_t rows = 0, cols = 0;  // the block
  int elemBytes = 0;
  bool swizzled = false;
  int64_t boxRows = 0, boxCols = 0;  // one copy
  int64_t bytes() const { return rows * cols * elemBytes; }
  int64_t copiesAlongCols() const { return cols / boxCols; }
  int64_t copiesAlongRows() const { return rows / boxRows; }
  int64_t rowBytes() const { return cols * elemBytes; }
};

// Throws uintx::Error naming the rule a block breaks (rank 2, dtype, sizes).
TensorBlockForm tensorBlockForm(DType dtype, const std::vector<int64_t>& block);

}  // namespace uintx::dsl
