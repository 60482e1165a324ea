// Whether a tuning candidate's output agrees with the reference config's on the same inputs.
//
// Candidates may compute the same product with different arithmetic: a weight dequantized to
// the activation dtype before the mma, or its codes multiplied exactly and the zero and scale
// applied to the f32 products (kernels/gemm/gemm.h, correctProducts). Each is within the
// dtype's rounding of the float64 product, so two of them differ by about two such roundings
// (~3e-3 relative L2 at K = 8192, docs/PERFORMANCE.md run 23) and a tighter bound would reject
// the more accurate one. A kernel bug is larger than that either in the norm (a wrong group,
// row block or K slice) or in single outputs (a mask or an index off by one row): both are
// bounded.
#pragma once

#include <string>
#include <vector>

namespace uintx::autotune {

struct OutputAgreement {
  double maxRelativeError = 1e-2;  // relative L2 error against the reference output
  double maxElementError = 1.0 / 16;  // largest |candidate - reference|, over the reference's RMS
};

// sqrt(sum (a - b)^2 / sum b^2); NaN anywhere gives NaN (so a comparison with it fails).
double relativeError(const std::vector<float>& a, const std::vector<float>& b);

// Empty when `candidate` agrees with `reference` within `bounds` (same sizes, no NaN), else why
// not, with the numbers.
std::string disagreement(const std::vector<float>& candidate, const std::vector<float>& reference,
                         const OutputAgreement& bounds = {});

}  // namespace uintx::autotune
