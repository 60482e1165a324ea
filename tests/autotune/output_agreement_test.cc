// The tuner's check of a candidate's output against the reference config's: two products of
// the same weights rounded differently agree; a wrong element, a wrong scale or a NaN do not.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "autotune/output_agreement.h"
#include "uintx/half.h"

using namespace uintx;
using uintx::autotune::disagreement;

// y rounded to bf16, after a relative perturbation of up to `noise` per element (another order
// of summation, or weights rounded to bf16 before the product).
static std::vector<float> roundedOutput(const std::vector<double>& y, double noise, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-noise, noise);
  std::vector<float> out;
  for (double v : y) out.push_back(toFloat(toBf16(float(v * (1 + u(rng))))));
  return out;
}

TEST_CASE("outputs of two arithmetic forms agree; wrong elements, scales and NaN do not") {
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0, 30);
  std::vector<double> y(8192);
  for (double& v : y) v = normal(rng);
  const std::vector<float> reference = roundedOutput(y, 0, rng);
  CHECK(disagreement(reference, reference).empty());
  // Two roundings to bf16 and a relative difference of 2^-8 in each element: within bounds,
  // though over the old 1e-3 bound in relative L2 error.
  std::vector<float> other = roundedOutput(y, std::ldexp(1.0, -8), rng);
  CHECK(autotune::relativeError(other, reference) > 1e-3);
  CHECK(disagreement(other, reference).empty());
  // One output off by a fifth of the RMS: a bug the norm alone would not see.
  std::vector<float> wrongElement = reference;
  wrongElement[4321] += 6.0f;
  CHECK(autotune::relativeError(wrongElement, reference) < 1e-2);
  CHECK(!disagreement(wrongElement, reference).empty());
  // Every output 2% off (a scale applied twice to a small term, say).
  std::vector<float> scaled = reference;
  for (float& v : scaled) v *= 1.02f;
  CHECK(!disagreement(scaled, reference).empty());
  // NaN anywhere, a zeroed block, outputs of different sizes.
  std::vector<float> nan = reference;
  nan[7] = NAN;
  CHECK(!disagreement(nan, reference).empty());
  std::vector<float> zeroed = reference;
  std::fill(zeroed.begin(), zeroed.begin() + 128, 0.0f);
  CHECK(!disagreement(zeroed, reference).empty());
  CHECK(!disagreement(std::vector<float>(reference.begin(), reference.end() - 1), reference).empty());
  CHECK(!disagreement({}, {}).empty());
}
