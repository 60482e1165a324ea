// How a block of a tensor descriptor (KernelBuilder::tensorArg, loadBlock) travels: the shared
// memory form the code generator reads and the tensor-memory-accelerator (TMA) copies that
// write it, which the launcher's tensor map (codegen/jit_kernel.cc) must describe. Both sides
// compute it from the parameter's dtype and block shape alone, so the tensor map needs nothing
// from the compiled kernel.
//
// Swizzled form, for rows of a multiple of 128 bytes (what wgmma reads, K-major): the block's
// rows are cut into 128-byte column blocks, each a [rows, 128 B] region of 1024-byte atoms (8
// rows) in which 16-byte chunk c of row r sits at chunk c ^ (r % 8), the tensor map's 128-byte
// swizzle. Otherwise rows lie one after another, unpadded; a row's bytes must then be a
// multiple of 16 (the TMA's unit).
//
// A tensor parameter is passed as kTensorMapsPerBlock tensor maps, one per copy shape: map 0
// copies up to 256 whole rows of a column block at once (rows in order), map 1 one 8-row atom
// (swizzled form), for blocks whose atoms the code generator places out of order (wgmma's a
// operand permutes its 8-row groups). The code generator picks the map per use; fewer, larger
// copies cost the TMA unit less.
#pragma once

#include <cstdint>

#include "dsl/kernel_builder.h"

namespace uintx::dsl {

constexpr int kTensorMapsPerBlock = 2;
constexpr int kTensorMapBytes = 128;  // CUtensorMap; 64-byte aligned

struct TensorBlockForm {
  int64_t rows = 0, cols = 0;  // the block
  int elemBytes = 0;
  bool swizzled = false;
  int64_t boxCols = 0;  // one copy's columns: a 128-byte column block, or the whole row
  // One copy's rows with map 0 (rows in order) or map 1 (atoms).
  int64_t boxRows(bool atoms) const { return atoms && swizzled ? 8 : rows < 256 ? rows : 256; }
  int64_t bytes() const { return rows * cols * elemBytes; }
  int64_t copiesAlongCols() const { return cols / boxCols; }
  int64_t copiesAlongRows(bool atoms) const { return rows / boxRows(atoms); }
  int64_t rowBytes() const { return cols * elemBytes; }
};

// Throws uintx::Error naming the rule a block breaks (rank 2, dtype, sizes).
TensorBlockForm tensorBlockForm(DType dtype, const std::vector<int64_t>& block);

}  // namespace uintx::dsl
