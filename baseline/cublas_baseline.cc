#include "baseline/cublas_baseline.h"

#include <cublas_api.h>
#include <dlfcn.h>
#include <glob.h>

#include <climits>
#include <cstdlib>
#include <utility>
#include <vector>

#include "runtime/cuda_driver.h"
#include "uintx/error.h"

namespace uintx {
namespace {

// Written out by hand: cublas_api.h overloads cublasGemmEx in C++, so decltype can't pick one.
using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using DestroyFn = cublasStatus_t (*)(cublasHandle_t);
using SetStreamFn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
using GemmExFn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                    int, int, const void*, const void*, cudaDataType, int,
                                    const void*, cudaDataType, int, const void*, void*,
                                    cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
using StatusNameFn = const char* (*)(cublasStatus_t);

struct CublasApi {
  CreateFn create = nullptr;
  DestroyFn destroy = nullptr;
  SetStreamFn setStream = nullptr;
  GemmExFn gemmEx = nullptr;
  StatusNameFn statusName = nullptr;    // optional
  StatusNameFn statusString = nullptr;  // optional
  bool usable = false;
  std::string why;
};

std::vector<std::string> candidatePaths() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("UINTX_LIBCUBLAS"); env && *env) paths.push_back(env);
  paths.push_back("libcublas.so.13");
  if (const char* cuda = std::getenv("UINTX_CUDA_PATH"); cuda && *cuda)
    paths.push_back(std::string(cuda) + "/lib64/libcublas.so.13");
  paths.push_back("/usr/local/cuda/lib64/libcublas.so.13");
  const char* patterns[] = {
      "/usr/local/lib/python3*/dist-packages/nvidia/cublas/lib/libcublas.so.13",
      "/usr/local/lib/python3*/site-packages/nvidia/cublas/lib/libcublas.so.13",
      "/usr/local/lib/python3*/dist-packages/nvidia/cu13/lib/libcublas.so.13",
      "/usr/local/lib/python3*/site-packages/nvidia/cu13/lib/libcublas.so.13",
      "/usr/lib/python3/dist-packages/nvidia/cublas/lib/libcublas.so.13",
      "/usr/lib/python3/dist-packages/nvidia/cu13/lib/libcublas.so.13",
  };
  for (const char* pattern : patterns) {
    glob_t matches{};
    if (glob(pattern, 0, nullptr, &matches) == 0)
      for (size_t i = 0; i < matches.gl_pathc; ++i) paths.push_back(matches.gl_pathv[i]);
    globfree(&matches);
  }
  return paths;
}

void* openCublas(std::string* attempts) {
  for (const std::string& path : candidatePaths()) {
    // libcublas needs libcublasLt.so.13 from its own folder; its RUNPATH ($ORIGIN) finds it.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) return handle;
    const char* err = dlerror();
    *attempts += "\n  " + path + ": " + (err ? err : "unknown reason");
  }
  return nullptr;
}

CublasApi loadCublas() {
  CublasApi api;
  std::string attempts;
  void* handle = openCublas(&attempts);  // never closed: handles may outlive static objects
  if (!handle) {
    api.why = "cuBLAS not found: no libcublas.so.13 could be loaded (set UINTX_LIBCUBLAS); tried:" +
              attempts;
    return api;
  }
  std::string missing;
  auto resolve = [&](const char* name, bool required) {
    void* symbol = dlsym(handle, name);
    if (!symbol && required) missing += std::string(missing.empty() ? "" : ", ") + name;
    return symbol;
  };
  api.create = reinterpret_cast<CreateFn>(resolve("cublasCreate_v2", true));
  api.destroy = reinterpret_cast<DestroyFn>(resolve("cublasDestroy_v2", true));
  api.setStream = reinterpret_cast<SetStreamFn>(resolve("cublasSetStream_v2", true));
  api.gemmEx = reinterpret_cast<GemmExFn>(resolve("cublasGemmEx", true));
  api.statusName = reinterpret_cast<StatusNameFn>(resolve("cublasGetStatusName", false));
  api.statusString = reinterpret_cast<StatusNameFn>(resolve("cublasGetStatusString", false));
  if (!missing.empty()) {
    api.why = "cuBLAS library lacks " + missing;
    return api;
  }
  api.usable = true;
  return api;
}

