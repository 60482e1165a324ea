// A stand-in libcuda.so.1 that runs on the CPU, so that the runtime's driver calls (symbol
// names, argument order, context handling) are tested on machines without a GPU.
// Device memory is host memory; "vector_add" is executed on the CPU when launched, any other
// kernel is only counted.
#include <cuda.h>
// cuda.h renames cuEventElapsedTime to _v2; this fake exports only the old name.
#undef cuEventElapsedTime

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
CUcontext const kPrimary = reinterpret_cast<CUcontext>(uintptr_t(0x1000));
// back() is current. Never destroyed: objects with static storage (a program's caches of
// modules) are released after thread-local storage is gone, and still ask for the context.
thread_local std::vector<CUcontext>& contextStack = *new std::vector<CUcontext>;
int liveAllocations = 0;
int liveModules = 0;
int lastSharedBytes = -1;
int otherLaunches = 0;
int overlappingLaunches = 0;  // launches with programmatic stream serialization allowed
int lastMaxDynamicShared = -1;
CUstream lastStream = nullptr;
int firstGrid[2] = {0, 0};  // x and y of the first launch since fakeResetFirstGrid
// The last cuTensorMapEncodeTiled (and the one before): data type, rank, dims (cols, rows), row
// stride in bytes, box (cols, rows), swizzle, and how many were encoded.
long long lastTensorMap[9] = {}, previousTensorMap[9] = {};
struct FakeModule { std::string image; };
struct FakeFunction {
  std::string name;
  CUmodule module = nullptr;
  int maxDynamicShared = 48 * 1024;  // as opted into with cuFuncSetAttribute
};
}  // namespace

