// cuBLAS as the benchmark baseline, loaded with dlopen (libcublas.so.13) so that the
// project never links it and runs where it is missing (the baseline then reports why).
#pragma once
#include <cuda.h>

#include <string>

#include "uintx/half.h"

namespace uintx {

// Where libcublas.so.13 is looked for, in order: $UINTX_LIBCUBLAS; "libcublas.so.13" on the
// loader's path; $UINTX_CUDA_PATH/lib64, /usr/local/cuda/lib64; PyTorch's pip copies under
// /usr/local/lib/python3*/{dist,site}-packages/nvidia/{cublas,cu13}/lib and
// /usr/lib/python3/dist-packages/nvidia/... . False with every attempt in *why if none loads.
bool cublasAvailable(std::string* why = nullptr);

// y = x @ w^T in bf16 with fp32 accumulation (cublasGemmEx, CUBLAS_COMPUTE_32F).
// x is [M,K], w is [N,K], y is [M,N], all row-major device pointers.
class CublasBf16Gemm {
 public:
  // Creates a cuBLAS handle in the current context (see runtime::ensureCudaContext).
  CublasBf16Gemm();
  CublasBf16Gemm(CublasBf16Gemm&& other) noexcept;
  CublasBf16Gemm& operator=(CublasBf16Gemm&& other) noexcept;
  CublasBf16Gemm(const CublasBf16Gemm&) = delete;
  CublasBf16Gemm& operator=(const CublasBf16Gemm&) = delete;
  ~CublasBf16Gemm();

  void run(long M, long N, long K, const bf16* x, const bf16* w, bf16* y, CUstream stream);
  void run(long M, long N, long K, CUdeviceptr x, CUdeviceptr w, CUdeviceptr y,
           CUstream stream) {
    run(M, N, K, reinterpret_cast<const bf16*>(x), reinterpret_cast<const bf16*>(w),
        reinterpret_cast<bf16*>(y), stream);
  }

  // The same product in fp16 (the reference for fp16 activations).
  void runFp16(long M, long N, long K, CUdeviceptr x, CUdeviceptr w, CUdeviceptr y, CUstream stream);

 private:
  void gemm(long M, long N, long K, const void* x, const void* w, void* y, bool fp16, CUstream stream);
  void release() noexcept;
  void* handle_ = nullptr;  // cublasHandle_t
  CUcontext context_ = nullptr;
};

}  // namespace uintx
