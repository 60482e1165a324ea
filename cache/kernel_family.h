// The kernel families uintx::linear launches. A family is one kernel program (plus its helper
// kernels) with one config type, one default rule and one search space: kernels/<family>/.
// Its name is part of the config cache's keys (docs/CACHE.md), so names never change.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace uintx::cache {

enum class KernelFamily {
  gemv,        // CUDA cores, one or a few activation rows per program (small M)
  gemv_tiled,  // the GEMV program with 16 rows per program, for formats the GEMM cannot run
  gemm,        // tensor cores, weight-only
  gemm_int8,   // tensor cores, int8 activations (quantized per row)
};

const char* familyName(KernelFamily family);
// The family named `name`, or nullopt.
std::optional<KernelFamily> parseFamily(const std::string& name);
const std::vector<KernelFamily>& allFamilies();

}  // namespace uintx::cache