extern "C" {

// Queries for the test (not part of the driver API).
int fakeLiveAllocations() { return liveAllocations; }
int fakeLiveModules() { return liveModules; }
int fakeLastSharedBytes() { return lastSharedBytes; }
int fakeLastMaxDynamicShared() { return lastMaxDynamicShared; }
void* fakeLastStream() { return lastStream; }
int fakeOtherLaunches() { return otherLaunches; }
// The grid of the first launch since the last reset: a test reads a plan's config from it
// (a GEMV's grid is N / BLOCK_N x split_k).
int fakeFirstGridX() { return firstGrid[0]; }
int fakeFirstGridY() { return firstGrid[1]; }
int fakeResetFirstGrid() { return firstGrid[0] = firstGrid[1] = 0; }
int fakeOverlappingLaunches() { return overlappingLaunches; }
const long long* fakeLastTensorMap() { return lastTensorMap; }
const long long* fakePreviousTensorMap() { return previousTensorMap; }

CUresult cuInit(unsigned) { return CUDA_SUCCESS; }
CUresult cuGetErrorName(CUresult e, const char** s) {
  switch (e) {
    case CUDA_ERROR_INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; return CUDA_SUCCESS;
    case CUDA_ERROR_INVALID_PTX: *s = "CUDA_ERROR_INVALID_PTX"; return CUDA_SUCCESS;
    case CUDA_ERROR_NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; return CUDA_SUCCESS;
    default: *s = nullptr; return CUDA_ERROR_INVALID_VALUE;
  }
}
CUresult cuGetErrorString(CUresult e, const char** s) {
  const char* name = nullptr;
  if (cuGetErrorName(e, &name) != CUDA_SUCCESS) return CUDA_ERROR_INVALID_VALUE;
  *s = "fake driver message";
  return CUDA_SUCCESS;
}
CUresult cuDeviceGet(CUdevice* d, int ordinal) {
  if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
  *d = 0;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetCount(int* n) { *n = 1; return CUDA_SUCCESS; }
CUresult cuDeviceGetName(char* name, int len, CUdevice) {
  // $UINTX_FAKE_GPU_NAME: a test may pose as a GPU that has a shipped table.
  const char* posed = std::getenv("UINTX_FAKE_GPU_NAME");
  std::strncpy(name, posed ? posed : "Fake GPU", size_t(len));
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetAttribute(int* v, CUdevice_attribute a, CUdevice) {
  switch (a) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; break;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 132; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = 232448; break;
    default: return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(CUcontext* c, CUdevice) { *c = kPrimary; return CUDA_SUCCESS; }
CUresult cuCtxGetCurrent(CUcontext* c) {
  *c = contextStack.empty() ? nullptr : contextStack.back();
  return CUDA_SUCCESS;
}
CUresult cuCtxSetCurrent(CUcontext c) {
  if (contextStack.empty()) contextStack.push_back(c); else contextStack.back() = c;
  return CUDA_SUCCESS;
}
CUresult cuCtxPushCurrent_v2(CUcontext c) { contextStack.push_back(c); return CUDA_SUCCESS; }
CUresult cuCtxPopCurrent_v2(CUcontext* c) {
  if (contextStack.empty()) return CUDA_ERROR_INVALID_CONTEXT;
  *c = contextStack.back();
  contextStack.pop_back();
  return CUDA_SUCCESS;
}
CUresult cuCtxGetDevice(CUdevice* d) {
  if (contextStack.empty() || !contextStack.back()) return CUDA_ERROR_INVALID_CONTEXT;
  *d = 0;
  return CUDA_SUCCESS;
}
CUresult cuCtxSynchronize() { return CUDA_SUCCESS; }
static bool haveContext() { return !contextStack.empty() && contextStack.back() == kPrimary; }
CUresult cuModuleLoadDataEx(CUmodule* m, const void* image, unsigned n, CUjit_option* opts,
                            void** values) {
  if (!haveContext()) return CUDA_ERROR_INVALID_CONTEXT;
  if (std::strstr(static_cast<const char*>(image), "FAIL_TO_COMPILE")) {
    for (unsigned i = 0; i < n; ++i)
      if (opts[i] == CU_JIT_ERROR_LOG_BUFFER) std::strcpy(static_cast<char*>(values[i]), "fake JIT: line 1: bad");
    return CUDA_ERROR_INVALID_PTX;
  }
  *m = reinterpret_cast<CUmodule>(new FakeModule{static_cast<const char*>(image)});
  ++liveModules;
  return CUDA_SUCCESS;
}
CUresult cuModuleGetFunction(CUfunction* f, CUmodule m, const char* name) {
  // A kernel of the module's PTX: ".entry name(" (or "name (" on the next token).
  const std::string& ptx = reinterpret_cast<FakeModule*>(m)->image;
  if (ptx.find(".entry " + std::string(name) + "(") == std::string::npos &&
      ptx.find(".entry " + std::string(name) + " ") == std::string::npos &&
      ptx.find(".entry " + std::string(name) + "\n") == std::string::npos)
    return CUDA_ERROR_NOT_FOUND;
  // One per module and name (kernels of different modules share names, not attributes), never
  // freed, and never destroyed either (like contextStack): the handles stay reachable from it
  // until exit, so leak checkers do not count them.
  static std::vector<FakeFunction*>& functions = *new std::vector<FakeFunction*>;
  for (FakeFunction* fn : functions)
    if (fn->name == name && fn->module == m) return *f = reinterpret_cast<CUfunction>(fn), CUDA_SUCCESS;
  functions.push_back(new FakeFunction{name, m});
  *f = reinterpret_cast<CUfunction>(functions.back());
  return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule m) {
  if (!haveContext()) return CUDA_ERROR_INVALID_CONTEXT;
  delete reinterpret_cast<FakeModule*>(m);
  --liveModules;
  return CUDA_SUCCESS;
}
CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v) {
  if (a == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
    lastMaxDynamicShared = reinterpret_cast<FakeFunction*>(f)->maxDynamicShared = v;
  return CUDA_SUCCESS;
}
CUresult cuFuncGetAttribute(int* v, CUfunction_attribute, CUfunction) { *v = 0; return CUDA_SUCCESS; }
CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned, unsigned bx, unsigned,
                        unsigned, unsigned shared, CUstream s, void** args, void**) {
  if (!haveContext()) return CUDA_ERROR_INVALID_CONTEXT;
  if (firstGrid[0] == 0) firstGrid[0] = int(gx), firstGrid[1] = int(gy);
  if (int(shared) > reinterpret_cast<FakeFunction*>(f)->maxDynamicShared) return CUDA_ERROR_INVALID_VALUE;
  lastSharedBytes = int(shared);
  lastStream = s;
  if (reinterpret_cast<FakeFunction*>(f)->name != "vector_add") return ++otherLaunches, CUDA_SUCCESS;
  auto a = reinterpret_cast<const float*>(*static_cast<CUdeviceptr*>(args[0]));
  auto b = reinterpret_cast<const float*>(*static_cast<CUdeviceptr*>(args[1]));
  auto c = reinterpret_cast<float*>(*static_cast<CUdeviceptr*>(args[2]));
  unsigned n = *static_cast<unsigned*>(args[3]);
  for (unsigned i = 0; i < gx * bx && i < n; ++i) c[i] = a[i] + b[i];
  return CUDA_SUCCESS;
}
CUresult cuLaunchKernelEx(const CUlaunchConfig* c, CUfunction f, void** args, void** extra) {
  for (unsigned i = 0; i < c->numAttrs; ++i)
    if (c->attrs[i].id == CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION &&
        c->attrs[i].value.programmaticStreamSerializationAllowed)
      ++overlappingLaunches;
  return cuLaunchKernel(f, c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX, c->blockDimY, c->blockDimZ,
                        c->sharedMemBytes, c->hStream, args, extra);
}
CUresult cuTensorMapEncodeTiled(CUtensorMap* map, CUtensorMapDataType dtype, cuuint32_t rank, void* base,
                                const cuuint64_t* dims, const cuuint64_t* strides, const cuuint32_t* box,
                                const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle swizzle,
                                CUtensorMapL2promotion, CUtensorMapFloatOOBfill) {
  if (rank != 2 || !base) return CUDA_ERROR_INVALID_VALUE;
  const long long count = lastTensorMap[8] + 1;
  const long long fields[9] = {dtype, rank, (long long)dims[0], (long long)dims[1], (long long)strides[0],
                               box[0], box[1], swizzle, count};
  std::memcpy(previousTensorMap, lastTensorMap, sizeof fields);
  std::memcpy(lastTensorMap, fields, sizeof fields);
  std::memset(map, 0, sizeof *map);
  std::memcpy(map, &base, sizeof base);
  return CUDA_SUCCESS;
}
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, CUfunction, int, size_t) {
  *blocks = 2;
  return CUDA_SUCCESS;
}
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
  if (!haveContext()) return CUDA_ERROR_INVALID_CONTEXT;
  *p = CUdeviceptr(std::malloc(bytes));
  ++liveAllocations;
  return CUDA_SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  if (!haveContext()) return CUDA_ERROR_INVALID_CONTEXT;
  std::free(reinterpret_cast<void*>(p));
  --liveAllocations;
  return CUDA_SUCCESS;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void* h, size_t n) {
  std::memcpy(reinterpret_cast<void*>(d), h, n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoH_v2(void* h, CUdeviceptr d, size_t n) {
  std::memcpy(h, reinterpret_cast<const void*>(d), n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream) {
  std::memcpy(reinterpret_cast<void*>(d), reinterpret_cast<const void*>(s), n);
  return CUDA_SUCCESS;
}
CUresult cuMemsetD8_v2(CUdeviceptr d, unsigned char v, size_t n) {
  std::memset(reinterpret_cast<void*>(d), v, n);
  return CUDA_SUCCESS;
}
CUresult cuMemsetD32Async(CUdeviceptr, unsigned, size_t, CUstream) { return CUDA_SUCCESS; }
CUresult cuPointerGetAttribute(void*, CUpointer_attribute, CUdeviceptr) { return CUDA_ERROR_INVALID_VALUE; }
CUresult cuStreamCreate(CUstream* s, unsigned) { *s = reinterpret_cast<CUstream>(new int); return CUDA_SUCCESS; }
CUresult cuStreamDestroy_v2(CUstream s) { delete reinterpret_cast<int*>(s); return CUDA_SUCCESS; }
CUresult cuStreamSynchronize(CUstream) { return CUDA_SUCCESS; }
CUresult cuEventCreate(CUevent* e, unsigned) { *e = reinterpret_cast<CUevent>(new int(0)); return CUDA_SUCCESS; }
CUresult cuEventDestroy_v2(CUevent e) { delete reinterpret_cast<int*>(e); return CUDA_SUCCESS; }
CUresult cuEventRecord(CUevent e, CUstream) {
  static int clock = 0;
  *reinterpret_cast<int*>(e) = ++clock;
  return CUDA_SUCCESS;
}
CUresult cuEventSynchronize(CUevent) { return CUDA_SUCCESS; }
// Only the pre-12.8 name, to exercise the loader's fallback.
CUresult cuEventElapsedTime(float* ms, CUevent a, CUevent b) {
  *ms = 0.25f * float(*reinterpret_cast<int*>(b) - *reinterpret_cast<int*>(a));
  return CUDA_SUCCESS;
}

// Graph capture: present so the loader resolves them; the fake does not capture.
CUresult cuStreamBeginCapture_v2(CUstream, CUstreamCaptureMode) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult cuStreamEndCapture(CUstream, CUgraph*) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult cuGraphInstantiateWithFlags(CUgraphExec*, CUgraph, unsigned long long) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult cuGraphLaunch(CUgraphExec, CUstream) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult cuGraphExecDestroy(CUgraphExec) { return CUDA_SUCCESS; }
CUresult cuGraphDestroy(CUgraph) { return CUDA_SUCCESS; }

}  // extern "C"
