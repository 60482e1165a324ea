// uintx in five minutes: quantize a float layer to 4 bits, run y = x @ dequant(W)^T with
// uintx::linear on the GPU, check it against a float64 reference and time it against cuBLAS
// bf16. Without a GPU, the same GEMV kernel program runs on the CPU interpreter instead.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "baseline/cublas_baseline.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_stream.h"
#include "runtime/device_buffer.h"
#include "dsl/interpreter.h"
#include "kernels/gemv/gemv.h"
#include "kernels/common/quant_spec.h"
#include "uintx/error.h"
#include "uintx/half.h"
#include "uintx/uintx.h"

using namespace uintx;

namespace {

std::mt19937 rng(2024);
std::normal_distribution<float> normal(0, 1);

std::vector<bf16> randomBf16(size_t n) {
  std::vector<bf16> v(n);
  for (auto& e : v) e = toBf16(normal(rng));
  return v;
}

// ||y - x @ dq^T|| / ||x @ dq^T||, the reference in float64 from the dequantized weight.
double relativeError(const std::vector<bf16>& x, const std::vector<float>& dq, const std::vector<bf16>& y, int M,
                     int64_t N, int64_t K) {
  double num = 0, den = 0;
  for (int m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double ref = 0;
      for (int64_t k = 0; k < K; ++k) ref += double(toFloat(x[m * K + k])) * dq[n * K + k];
      double got = toFloat(y[m * N + n]);
      num += (got - ref) * (got - ref);
      den += ref * ref;
    }
  return std::isfinite(num) ? std::sqrt(num / den) : INFINITY;
}

// Median milliseconds of 50 calls of `call` on `stream`, after 10 warm-up calls.
template <class F>
float medianMs(CUstream stream, F call) {
  for (int i = 0; i < 10; ++i) call();
  std::vector<float> ms;
  runtime::GpuTimer timer;
  for (int i = 0; i < 50; ++i) {
    timer.start(stream);
    call();
    timer.stop(stream);
    ms.push_back(timer.elapsedMs());
  }
  std::nth_element(ms.begin(), ms.begin() + 25, ms.end());
  return ms[25];
}

// 1. Quantize a random [N, K] float layer: 4-bit codes, one scale and zero per 128 inputs.
QuantizedWeight makeLayer(int64_t N, int64_t K) {
  std::vector<float> w(size_t(N * K));
  for (auto& e : w) e = normal(rng);
  QuantizedWeight q = quantize(w.data(), N, K, {.bit_width = 4, .group_size = 128, .packing_bitwidth = 32});
  const WeightFormat& f = q.format();
  size_t bytes = q.packedBytes() + q.scalesBytes() + q.zerosBytes(), bf16Bytes = size_t(N * K) * 2;
  std::printf("layer [N=%ld, K=%ld]: %d-bit, group %d, packed in u%d words, %s scales and zeros\n", long(N),
              long(K), f.bit_width, f.group_size, f.packing_bitwidth, scalarTypeName(f.scale_dtype));
  std::printf("  %.2f MB vs %.2f MB in bf16: %.2fx smaller\n", bytes / 1e6, bf16Bytes / 1e6,
              double(bf16Bytes) / bytes);
  return q;
}

// 2. On the GPU: uintx::linear vs the float64 reference, then vs cuBLAS bf16 on the same shape.
bool runOnGpu() {
  const int64_t N = 4096, K = 4096;
  QuantizedWeight q = makeLayer(N, K);
  std::vector<float> dq = q.dequantize();
  runtime::ensureCudaContext();
  DeviceWeight weight(q);  // what uintx::linear reads
  std::string why;
  bool haveCublas = cublasAvailable(&why);
  if (!haveCublas) std::printf("note: cuBLAS not loaded, no speedup shown (%s)\n", why.c_str());
  std::vector<bf16> dqBf16(dq.size());  // cuBLAS multiplies the same dequantized weight in bf16
  for (size_t i = 0; i < dq.size(); ++i) dqBf16[i] = toBf16(dq[i]);
  runtime::DeviceBuffer denseWeight = runtime::DeviceBuffer::fromHost(dqBf16);
  runtime::CudaStream stream;
  bool ok = true;
  for (int M : {1, 16}) {
    std::vector<bf16> x = randomBf16(size_t(M * K)), y(size_t(M * N));
    runtime::DeviceBuffer dx = runtime::DeviceBuffer::fromHost(x), dy(y.size() * sizeof(bf16)), dyCublas(dy.size());
    auto runUintx = [&] { linear({dx.as<bf16>(), M, K}, weight, {dy.as<bf16>(), M, N}, stream.get()); };
    runUintx();  // the first call JIT-compiles the kernel for this shape
    stream.synchronize();
    dy.download(y.data(), dy.size());
    double err = relativeError(x, dq, y, M, N, K);
    ok = ok && err <= 1e-2;
    std::printf("M=%-3d relative error vs float64: %.2e %s\n", M, err, err <= 1e-2 ? "(ok)" : "(FAILED, > 1e-2)");
    float uintxMs = medianMs(stream.get(), runUintx);
    std::printf("      uintx::linear %8.1f us", uintxMs * 1e3);
    if (haveCublas) {
      CublasBf16Gemm cublas;
      float cublasMs = medianMs(stream.get(), [&] {
        cublas.run(M, N, K, dx.get(), denseWeight.get(), dyCublas.get(), stream.get());
      });
      std::printf("   cuBLAS bf16 %8.1f us   speedup %.2fx", cublasMs * 1e3, cublasMs / uintxMs);
    }
    std::printf("\n");
  }
  return ok;
}

// 3. Without a GPU: the GEMV kernel program uintx::linear would compile, run on the interpreter.
bool runOnInterpreter() {
  const int64_t N = 64, K = 512;
  const int M = 1;
  QuantizedWeight q = makeLayer(N, K);
  kernels::GemvConfig config;  // blockN = 16 output rows per program
  dsl::KernelProgram program = kernels::buildGemv(kernels::quantSpecOf(q.format()), dsl::DType::bf16, false, config);
  std::vector<bf16> x = randomBf16(size_t(M * K)), y(size_t(M * N), toBf16(NAN));
  std::vector<uint8_t> packed(q.packedData(), q.packedData() + q.packedBytes());
  std::vector<uint8_t> scales(q.scalesData(), q.scalesData() + q.scalesBytes());
  std::vector<uint8_t> zeros(q.zerosData(), q.zerosData() + q.zerosBytes());
  dsl::interpret(program, {int((N + config.blockN - 1) / config.blockN), 1, 1},
                 {dsl::KernelArg::buffer(x), dsl::KernelArg::buffer(packed), dsl::KernelArg::buffer(scales),
                  dsl::KernelArg::buffer(zeros), dsl::KernelArg::buffer(y), dsl::KernelArg::i32(M)});
  double err = relativeError(x, q.dequantize(), y, M, N, K);
  std::printf("M=%d GEMV on the interpreter, relative error vs float64: %.2e %s\n", M, err,
              err <= 1e-2 ? "(ok)" : "(FAILED, > 1e-2)");
  return err <= 1e-2;
}

}  // namespace

int main() {
  try {
    std::string why;
    if (runtime::cudaDriverAvailable(&why)) return runOnGpu() ? 0 : 1;
    std::printf("no GPU (%s): running the GEMV kernel program on the CPU interpreter instead\n", why.c_str());
    return runOnInterpreter() ? 0 : 1;
  } catch (const Error& e) {  // uintx::Error messages name the bad value and the rule
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
