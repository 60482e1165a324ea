// A user's program: built with default flags (RTTI on), it includes only uintx/uintx.h and
// links //:uintx. Without a GPU, quantize works and linear fails with a clear uintx::Error.
#include <cmath>
#include <random>
#include <typeinfo>
#include <vector>

#include "doctest/doctest.h"
#include "uintx/uintx.h"

TEST_CASE("a consumer built with RTTI quantizes and gets a uintx::Error from linear without a GPU") {
  const int64_t N = 64, K = 256;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(size_t(N * K));
  for (float& v : w) v = u(rng);
  uintx::QuantizeOptions o;
  o.bit_width = 4;
  o.group_size = 128;
  uintx::QuantizedWeight q = uintx::quantize(w.data(), N, K, o);
  std::vector<float> back = q.dequantize();
  REQUIRE(back.size() == w.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    num += (double(back[i]) - w[i]) * (double(back[i]) - w[i]);
    den += double(w[i]) * w[i];
  }
  CHECK(std::sqrt(num / den) < 0.1);  // 4-bit, 16 levels per group: ~0.06 for uniform data

  // RTTI is on in this translation unit: typeid of a polymorphic object works.
  try {
    uintx::DeviceWeight dw(q);
    (void)dw;
    // A machine with a GPU gets here; the test is about linking and the API, not the GPU.
  } catch (const std::exception& e) {
    CHECK(std::string(typeid(e).name()).find("Error") != std::string::npos);
    CHECK(dynamic_cast<const uintx::Error*>(&e) != nullptr);
  }
}
