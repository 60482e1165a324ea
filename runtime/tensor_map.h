// CUDA tensor maps: what a kernel's TMA copies read a 2-D global tensor through, encoded on
// the host (cuTensorMapEncodeTiled) and passed to the kernel by value.
#pragma once
#include <cuda.h>

#include <cstdint>

namespace uintx::runtime {

struct TiledTensor {
  CUdeviceptr base = 0;
  CUtensorMapDataType dtype = CU_TENSOR_MAP_DATA_TYPE_UINT8;
  int elemBytes = 1;
  int64_t rows = 0, cols = 0, rowStride = 0;  // row-major, rowStride elements between rows
  int64_t boxRows = 0, boxCols = 0;           // one copy
  bool swizzle128 = false;                    // 128-byte swizzle (the box's rows are 128 bytes)
};

// Throws uintx::Error naming what the TMA does not take (null or misaligned base, sizes,
// stride); needs no driver.
void checkTiledTensor(const TiledTensor& t);

// Checks, then encodes (elements outside the tensor read as zero); also throws for a driver
// without tensor maps.
CUtensorMap encodeTensorMap(const TiledTensor& t);

}  // namespace uintx::runtime
