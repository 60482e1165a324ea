#include "parallel/device_ops.h"

#include <map>
#include <mutex>
#include <string>

#include "codegen/jit_kernel.h"
#include "dispatch/kernel_store.h"
#include "kernels/families.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemv/default_config.h"
#include "kernels/common/quant_spec.h"
#include "parallel/parallel_kernels.h"
#include "uintx/error.h"

namespace uintx::parallel {
namespace {

constexpr int kBlock = 1024;

// Building a DSL program costs an MLIR context; keep the compiled kernel per variant.
template <class Build>
std::shared_ptr<codegen::JitKernel> cachedKernel(const std::string& key, Build build) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<codegen::JitKernel>> kernels;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = kernels.find(key);
    if (it != kernels.end()) return it->second;
  }
  std::shared_ptr<codegen::JitKernel> k = dispatch::compiledKernel(build());
  std::lock_guard<std::mutex> lock(mutex);
  return kernels.emplace(key, k).first->second;
}

void check(bool ok, const char* op, const std::string& message) {
  if (!ok) throw Error(std::string("uintx::parallel::") + op + ": " + message);
}

std::string shapeOf(const DeviceMatrix& m) {
  return "[" + std::to_string(m.rows) + ", " + std::to_string(m.cols) + "] " + scalarTypeName(m.dtype);
}

void checkActivation(const DeviceMatrix& m, const char* op, const char* name) {
  check(m.dtype == ScalarType::bf16 || m.dtype == ScalarType::f16, op,
        std::string(name) + " must be bf16 or fp16, got " + scalarTypeName(m.dtype));
  check(m.data != nullptr, op, std::string(name) + " is a null pointer");
  check(m.rows >= 1 && m.cols >= 1, op, std::string(name) + " must not be empty, got " + shapeOf(m));
}

int32_t elementCount(const DeviceMatrix& m, int64_t copies, const char* op) {
  int64_t n = m.rows * m.cols;
  check(n * copies < (int64_t(1) << 31), op, shapeOf(m) + " times " + std::to_string(copies) +
                                                 " is too large for 32-bit indexing");
  return int32_t(n);
}

unsigned blocksFor(int64_t n) { return unsigned((n + kBlock - 1) / kBlock); }

}  // namespace

void swiGlu(const DeviceMatrix& gate, const DeviceMatrix& up, const DeviceMatrix& h, CUstream stream) {
  checkActivation(gate, "swiGlu", "gate");
  checkActivation(up, "swiGlu", "up");
  checkActivation(h, "swiGlu", "h");
  check(up.rows == gate.rows && up.cols == gate.cols && up.dtype == gate.dtype && h.rows == gate.rows &&
            h.cols == gate.cols && h.dtype == gate.dtype,
        "swiGlu", "gate " + shapeOf(gate) + ", up " + shapeOf(up) + " and h " + shapeOf(h) + " must match");
  int32_t n = elementCount(gate, 1, "swiGlu");
  int div = n % 16 == 0 ? 16 : 1;
  dsl::DType act = kernels::dslType(gate.dtype);
  auto k = cachedKernel(std::string("swiglu/") + dsl::dtypeName(act) + "/" + std::to_string(div),
                        [&] { return buildSwiGlu(act, kBlock, div); });
  using codegen::LaunchArg;
  k->launch({blocksFor(n)}, stream,
            {LaunchArg::ptr(gate.data), LaunchArg::ptr(up.data), LaunchArg::ptr(h.data), LaunchArg::i32(n)});
}

void sumPartials(CUdeviceptr partials, int world, const DeviceMatrix& out, CUstream stream, bool f32Partials) {
  checkActivation(out, "sumPartials", "out");
  check(world >= 1, "sumPartials", "world " + std::to_string(world) + " must be >= 1");
  check(partials != 0, "sumPartials", "partials is a null pointer");
  int32_t n = elementCount(out, world, "sumPartials");
  int div = n % 16 == 0 ? 16 : 1;
  dsl::DType act = kernels::dslType(out.dtype);
  std::optional<dsl::DType> partial;
  if (f32Partials) partial = dsl::DType::f32;
  auto k = cachedKernel(std::string("sum_partials/") + dsl::dtypeName(act) + "/" + std::to_string(div) +
                            (f32Partials ? "/f32" : ""),
                        [&] { return buildSumPartials(act, kBlock, div, partial); });
  using codegen::LaunchArg;
  k->launch({blocksFor(n)}, stream,
            {LaunchArg::ptr(partials), LaunchArg::ptr(out.data), LaunchArg::i32(n), LaunchArg::i32(world)});
}

void rankMajorToRowMajor(CUdeviceptr gathered, int world, const DeviceMatrix& out, CUstream stream) {
  checkActivation(out, "rankMajorToRowMajor", "out");
  check(world >= 1 && out.cols % world == 0, "rankMajorToRowMajor",
        "out's " + std::to_string(out.cols) + " columns must be a multiple of world = " + std::to_string(world));
  check(gathered != 0, "rankMajorToRowMajor", "gathered is a null pointer");
  int32_t total = elementCount(out, 1, "rankMajorToRowMajor");
  dsl::DType act = kernels::dslType(out.dtype);
  auto k = cachedKernel(std::string("rank_major/") + dsl::dtypeName(act),
                        [&] { return buildRankMajorToRowMajor(act, kBlock); });
  using codegen::LaunchArg;
  k->launch({blocksFor(total)}, stream,
            {LaunchArg::ptr(gathered), LaunchArg::ptr(out.data), LaunchArg::i32(total),
             LaunchArg::i32(int32_t(out.rows)), LaunchArg::i32(int32_t(out.cols / world))});
}

}  // namespace uintx::parallel
