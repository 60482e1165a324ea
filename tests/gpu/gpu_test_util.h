// Helpers of the GPU suite: random host data, device copies, comparisons.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "runtime/device_buffer.h"

namespace uintx::testing {

inline std::mt19937& rng() {
  static std::mt19937 gen(std::random_device{}());  // fresh data on every run
  return gen;
}

inline std::vector<float> randomFloats(size_t n, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}

template <typename T>
runtime::DeviceBuffer toDevice(const std::vector<T>& host) {
  runtime::DeviceBuffer b(host.size() * sizeof(T));
  b.upload(host.data(), host.size() * sizeof(T));
  return b;
}

template <typename T>
std::vector<T> toHost(const runtime::DeviceBuffer& b, size_t n) {
  std::vector<T> v(n);
  b.download(v.data(), n * sizeof(T));
  return v;
}

// Fills a device buffer with NaN bit patterns, so unwritten outputs fail comparisons.
inline void poison(runtime::DeviceBuffer& b) {
  std::vector<uint8_t> bytes(b.size(), 0xFF);
  b.upload(bytes.data(), bytes.size());
}

// ||a - b|| / ||b||, infinite if either holds a NaN.
inline double relativeError(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) return INFINITY;
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

}  // namespace uintx::testing
