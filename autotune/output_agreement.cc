#include "autotune/output_agreement.h"

#include <cmath>

namespace uintx::autotune {

double relativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = double(a[i]) - b[i];
    num += d * d;
    den += double(b[i]) * b[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

std::string disagreement(const std::vector<float>& candidate, const std::vector<float>& reference,
                         const OutputAgreement& bounds) {
  if (candidate.size() != reference.size() || reference.empty()) return "outputs of different sizes";
  double sumSq = 0, worst = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    sumSq += double(reference[i]) * reference[i];
    double d = std::fabs(double(candidate[i]) - reference[i]);
    if (!(d <= worst)) worst = d;  // NaN sticks
  }
  const double rms = std::sqrt(sumSq / double(reference.size()));
  const double err = relativeError(candidate, reference), element = rms > 0 ? worst / rms : worst;
  if (err < bounds.maxRelativeError && element <= bounds.maxElementError) return "";
  return "relative error " + std::to_string(err) + " (bound " + std::to_string(bounds.maxRelativeError) +
         "), largest difference " + std::to_string(element) + " of the output's RMS (bound " +
         std::to_string(bounds.maxElementError) + ")";
}

}  // namespace uintx::autotune
