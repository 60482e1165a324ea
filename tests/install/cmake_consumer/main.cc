// A C++ user of the installed library: quantizes a random layer, checks the dequantization
// against a float64 computation from the codes, scales and zeros, and expects the library's
// no-driver uintx::Error from the linear path (the check runs with no CUDA driver).
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "uintx/uintx.h"

int main() {
  int failed = 0, passed = 0;
  auto check = [&](bool ok, const char* what) {
    ok ? ++passed : ++failed;
    if (!ok) std::fprintf(stderr, "FAILED: %s\n", what);
  };

  const int64_t N = 64, K = 256, M = 1;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> w(size_t(N * K));
  for (float& v : w) v = uniform(rng);
  uintx::QuantizeOptions options;
  options.bit_width = 4;
  options.group_size = 128;
  uintx::QuantizedWeight q = uintx::quantize(w.data(), N, K, options);

  // float64: (q - zero) * scale per element (docs/FORMATS.md), against dequantize() and w.
  std::vector<int32_t> codes = q.unpack();
  std::vector<float> back = q.dequantize();
  double err2 = 0, ref2 = 0, worstStep = 0, worstAgreement = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const size_t i = size_t(n * K + k);
      const double scale = q.scale(n, k / 128), zero = q.zero(n, k / 128);
      const double ref = (double(codes[i]) - zero) * scale;
      worstAgreement = std::max(worstAgreement, std::fabs(ref - back[i]) / (std::fabs(ref) + 1e-30));
      worstStep = std::max(worstStep, std::fabs(ref - w[i]) / scale);
      err2 += (ref - w[i]) * (ref - w[i]);
      ref2 += double(w[i]) * w[i];
    }
  check(worstAgreement < 1e-6, "dequantize() agrees with the float64 formula");
  check(worstStep <= 0.6, "every value within 0.6 quantization steps of the weight");
  check(std::sqrt(err2 / ref2) < 0.1, "relative RMS error below 0.1 (4-bit, groups of 128)");

  // linear needs the weight on a GPU: without a driver the upload throws the clear error.
  try {
    uintx::DeviceWeight dw(q);
    uintx::linear({nullptr, M, K, uintx::ScalarType::bf16}, dw, {nullptr, M, N, uintx::ScalarType::bf16});
    check(false, "linear without a CUDA driver throws");
  } catch (const uintx::Error& e) {
    check(e.kind() == uintx::ErrorKind::no_driver, "the error's kind is no_driver");
    check(std::string(e.what()).find("no CUDA driver") != std::string::npos, e.what());
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