const CublasApi& cublas() {
  static const CublasApi api = loadCublas();
  if (!api.usable) throw Error(api.why);
  return api;
}

void checkCublas(cublasStatus_t status, const std::string& call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const CublasApi& api = cublas();
  std::string text = call + " failed: cuBLAS status " + std::to_string(int(status));
  if (api.statusName) text += std::string(" ") + api.statusName(status);
  if (api.statusString) text += std::string(": ") + api.statusString(status);
  throw Error(text);
}

}  // namespace

bool cublasAvailable(std::string* why) {
  try {
    cublas();
  } catch (const Error& e) {
    if (why) *why = e.what();
    return false;
  }
  if (why) why->clear();
  return true;
}

CublasBf16Gemm::CublasBf16Gemm() {
  context_ = runtime::ensureCudaContext();  // cuBLAS adopts the current driver context
  cublasHandle_t handle = nullptr;
  checkCublas(cublas().create(&handle), "cublasCreate");
  handle_ = handle;
}

CublasBf16Gemm::CublasBf16Gemm(CublasBf16Gemm&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      context_(std::exchange(other.context_, nullptr)) {}

CublasBf16Gemm& CublasBf16Gemm::operator=(CublasBf16Gemm&& other) noexcept {
  if (this != &other) {
    release();
    handle_ = std::exchange(other.handle_, nullptr);
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

CublasBf16Gemm::~CublasBf16Gemm() { release(); }

void CublasBf16Gemm::release() noexcept {
  if (!handle_) return;
  runtime::ScopedCudaContext inOwnContext(context_);
  cublas().destroy(static_cast<cublasHandle_t>(handle_));
  handle_ = nullptr;
}

void CublasBf16Gemm::run(long M, long N, long K, const bf16* x, const bf16* w, bf16* y,
                         CUstream stream) {
  gemm(M, N, K, x, w, y, /*fp16=*/false, stream);
}

void CublasBf16Gemm::runFp16(long M, long N, long K, CUdeviceptr x, CUdeviceptr w, CUdeviceptr y,
                             CUstream stream) {
  gemm(M, N, K, reinterpret_cast<const void*>(x), reinterpret_cast<const void*>(w),
       reinterpret_cast<void*>(y), /*fp16=*/true, stream);
}

void CublasBf16Gemm::gemm(long M, long N, long K, const void* x, const void* w, void* y, bool fp16,
                          CUstream stream) {
  const char* name = fp16 ? "fp16" : "bf16";
  if (M <= 0 || N <= 0 || K <= 0 || M > INT_MAX || N > INT_MAX || K > INT_MAX)
    throw Error("CublasBf16Gemm::run: M=" + std::to_string(M) + ", N=" + std::to_string(N) +
                ", K=" + std::to_string(K) + " must each be in [1, 2^31)");
  if (!x || !w || !y) throw Error("CublasBf16Gemm::run: x, w and y must be device pointers, not null");
  const CublasApi& api = cublas();
  cublasHandle_t handle = static_cast<cublasHandle_t>(handle_);
  if (!handle) throw Error("CublasBf16Gemm::run: the handle is empty (moved from)");
  checkCublas(api.setStream(handle, reinterpret_cast<cudaStream_t>(stream)), "cublasSetStream");
  // cuBLAS is column-major: row-major y[M,N] is column-major y^T[N,M] = w[N,K] * x^T[K,M],
  // where row-major w is column-major w^T[K,N] (so op T) and row-major x is x^T[K,M] (op N).
  const float alpha = 1.0f, beta = 0.0f;
  const cudaDataType type = fp16 ? CUDA_R_16F : CUDA_R_16BF;
  checkCublas(api.gemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(N), int(M), int(K), &alpha, w, type, int(K), x,
                         type, int(K), &beta, y, type, int(N), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
              std::string("cublasGemmEx(") + name + ", M=" + std::to_string(M) + ", N=" + std::to_string(N) +
                  ", K=" + std::to_string(K) + ")");
}

}  // namespace uintx
