#include "runtime/tensor_map.h"

#include <string>

#include "runtime/cuda_driver.h"
#include "uintx/error.h"

namespace uintx::runtime {

static void fail(const std::string& why) { throw Error("tensor argument: " + why); }

void checkTiledTensor(const TiledTensor& t) {
  if (t.base == 0) fail("null base pointer");
  if (t.base % 16) fail("base pointer is not 16-byte aligned (the TMA's requirement)");
  if (t.rows < 1 || t.cols < 1 || t.rows > (int64_t(1) << 31) || t.cols > (int64_t(1) << 31))
    fail("sizes " + std::to_string(t.rows) + " x " + std::to_string(t.cols) + " must be in [1, 2^31]");
  if (t.rowStride < t.cols) fail("row stride " + std::to_string(t.rowStride) + " is less than the row's " + std::to_string(t.cols) + " elements");
  const int64_t strideBytes = t.rowStride * t.elemBytes;
  if (strideBytes % 16 || strideBytes >= (int64_t(1) << 40))
    fail("row stride of " + std::to_string(strideBytes) + " bytes must be a multiple of 16 below 2^40");
}

CUtensorMap encodeTensorMap(const TiledTensor& t) {
  checkTiledTensor(t);
  const int64_t strideBytes = t.rowStride * t.elemBytes;
  const CudaDriverApi& d = cudaDriver();
  if (!d.cuTensorMapEncodeTiled) fail("the CUDA driver has no cuTensorMapEncodeTiled (CUDA 12.0 or later needed)");
  CUtensorMap map;
  cuuint64_t dims[2] = {cuuint64_t(t.cols), cuuint64_t(t.rows)};
  cuuint64_t strides[1] = {cuuint64_t(strideBytes)};
  cuuint32_t box[2] = {cuuint32_t(t.boxCols), cuuint32_t(t.boxRows)};
  cuuint32_t elementStrides[2] = {1, 1};
  checkCuda(d.cuTensorMapEncodeTiled(&map, t.dtype, 2, reinterpret_cast<void*>(t.base), dims, strides, box,
                                     elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                     t.swizzle128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_NONE,
                                     CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE),
            "cuTensorMapEncodeTiled");
  return map;
}

}  // namespace uintx::runtime
